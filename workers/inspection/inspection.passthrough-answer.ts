/**
 * Content inspection of a passthrough LLM call's answer (docs/detections.md#passthrough-answers):
 * any path outside the governed endpoint table (workers/llm/llm.endpoints.ts) — a Message Batch's
 * results, a batch's output file, a stored chat completion or response read back, a stream on
 * another spelling of a governed path — carries model output too, in shapes the answer walker
 * (inspection.answer.ts) does not know. So, on a connection that inspects content, EVERY string of
 * such an answer is scanned (`where: completion`), not only the known texts:
 *
 *   JSON (a body, each SSE event)  every string (and key of 8+ characters), at its JSON path. The
 *                                  texts llmAnswerStage already scans (a known whole answer's, a
 *                                  stream's pieces) are left to it: blanked in a copy before the
 *                                  walk, so nothing is scanned or reported twice.
 *   JSONL (batch results, files)   read whole (gateway.answer-body.ts, at most the answer cap), each
 *                                  line walked as JSON: `line 3 $.result.message.content[0].text`.
 *   other text                     scanned whole; a finding says its line: `line 3`.
 *   binary (not UTF-8)             not text: passed unscanned, as `audio.speech`'s audio is.
 *
 * A `block` finding refuses the answer (thrown: a JSON or JSONL answer is withheld whole, the
 * caller gets the provider's error; a passing stream ends at that event). With `redactResults` on,
 * `redact` findings are masked (typed placeholders; the caller's own values, restored from the
 * request's placeholders, are left as they are) — a JSON message or a JSONL line re-serialized,
 * a text rewritten. A passing stream's event is masked as a whole message: a value an unknown
 * shape cuts across two events is not joined (only known shapes are; inspection.streams.ts).
 * Pure.
 */
import type { ResponseStage, StageCall } from '../gateway/gateway.stages';
import { AppError } from '../lib/errors';
import { isRecord } from '../lib/values';
import { type AnswerTexts, answerKeys, wholeMessage } from './inspection.answer';
import { maskable, ownValues } from './inspection.answer.mask';
import { DEFAULT_LIMITS, type Engine, type Finding } from './inspection.engine';
import {
  blockedError,
  blockingFinding,
  MAX_RECORDED_FINDINGS,
  recordFindings,
  reportedLocation,
  truncatedFinding,
  under,
} from './inspection.findings';
import { childPath } from './inspection.json';
import { scannableText } from './inspection.passthrough.text';
import {
  lineOf,
  lineStarts,
  scanEveryString,
  scanValues,
  scanWholeText,
} from './inspection.passthrough-scan';
import {
  createRedactionSession,
  keyCollision,
  type RedactionSession,
  redact,
  redactJson,
} from './inspection.redact';
import type { Where } from './inspection.schema';
import type { CallInspection } from './inspection.types';

type Json = Record<string, unknown>;

/**
 * A stream's delta: its texts are the pieces llmAnswerStage joins and scans (inspection.answer.ts
 * streamEvent); the rest of it (ids, names, and any field of no known meaning) is walked
 * (`deltaRest`).
 */
export function isKnownDelta(m: Json): boolean {
  if (m.object === 'chat.completion.chunk' || m.object === 'text_completion') return true;
  const type = typeof m.type === 'string' ? m.type : '';
  return type === 'content_block_delta' || (type.startsWith('response.') && type.endsWith('.delta'));
}

/**
 * What is left to walk of a message once the texts llmAnswerStage scans are taken out: the message
 * itself when it has none, else a copy with each of them blanked (same paths, nothing found there).
 */
export function unknownPart(m: Json): Json {
  let known = 0;
  wholeMessage(
    m,
    texts(() => {
      known++;
      return undefined;
    }),
  );
  const start = m.type === 'content_block_start' && isRecord(m.content_block) ? m.content_block : null;
  if (known === 0 && !start) return m;
  const copy = structuredClone(m);
  // A tool_use input is parsed back from what `whole` returns: blanked as `null`.
  wholeMessage(
    copy,
    texts((key) => (key.startsWith('$.content[') && key.endsWith('.input') ? 'null' : '')),
  );
  // A block's opening text is the first piece of its stream (streamEvent).
  if (isRecord(copy.content_block)) {
    if (typeof copy.content_block.text === 'string') copy.content_block.text = '';
    if (typeof copy.content_block.thinking === 'string') copy.content_block.thinking = '';
  }
  return copy;
}

/** A copy of a stream delta with the pieces llmAnswerStage scans blanked (same paths). */
export function deltaRest(m: Json): Json {
  const copy = structuredClone(m);
  const blank = (o: unknown, ...names: string[]) => {
    if (!isRecord(o)) return;
    for (const name of names) if (typeof o[name] === 'string') o[name] = '';
  };
  for (const c of Array.isArray(copy.choices) ? copy.choices : []) {
    if (!isRecord(c)) continue;
    blank(c, 'text');
    const d = isRecord(c.delta) ? c.delta : null;
    blank(d, 'content', 'refusal', 'reasoning_content');
    blank(d?.audio, 'transcript');
    for (const call of Array.isArray(d?.tool_calls) ? d.tool_calls : [])
      if (isRecord(call)) blank(call.function, 'arguments');
  }
  // Anthropic's content_block_delta; a Responses `*.delta` (its `delta` string: text, or base64 audio).
  blank(copy.delta, 'text', 'partial_json', 'thinking');
  if (isRecord(copy.delta)) blank(copy.delta.citation, 'cited_text');
  blank(copy, 'delta');
  return copy;
}

function texts(whole: (key: string) => string | undefined): AnswerTexts {
  return { piece: (_k, t) => t, whole, end: () => {}, flush: () => '', key: answerKeys() };
}

/** One scanned unit of an answer: where its findings are recorded and what masking it gets. */
interface Scanned {
  /** Prefix of every finding's location: `$` for a message, `line 3 $` for a JSONL line. */
  prefix: string;
  found: Finding[];
}

/**
 * The answer's findings, recorded (at most MAX_RECORDED_FINDINGS) and judged. `where`: what the
 * answer is scanned as — `completion` here; an upstream's error answer as its protocol's answers
 * are (inspection.error-answer.ts).
 */
export class Judge {
  #recorded = 0;
  #omitted = 0;
  readonly #call: StageCall;
  readonly #inspection: CallInspection;
  readonly where: Where;

  constructor(call: StageCall, inspection: CallInspection, where: Where = 'completion') {
    this.#call = call;
    this.#inspection = inspection;
    this.where = where;
  }

  /** Records the findings; throws the refusal of a `block` one (decided on all, recorded or not). */
  judge({ prefix, found }: Scanned): void {
    if (found.length === 0) return;
    const kept = found.slice(0, MAX_RECORDED_FINDINGS - this.#recorded);
    this.#omitted += found.length - kept.length;
    this.#recorded += kept.length;
    if (kept.length > 0)
      this.#call.findings.push(...recordFindings(this.#inspection, kept, this.where, 0, prefix));
    const block = blockingFinding(found);
    if (!block) return;
    // Langfuse gets no text of a refused answer (llm.stages.ts).
    this.#inspection.answerWithheld = true;
    throw blockedError(this.#inspection.engine, block, this.where, under(prefix, block.location));
  }

  /**
   * Throws when one text (by `where`) has as many findings of a rule to mask as one scan reports
   * (`maxFindingsPerRule`): more may be there, unfound — refused rather than passed half-masked.
   */
  refuseCapped(spans: readonly Finding[], where: (f: Finding) => string): void {
    const counts = new Map<string, number>();
    for (const f of spans) {
      const key = `${where(f)}\n${f.ruleId}`;
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (n < DEFAULT_LIMITS.maxFindingsPerRule) continue;
      this.#inspection.answerWithheld = true;
      throw new AppError('content_blocked', {
        message: `Blocked by content inspection: rule ${f.ruleId} (${f.category}) matched one text of the ${this.where === 'completion' ? 'completion' : 'answer'} more often than the gateway masks in one text (${DEFAULT_LIMITS.maxFindingsPerRule}); refused rather than passed half-masked`,
        details: {
          ruleId: f.ruleId,
          category: f.category,
          severity: f.severity,
          where: this.where,
          location: reportedLocation(this.#inspection.engine, this.where, where(f)),
        },
      });
    }
  }

  /** redactJson's refusal of two keys masked to one name, its location as reported. */
  keyCollision(prefix: string): (f: Partial<Finding>, location: string) => AppError {
    const engine = this.#inspection.engine;
    const scanned = this.where;
    return (f, location) => keyCollision(f, reportedLocation(engine, scanned, under(prefix, location)));
  }

  /** The `redact` findings to mask, or none when `redactResults` is off. */
  masked(found: readonly Finding[]): Finding[] {
    return this.#inspection.redactResults ? found.filter((f) => f.action === 'redact') : [];
  }

  session(): RedactionSession {
    this.#inspection.session ??= createRedactionSession();
    return this.#inspection.session;
  }

  finish(): void {
    if (this.#omitted > 0) this.#call.findings.push(truncatedFinding(this.#inspection, this.#omitted));
    this.#omitted = 0;
  }
}

/** A JSON value's `redact` findings masked (the caller's own values kept); null when none is. */
export function maskJson(
  value: unknown,
  spans: readonly Finding[],
  judge: Judge,
  prefix: string,
): unknown | null {
  if (spans.length === 0) return null;
  judge.refuseCapped(spans, (f) => under(prefix, f.location));
  const session = judge.session();
  const own = ownValues(session);
  const strings = stringsAt(value, new Set(spans.map((f) => f.location ?? '')));
  const kept = spans.filter((f) => maskable(strings.get(f.location ?? '') ?? '', [f], own).length > 0);
  if (kept.length === 0) return null;
  return redactJson(value, kept, session, { refuse: judge.keyCollision(prefix) });
}

/** The strings at `locations` (scanJson paths) in one walk: to tell the caller's own values apart. */
function stringsAt(value: unknown, locations: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  const stack: Array<[unknown, string]> = [[value, '$']];
  while (stack.length > 0 && out.size < locations.size) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (locations.has(path)) out.set(path, v);
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push([v[i], childPath(path, i)]);
    } else if (isRecord(v))
      for (const [k, child] of Object.entries(v)) stack.push([child, childPath(path, k)]);
  }
  return out;
}

/**
 * The body of a JSONL or text answer with its findings judged (a block thrown) and, with
 * `redactResults`, its `redact` findings masked; null when it is passed as it came (binary,
 * nothing masked).
 */
export function inspectBody(bytes: Uint8Array, engine: Engine, judge: Judge): string | null {
  const text = scannableText(bytes);
  if (text === null) return null; // not text: a binary file's bytes (docs/detections.md)
  const lines = text.split('\n');
  const parsed = jsonLines(lines);
  return parsed ? inspectJsonLines(lines, parsed, engine, judge) : inspectText(text, lines, engine, judge);
}

/** Each non-blank line parsed as JSON (blank ones: undefined), or null when one is not JSON. */
export function jsonLines(lines: readonly string[]): unknown[] | null {
  const out: unknown[] = [];
  for (const line of lines) {
    if (line.trim() === '') {
      out.push(undefined);
      continue;
    }
    try {
      out.push(JSON.parse(line));
    } catch {
      return null;
    }
  }
  return out;
}

function inspectJsonLines(lines: string[], parsed: unknown[], engine: Engine, judge: Judge): string | null {
  let changed = false;
  // Map order is line order: the lines are judged (and a block refused) in the order they come.
  for (const [i, found] of scanValues(engine, parsed, judge.where)) {
    judge.judge({ prefix: `line ${i + 1} $`, found });
    const masked = maskJson(parsed[i], judge.masked(found), judge, `line ${i + 1} $`);
    if (masked === null) continue;
    // A line keeps its own line ending; the masked value is one line of JSON again.
    lines[i] = JSON.stringify(masked) + (lines[i]!.endsWith('\r') ? '\r' : '');
    changed = true;
  }
  return changed ? lines.join('\n') : null;
}

function inspectText(text: string, lines: readonly string[], engine: Engine, judge: Judge): string | null {
  const found = scanWholeText(engine, text, lines, judge.where);
  if (found.length === 0) return null;
  const starts = lineStarts(lines);
  // Judged one line at a time, so each finding's location names its line.
  const byLine = new Map<number, Finding[]>();
  for (const f of found) {
    const line = lineOf(starts, f.start);
    const list = byLine.get(line);
    if (list) list.push(f);
    else byLine.set(line, [f]);
  }
  for (const [line, list] of byLine) judge.judge({ prefix: `line ${line}`, found: list });
  const spans = judge.masked(found);
  if (spans.length === 0) return null;
  judge.refuseCapped(spans, (f) => `line ${lineOf(starts, f.start)}`);
  const session = judge.session();
  const own = ownValues(session);
  const kept = maskable(text, spans, own);
  return kept.length === 0 ? null : redact(text, kept, session).text;
}

/**
 * The passthrough answer's stage, after llmAnswerStage (which restores placeholders and scans the
 * known shapes); null when the connection inspects nothing — then nothing more is read or held.
 */
export function passthroughAnswerStage(call: StageCall): ResponseStage | null {
  const inspection = call.inspection;
  if (!inspection) return null;
  const judge = new Judge(call, inspection);
  return {
    name: 'inspection.passthrough',
    onMessage(message) {
      if (message === null || (typeof message !== 'object' && typeof message !== 'string')) return undefined;
      const walked = !isRecord(message)
        ? message
        : isKnownDelta(message)
          ? deltaRest(message)
          : unknownPart(message);
      const found = scanEveryString(inspection.engine, walked);
      judge.judge({ prefix: '$', found });
      const masked = maskJson(message, judge.masked(found), judge, '$');
      if (masked === null) return undefined;
      inspection.answerWithheld = true;
      return masked;
    },
    onBody(bytes) {
      const out = inspectBody(bytes, inspection.engine, judge);
      if (out === null) return undefined;
      inspection.answerWithheld = true;
      return new TextEncoder().encode(out);
    },
    finish: () => judge.finish(),
  };
}
