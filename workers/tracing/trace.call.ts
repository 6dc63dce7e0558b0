/**
 * One call's trace: the spans the call core records, stage by stage, and the `traceparent` the
 * upstream gets (docs/observability.md#tracing).
 *
 *   igris.gateway <protocol> <slug>   SERVER, child of the caller's span (its traceparent), or a root
 *   ├─ igris.authenticate             key/token and connection (memory in the steady state)
 *   ├─ igris.policy                   decisions (pure), with the decision and rule
 *   ├─ igris.stage.<name>             each request stage (inspection, integrity, prompts…)
 *   ├─ igris.budgets                  only for a call under a budget
 *   ├─ igris.guard.admit              the one Durable Object round trip, with its verdict
 *   ├─ igris.forward                  CLIENT: its span id is the parent-id the upstream sees
 *   ├─ igris.response.<name>          each response stage, first to last message it saw
 *   └─ igris.complete                 the outcome sent to the guard (after the answer)
 *
 * Nothing of the call's content is recorded: no arguments, prompts, results, keys or header
 * values — only ids, names, the decision, rule index, verdict and statuses.
 *
 * Cost when tracing is off for the organization (or the trace is not sampled): the recorder is
 * told once, after authentication, and every later call into it returns at once. Times are the
 * Worker's clock, which advances only across I/O: a stage that is pure CPU shows as 0 ms.
 */
import type { ResponseStage } from '../gateway/gateway.stages';
import type { Decision } from '../policy/policy.evaluate';
import {
  formatTraceparent,
  newSpanId,
  newTraceId,
  parseTraceparent,
  sampledAt,
  type TraceParent,
} from './trace.context.js';

export type AttrValue = string | number | boolean;
export type Attributes = Record<string, AttrValue>;

export interface RecordedSpan {
  name: string;
  spanId: string;
  parentId: string | null;
  kind: 'server' | 'client' | 'internal';
  start: number;
  end: number;
  attributes: Attributes;
  /** Set for a span that ended in an error (the code only, never a message with content). */
  error?: string;
}

/** A finished trace, ready for export to its organization's endpoint. */
export interface FinishedTrace {
  orgId: string;
  traceId: string;
  traceState: string | null;
  spans: RecordedSpan[];
}

/** What the call needs to know about its organization's tracing (from the governance snapshot). */
export interface TracingTarget {
  /** The OTLP/HTTP traces URL. */
  endpoint: string;
  sampleRate: number;
  /** The vault envelope of the endpoint's headers (opened only by the exporter, off the hot path). */
  sealedHeaders: string | null;
  /** The OTLP/HTTP encoding (absent: JSON). */
  protocol?: OtlpProtocol;
}

export type OtlpProtocol = 'http/json' | 'http/protobuf';

/** A trace handed to the exporter: its organization's target, and the spans once all have ended. */
export interface PendingExport {
  orgId: string;
  target: TracingTarget;
  trace: Promise<FinishedTrace>;
}

type Stage<C, D> = (call: C, decisions: D) => D;

export class CallTrace {
  readonly #caller: TraceParent | null;
  readonly #traceState: string | null;
  readonly #started: number;
  /** Spans recorded before the organization was known (authentication). */
  #early: RecordedSpan[] | null = [];
  #configured = false;
  #on = false;
  #orgId = '';
  #target: TracingTarget | null = null;
  #traceId = '';
  #rootId = '';
  #forwardId = '';
  #spans: RecordedSpan[] = [];
  #root: Attributes = {};
  #error: string | undefined;
  #pending = new Set<Promise<unknown>>();
  #exported = false;

  constructor(headers: Headers, started = Date.now()) {
    this.#caller = parseTraceparent(headers.get('traceparent'));
    const state = headers.get('tracestate');
    this.#traceState = this.#caller && state ? state : null;
    this.#started = started;
  }

  /** True when this call's spans are recorded and exported. */
  get on(): boolean {
    return this.#on;
  }

  /**
   * The organization is known and so are its tracing settings (null: tracing off). Decides once
   * whether this trace is sampled; a later call (a `stale` guard answer re-prepares) changes nothing.
   */
  configure(orgId: string, target: TracingTarget | null, attributes: () => Attributes): void {
    if (this.#configured) return;
    this.#configured = true;
    const early = this.#early ?? [];
    this.#early = null;
    if (!target) return;
    const traceId = this.#caller?.traceId ?? newTraceId();
    if (!sampledAt(traceId, target.sampleRate)) return;
    this.#on = true;
    this.#orgId = orgId;
    this.#target = target;
    this.#root = { 'igris.org.id': orgId, ...attributes() };
    this.#traceId = traceId;
    this.#rootId = newSpanId();
    this.#forwardId = newSpanId();
    for (const span of early) this.#spans.push({ ...span, parentId: this.#rootId });
  }

  /** Records a finished stage that began at `start` (ms) and ends now. */
  span(name: string, start: number, attributes: Attributes = {}, error?: string): void {
    if (!this.#on && this.#early === null) return;
    const span: RecordedSpan = {
      name,
      spanId: newSpanId(),
      parentId: this.#rootId || null,
      kind: 'internal',
      start,
      end: Date.now(),
      attributes,
      ...(error ? { error } : {}),
    };
    if (this.#on) this.#spans.push(span);
    else this.#early?.push(span);
  }

  /** Attributes of the gateway's root span (connection, decision, verdict, status). */
  set(attributes: Attributes): void {
    if (this.#on) Object.assign(this.#root, attributes);
  }

  /** The policy span: the first refused unit's decision (or the first unit's), and its rule. */
  policy(start: number, decisions: readonly { decision: Decision | null; refusal: unknown }[]): void {
    if (!this.#on) return;
    const shown = decisions.find((d) => d.refusal) ?? decisions[0];
    const attributes: Attributes = { 'igris.units': decisions.length };
    if (shown?.decision) {
      attributes['igris.decision'] = shown.decision.action;
      if (shown.decision.ruleIndex !== null) attributes['igris.rule.index'] = shown.decision.ruleIndex;
      attributes['igris.rule.matched'] = shown.decision.matched;
    }
    this.span('igris.policy', start, attributes);
    this.set(attributes);
  }

  /** Runs one request stage, as its own span when the trace is recorded. */
  stage<C, D>(stage: Stage<C, D>, call: C, decisions: D): D {
    if (!this.#on) return stage(call, decisions);
    const start = Date.now();
    const out = stage(call, decisions);
    this.span(`igris.stage.${stage.name || 'anonymous'}`, start);
    return out;
  }

  /** Response stages, each wrapped to become a span from the first to the last message it saw. */
  responseStages(stages: ResponseStage[]): ResponseStage[] {
    if (!this.#on) return stages;
    // The trace waits for the answer's end: an outcome sent then (LLM usage) is still in it.
    this.#hold(new Promise<void>((resolve) => this.#bodyDone.push(resolve)));
    return stages.map((stage) => {
      let start: number | null = null;
      let last = 0;
      let messages = 0;
      this.#bodyDone.push(() => {
        if (start === null) return;
        this.#spans.push({
          ...this.#spanOf(`igris.response.${stage.name}`, start, last),
          attributes: { 'igris.messages': messages },
        });
      });
      // Delegation, not a copy: a stage may be a class instance with private fields.
      const wrapped: ResponseStage = {
        name: stage.name,
        onMessage: (message) => {
          start ??= Date.now();
          messages++;
          const out = stage.onMessage(message);
          last = Date.now();
          return out;
        },
      };
      delegateMembers(stage, wrapped);
      return wrapped;
    });
  }

  #bodyDone: (() => void)[] = [];

  /** The answer's body has ended (or the call had none): response stage spans close. */
  bodyDone(): void {
    const done = this.#bodyDone;
    this.#bodyDone = [];
    for (const close of done) close();
  }

  /** The `traceparent` for the upstream: the forward span as parent. Null: send the caller's as is. */
  upstreamTraceparent(): string | null {
    return this.#on ? formatTraceparent(this.#traceId, this.#forwardId, true) : null;
  }

  /** Headers the gateway sets on the upstream request, with the traceparent added when recorded. */
  upstreamHeaders(headers: Record<string, string> | undefined): Record<string, string> | undefined {
    const traceparent = this.upstreamTraceparent();
    return traceparent ? { ...headers, traceparent } : headers;
  }

  /** The forward span (its id was promised to the upstream in `traceparent`). */
  forwarded(start: number, status: number | null, error?: string): void {
    if (!this.#on) return;
    const attributes: Attributes = status === null ? {} : { 'http.response.status_code': status };
    this.#spans.push({
      ...this.#spanOf('igris.forward', start, Date.now()),
      spanId: this.#forwardId,
      kind: 'client',
      attributes,
      ...(error ? { error } : {}),
    });
  }

  /** The outcome's round trip to the guard, off the hot path: a span when it settles. */
  completing(done: Promise<unknown>): void {
    if (!this.#on) return;
    const start = Date.now();
    this.#hold(
      done.then(
        () => this.span('igris.complete', start),
        (err: unknown) => this.span('igris.complete', start, {}, errorName(err)),
      ),
    );
  }

  /** The call was refused or failed with this error code. */
  failed(code: string, status: number): void {
    if (!this.#on) return;
    this.#error = code;
    this.set({ 'igris.error.code': code, 'http.response.status_code': status });
  }

  /**
   * The gateway has answered: the root span ends now; the trace is ready for export once its later
   * spans (response stages, the outcome) have settled. Null when not recorded, or already handed over.
   */
  answered(): PendingExport | null {
    if (!this.#on || this.#exported || !this.#target) return null;
    this.#exported = true;
    const root: RecordedSpan = {
      name: `igris.gateway ${this.#root['igris.connection.type'] ?? ''} ${this.#root['igris.connection.slug'] ?? ''}`.trim(),
      spanId: this.#rootId,
      parentId: this.#caller?.parentId ?? null,
      kind: 'server',
      start: this.#started,
      end: Date.now(),
      attributes: this.#root,
      ...(this.#error ? { error: this.#error } : {}),
    };
    const settled = this.#settled().then(() => ({
      orgId: this.#orgId,
      traceId: this.#traceId,
      traceState: this.#traceState,
      spans: [root, ...this.#spans],
    }));
    return { orgId: this.#orgId, target: this.#target, trace: settled };
  }

  #spanOf(name: string, start: number, end: number): RecordedSpan {
    return {
      name,
      spanId: newSpanId(),
      parentId: this.#rootId,
      kind: 'internal',
      start,
      end,
      attributes: {},
    };
  }

  #hold(work: Promise<unknown>): void {
    this.#pending.add(work);
  }

  /** Until every held piece of work has ended, including work held while waiting (an outcome at the end). */
  async #settled(): Promise<void> {
    let seen = 0;
    while (this.#pending.size > seen) {
      seen = this.#pending.size;
      await Promise.allSettled([...this.#pending]);
    }
  }
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : 'error';
}

/**
 * The root span's attributes: which call through which connection. Ids and names only — the
 * X-Igris-Trace-Id and the audit event id join the trace to the audit trail.
 */
export function callAttributes(
  state: { id: string; traceId: string; httpMethod: string },
  connection: { id: string; slug: string; type: string },
  protocol: string,
): Attributes {
  return {
    'igris.connection.id': connection.id,
    'igris.connection.slug': connection.slug,
    'igris.connection.type': connection.type,
    'igris.protocol': protocol,
    'igris.call.id': state.id,
    'igris.trace_id': state.traceId,
    'http.request.method': state.httpMethod,
  };
}

/**
 * Every optional member of a response stage, besides the `onMessage` the span wraps. A traced call
 * must keep all of them — a stage's body reading (`onBody`, `onErrorBody`), its end (`finish`) and
 * its hold are what content inspection works with, and a wrapper that dropped one (as this one
 * dropped `finish`, `onBody` and `hold` until session 23) let a traced call's answer pass
 * uninspected. `satisfies` makes a member added to ResponseStage a type error here until it is listed.
 */
const DELEGATED = {
  wants: true,
  done: true,
  finish: true,
  onBody: true,
  onErrorBody: true,
  hold: true,
} as const satisfies Record<Exclude<keyof ResponseStage, 'name' | 'onMessage'>, true>;

/** Gives `wrapped` each member `stage` has: methods called on the stage itself (it may have private fields), values as they are. */
function delegateMembers(stage: ResponseStage, wrapped: ResponseStage): void {
  const target = wrapped as unknown as Record<string, unknown>;
  for (const key of Object.keys(DELEGATED) as Array<keyof typeof DELEGATED>) {
    const member: unknown = stage[key];
    if (member === undefined) continue;
    target[key] =
      typeof member === 'function'
        ? (...args: unknown[]) => (member as (...a: unknown[]) => unknown).apply(stage, args)
        : member;
  }
}
