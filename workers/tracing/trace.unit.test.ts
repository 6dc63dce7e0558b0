import { describe, expect, it } from 'vitest';
import { decodeOtlpJson } from '../../test/shared/otlp.receiver';
import { CallTrace, type FinishedTrace } from './trace.call';
import { formatTraceparent, parseTraceparent, sampledAt } from './trace.context';
import { otlpRequest } from './trace.otlp';

const CALLER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const target = { endpoint: 'https://otel.example.com/v1/traces', sampleRate: 1, sealedHeaders: null };
const attrs = () => ({ 'igris.connection.slug': 'github', 'igris.connection.type': 'mcp' });

describe('traceparent', () => {
  it('reads a valid header and refuses malformed, all-zero and version-ff ones', () => {
    expect(parseTraceparent(CALLER)).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      parentId: 'b7ad6b7169203331',
      flags: 1,
    });
    expect(parseTraceparent('01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future')).not.toBeNull();
    for (const bad of [
      null,
      '',
      `${CALLER}-extra`, // version 00 has exactly four fields
      'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
      '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01', // upper case is invalid
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01',
    ]) {
      expect(parseTraceparent(bad)).toBeNull();
    }
    expect(formatTraceparent('0af7651916cd43dd8448eb211c80319c', '00f067aa0ba902b7', true)).toBe(
      '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01',
    );
  });

  it('samples on the trace id alone: 0 never, 1 always, a ratio about that share, the same id the same way', () => {
    let seed = 42;
    const ids = Array.from({ length: 2000 }, () => {
      let id = '';
      for (let i = 0; i < 4; i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        id += seed.toString(16).padStart(8, '0');
      }
      return id;
    });
    expect(ids.every((id) => sampledAt(id, 1))).toBe(true);
    expect(ids.some((id) => sampledAt(id, 0))).toBe(false);
    const share = ids.filter((id) => sampledAt(id, 0.25)).length / ids.length;
    expect(share).toBeGreaterThan(0.18);
    expect(share).toBeLessThan(0.32);
    expect(ids.map((id) => sampledAt(id, 0.25))).toEqual(ids.map((id) => sampledAt(id, 0.25)));
  });
});

describe('CallTrace', () => {
  it('records nothing, and leaves the caller’s traceparent alone, when the organization does not trace', async () => {
    const trace = new CallTrace(new Headers({ traceparent: CALLER }));
    trace.span('igris.authenticate', Date.now());
    trace.configure('org_a', null, attrs);
    const stage = (_call: unknown, d: number[]) => [...d, 1];
    expect(trace.stage(stage, null, [0])).toEqual([0, 1]);
    expect(trace.upstreamTraceparent()).toBeNull();
    expect(trace.upstreamHeaders({ a: 'b' })).toEqual({ a: 'b' });
    expect(trace.answered()).toBeNull();
  });

  it('joins the caller’s trace: root child of the caller, stages children of the root, upstream child of forward', async () => {
    const trace = new CallTrace(new Headers({ traceparent: CALLER, tracestate: 'vendor=x' }));
    trace.span('igris.authenticate', Date.now());
    trace.configure('org_a', target, attrs);
    trace.configure('org_a', null, attrs); // a second prepare changes nothing
    trace.policy(Date.now(), [{ decision: null, refusal: null }]);
    function inspectMcpRequest(_call: unknown, d: number[]) {
      return d;
    }
    trace.stage(inspectMcpRequest, null, [1]);
    trace.span('igris.guard.admit', Date.now(), { 'igris.guard.verdict': 'admit' });
    const upstream = parseTraceparent(trace.upstreamHeaders(undefined)!.traceparent!)!;
    expect(upstream.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    trace.forwarded(Date.now(), 200);
    const [stage] = trace.responseStages([{ name: 'inspection', onMessage: () => undefined }]);
    stage!.onMessage({});
    trace.bodyDone();
    trace.completing(Promise.resolve());
    const pending = trace.answered()!;
    expect(trace.answered()).toBeNull(); // handed over once
    const finished = await pending.trace;
    const root = finished.spans.find((s) => s.kind === 'server')!;
    expect(root.parentId).toBe('b7ad6b7169203331');
    expect(root.name).toBe('igris.gateway mcp github');
    const forward = finished.spans.find((s) => s.name === 'igris.forward')!;
    expect(forward.spanId).toBe(upstream.parentId);
    expect(forward.kind).toBe('client');
    expect(finished.spans.map((s) => s.name).sort()).toEqual(
      [
        'igris.authenticate',
        'igris.complete',
        'igris.forward',
        'igris.gateway mcp github',
        'igris.guard.admit',
        'igris.policy',
        'igris.response.inspection',
        'igris.stage.inspectMcpRequest',
      ].sort(),
    );
    for (const span of finished.spans) if (span !== root) expect(span.parentId).toBe(root.spanId);
    expect(finished.traceState).toBe('vendor=x');
  });

  it('keeps every member of a wrapped response stage: a traced call inspects what an untraced one does', () => {
    const trace = new CallTrace(new Headers());
    trace.configure('org_a', target, attrs);
    const seen: string[] = [];
    const body = new Uint8Array([1]);
    const hold = { begin: () => {}, settle: () => ({ refusal: null, changed: new Set<unknown>() }) };
    const [stage] = trace.responseStages([
      {
        name: 'inspection',
        onMessage: () => undefined,
        wants: () => true,
        done: () => false,
        finish: () => seen.push('finish'),
        onBody: () => {
          seen.push('onBody');
          return body;
        },
        onErrorBody: () => {
          seen.push('onErrorBody');
          return body;
        },
        hold,
      },
    ]);
    expect(stage!.wants!('x')).toBe(true);
    expect(stage!.done!()).toBe(false);
    stage!.finish!();
    expect(stage!.onBody!(new Uint8Array())).toBe(body);
    expect(stage!.onErrorBody!(new Uint8Array())).toBe(body);
    expect(stage!.hold).toBe(hold);
    expect(seen).toEqual(['finish', 'onBody', 'onErrorBody']);
  });

  it('calls a wrapped class-instance stage on itself, so its private fields still work', () => {
    const trace = new CallTrace(new Headers());
    trace.configure('org_a', target, attrs);
    class Counting {
      readonly name = 'counting';
      #bodies = 0;
      onMessage(): undefined {
        return undefined;
      }
      onBody(): undefined {
        this.#bodies++;
        return undefined;
      }
      finish(): void {
        if (this.#bodies !== 1) throw new Error(`saw ${this.#bodies} bodies`);
      }
    }
    const [stage] = trace.responseStages([new Counting()]);
    stage!.onBody!(new Uint8Array());
    expect(() => stage!.finish!()).not.toThrow();
    expect(stage!.done).toBeUndefined();
  });

  it('waits for the answer to end: an outcome sent at the end (a streamed LLM answer) is in the trace', async () => {
    const trace = new CallTrace(new Headers());
    trace.configure('org_a', target, attrs);
    trace.forwarded(Date.now(), 200);
    trace.responseStages([]); // no stage, yet the answer is still streaming
    const pending = trace.answered()!; // the handler has returned its Response
    let guardDone!: () => void;
    trace.completing(new Promise<void>((resolve) => (guardDone = resolve))); // at the body's end…
    trace.bodyDone();
    guardDone(); // …and the guard answers later
    const finished = await pending.trace;
    expect(finished.spans.map((s) => s.name)).toContain('igris.complete');
  });

  it('starts a trace when the caller sends none', async () => {
    const trace = new CallTrace(new Headers());
    trace.configure('org_a', target, attrs);
    const sent = parseTraceparent(trace.upstreamTraceparent());
    expect(sent?.flags).toBe(1);
    trace.forwarded(Date.now(), 200);
    const finished = await trace.answered()!.trace;
    expect(finished.traceId).toBe(sent?.traceId);
    expect(finished.spans.find((s) => s.kind === 'server')!.parentId).toBeNull();
  });
});

describe('OTLP JSON', () => {
  it('is what OpenTelemetry JS’s own serializer writes for the same spans', () => {
    const now = Date.now();
    const trace: FinishedTrace = {
      orgId: 'org_a',
      traceId: '0af7651916cd43dd8448eb211c80319c',
      traceState: 'vendor=x',
      spans: [
        {
          name: 'igris.gateway mcp github',
          spanId: '1111111111111111',
          parentId: 'b7ad6b7169203331',
          kind: 'server',
          start: now,
          end: now + 5,
          attributes: {
            'igris.connection.slug': 'github',
            'http.response.status_code': 200,
            'igris.rule.matched': true,
            ratio: 0.5,
          },
        },
        {
          name: 'igris.forward',
          spanId: '2222222222222222',
          parentId: '1111111111111111',
          kind: 'client',
          start: now + 1,
          end: now + 4,
          attributes: {},
          error: 'upstream_unreachable',
        },
      ],
    };
    const spans = decodeOtlpJson(JSON.stringify(otlpRequest('org_a', [trace])));
    expect(spans).toHaveLength(2);
    expect(spans[0]).toMatchObject({
      kind: 2,
      parentSpanId: 'b7ad6b7169203331',
      flags: 0x301,
      traceState: 'vendor=x',
    });
    expect(spans[0]!.resource).toEqual({ 'service.name': 'igris-edge', 'igris.org.id': 'org_a' });
    expect(spans[1]).toMatchObject({
      kind: 3,
      flags: 0x101,
      status: { code: 2, message: 'upstream_unreachable' },
    });
    expect(spans[0]!.end - spans[0]!.start).toBe(5_000_000n);
  });

  it('the decoder refuses a payload OpenTelemetry would not write', () => {
    const good = otlpRequest('org_a', [
      {
        orgId: 'org_a',
        traceId: '0af7651916cd43dd8448eb211c80319c',
        traceState: null,
        spans: [
          {
            name: 'x',
            spanId: '1111111111111111',
            parentId: null,
            kind: 'internal',
            start: 1,
            end: 2,
            attributes: { n: 1 },
          },
        ],
      },
    ]);
    const bad = JSON.parse(JSON.stringify(good));
    bad.resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano = 1000000; // a number, not a string
    expect(() => decodeOtlpJson(JSON.stringify(bad))).toThrow();
  });
});
