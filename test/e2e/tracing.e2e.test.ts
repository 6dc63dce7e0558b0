/**
 * OpenTelemetry tracing end to end (docs/observability.md#tracing): the local runtime, a real MCP
 * server built with the MCP SDK as the upstream (it records the headers it receives), the official
 * MCP SDK client as the caller, and a local OTLP/HTTP receiver (test/shared/otlp.receiver.ts)
 * that decodes every export with @opentelemetry/otlp-transformer.
 *
 *   - the caller's traceparent is joined: the spans carry its trace id, the gateway's root span is
 *     a child of the caller's span, every stage span a child of the root, and the upstream sees a
 *     traceparent whose parent-id is the gateway's forward span;
 *   - no attribute carries a secret or content (arguments, the credential, keys, header values);
 *   - a caller without traceparent gets a trace started by the gateway;
 *   - tenant isolation: each organization's spans go only to its own endpoint, with its own headers.
 *
 * The second organization is made as a person makes one (sign-up, organization, owner key). The
 * tests run in order on shared state (the first stores the export settings the others use), so they
 * stay in one file; names, secrets and helpers are in tracing.fixtures.ts.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, api, connectClient, gatewayUrl } from './helpers.ts';
import { openaiClient } from './llm.fixtures.ts';
import {
  CALLER_SPAN,
  CALLER_TRACE,
  CALLER_TRACEPARENT,
  CONTENT,
  CREDENTIAL_A,
  CREDENTIAL_B,
  callOf,
  OTLP_SECRET_A,
  OTLP_SECRET_B,
  ok,
  orgB,
  PROVIDER_KEY,
  provider,
  RUN,
  receiver,
  SLUG_A,
  SLUG_B,
  SLUG_LLM,
  setUpTracing,
  spansAt,
  traceparentsSeenBy,
  until,
  upstreamA,
  upstreamB,
} from './tracing.fixtures.ts';

describe('OpenTelemetry tracing through the gateway', () => {
  beforeAll(setUpTracing);

  afterAll(async () => {
    await api('DELETE', '/tracing');
    await api('DELETE', `/connections/${SLUG_A}`);
    await api('DELETE', `/connections/${SLUG_LLM}`);
    await receiver?.close();
    await provider?.close();
    await upstreamA?.close();
    await upstreamB?.close();
  });

  it('stores the export settings per organization and never returns a header value', async () => {
    const put = await ok(
      api<Record<string, unknown>>('PUT', '/tracing', {
        endpoint: `${receiver.url}/a/v1/traces`,
        headers: { 'X-Otlp-Key': OTLP_SECRET_A },
        sampleRate: 1,
      }),
      200,
    );
    expect(put).toMatchObject({
      enabled: true,
      sampleRate: 1,
      protocol: 'http/json',
      headerNames: ['X-Otlp-Key'],
    });
    const got = await ok(api<{ tracing: Record<string, unknown> }>('GET', '/tracing'), 200);
    expect(got.tracing.endpoint).toBe(`${receiver.url}/a/v1/traces`);
    expect(JSON.stringify([put, got])).not.toContain(OTLP_SECRET_A);
    await ok(
      api(
        'PUT',
        '/tracing',
        {
          endpoint: `${receiver.url}/b/v1/traces`,
          headers: { 'X-Otlp-Key': OTLP_SECRET_B },
        },
        orgB.key,
      ),
      200,
    );
    // Bad input is refused at the boundary.
    await ok(api('PUT', '/tracing', { endpoint: `${receiver.url}/x`, sampleRate: 2 }), 400);
    await ok(api('PUT', '/tracing', { endpoint: 'ftp://collector.example.com' }), 400);
    await ok(api('PUT', '/tracing', { endpoint: `${receiver.url}/x`, protocol: 'grpc' }), 400);
    await ok(
      api('PUT', '/tracing', { endpoint: `${receiver.url}/x`, headers: { 'Content-Type': 'x' } }),
      400,
    );
  });

  it('an MCP call joins the caller’s trace, with one span per stage and the upstream under the forward span', async () => {
    const { client } = await connectClient(SLUG_A, {
      traceparent: CALLER_TRACEPARENT,
      tracestate: 'caller=1',
    });
    const result = await client.callTool({ name: 'echo', arguments: { message: CONTENT } });
    expect(JSON.stringify(result)).toContain(CONTENT);
    const refused = await client
      .callTool({ name: 'delete_everything', arguments: {} })
      .catch((err: unknown) => err);
    expect(JSON.stringify(refused ?? '')).not.toBe('');
    await client.close();

    // The upstream saw the caller's trace id with the gateway's forward span as parent.
    const seen = traceparentsSeenBy(upstreamA);
    expect(seen.length).toBeGreaterThan(0);
    for (const tp of seen) {
      expect(tp).toMatch(new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-01$`));
      expect(tp).not.toBe(CALLER_TRACEPARENT);
    }

    // Every upstream request's parent arrives as a forward span (exports are batched, ~1 s).
    const parents = seen.map((tp) => tp.split('-')[2]!);
    await until('the forward spans at the receiver', () => {
      const ids = new Set(spansAt('a').map((s) => s.spanId));
      return parents.every((p) => ids.has(p)) ? true : undefined;
    });
    const spans = spansAt('a').filter((s) => s.traceId === CALLER_TRACE);
    expect(receiver.invalid).toEqual([]);

    const roots = spans.filter((s) => s.kind === 2);
    for (const root of roots) {
      expect(root.parentSpanId).toBe(CALLER_SPAN);
      expect(root.flags & 0x200).toBe(0x200); // its parent is remote (the caller)
      expect(root.traceState).toBe('caller=1');
      expect(root.resource['igris.org.id']).toBeTruthy();
    }
    for (const span of spans.filter((s) => s.kind !== 2)) {
      expect(roots.map((r) => r.spanId)).toContain(span.parentSpanId);
    }

    // The tools/call of echo: a root with every stage as its child, and the forward span the
    // upstream's parent.
    const callRoot = await until('the echo call', () =>
      roots.find(
        (r) =>
          callOf(spans, r).some(
            (s) => s.name === 'igris.policy' && s.attributes['igris.decision'] === 'allow',
          ) &&
          callOf(spans, r).some((s) => s.name === 'igris.forward') &&
          r.attributes['igris.rule.index'] === 0,
      ),
    );
    expect(callRoot.name).toBe(`igris.gateway mcp ${SLUG_A}`);
    expect(callRoot.attributes).toMatchObject({
      'igris.connection.slug': SLUG_A,
      'igris.connection.type': 'mcp',
      'igris.protocol': 'mcp',
      'igris.decision': 'allow',
      'igris.rule.index': 0,
      'http.request.method': 'POST',
    });
    const names = callOf(spans, callRoot).map((s) => s.name);
    for (const stage of [
      'igris.authenticate',
      'igris.policy',
      'igris.stage.inspectMcpRequest',
      'igris.guard.admit',
      'igris.forward',
      'igris.complete',
    ]) {
      expect(names).toContain(stage);
    }
    const forward = callOf(spans, callRoot).find((s) => s.name === 'igris.forward')!;
    expect(forward.kind).toBe(3);
    expect(forward.attributes['http.response.status_code']).toBe(200);
    expect(parents).toContain(forward.spanId);
    const admit = callOf(spans, callRoot).find((s) => s.name === 'igris.guard.admit')!;
    expect(admit.attributes['igris.guard.verdict']).toBe('admit');

    // The denied call: a root with the deny decision and its rule, no forward span.
    const deniedRoot = roots.find((r) => r.attributes['igris.decision'] === 'deny');
    expect(deniedRoot?.attributes).toMatchObject({
      'igris.rule.index': 1,
      'igris.error.code': 'policy_denied',
    });
    expect(deniedRoot?.status.code).toBe(2);
    expect(callOf(spans, deniedRoot!).some((s) => s.name === 'igris.forward')).toBe(false);

    // Headers: org A's own; nothing of the call's content or any secret in any attribute.
    for (const r of receiver.received.filter((x) => x.path === '/a/v1/traces')) {
      expect(r.headers['x-otlp-key']).toBe(OTLP_SECRET_A);
    }
    const everything = JSON.stringify(spansAt('a').map((s) => [s.name, s.attributes, s.resource, s.status]));
    for (const secret of [
      CONTENT,
      CREDENTIAL_A,
      adminKey(),
      OTLP_SECRET_A,
      OTLP_SECRET_B,
      CREDENTIAL_B,
      orgB.key,
    ]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('an LLM call (OpenAI SDK) is traced the same way, without the prompt or the provider key', async () => {
    await ok(
      api('POST', '/connections', {
        slug: SLUG_LLM,
        name: SLUG_LLM,
        type: 'llm',
        upstreamUrl: `${provider.url}/v1`,
        credential: PROVIDER_KEY,
        settings: { provider: 'openai-compatible' },
      }),
      201,
    );
    await ok(api('PUT', `/connections/${SLUG_LLM}/policy`, { rules: [{ tool: '*', action: 'allow' }] }), 200);
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const openai = openaiClient(SLUG_LLM);
    await openai.chat.completions.create(
      { model: 'fake-gpt', messages: [{ role: 'user', content: CONTENT }] },
      { headers: { traceparent: `00-${traceId}-${callerSpan}-01` } },
    );
    const sent = provider.requests.at(-1)?.headers.traceparent ?? '';
    const [, sentTrace, forwardId] = sent.split('-');
    expect(sentTrace).toBe(traceId);
    const spans = await until('the LLM trace', () => {
      const mine = spansAt('a').filter((s) => s.traceId === traceId);
      return mine.some((s) => s.name === 'igris.complete') ? mine : undefined;
    });
    const root = spans.find((s) => s.kind === 2)!;
    expect(root).toMatchObject({ name: `igris.gateway llm ${SLUG_LLM}`, parentSpanId: callerSpan });
    expect(root.attributes).toMatchObject({ 'igris.connection.type': 'llm', 'igris.decision': 'allow' });
    expect(spans.find((s) => s.spanId === forwardId)?.name).toBe('igris.forward');
    const names = spans.map((s) => s.name);
    for (const stage of [
      'igris.authenticate',
      'igris.policy',
      'igris.stage.inspectLlmRequest',
      'igris.guard.admit',
    ]) {
      expect(names).toContain(stage);
    }
    for (const span of spans) if (span !== root) expect(span.parentSpanId).toBe(root.spanId);
    const everything = JSON.stringify(spans.map((s) => [s.name, s.attributes, s.resource, s.status]));
    for (const secret of [CONTENT, PROVIDER_KEY, adminKey()]) expect(everything).not.toContain(secret);

    // Streamed: the outcome (usage, cost) is sent when the stream ends, after the handler returned;
    // the trace waits for it.
    const streamTrace = randomBytes(16).toString('hex');
    const stream = await openai.chat.completions.create(
      { model: 'fake-gpt', messages: [{ role: 'user', content: CONTENT }], stream: true },
      { headers: { traceparent: `00-${streamTrace}-${callerSpan}-01` } },
    );
    for await (const _chunk of stream) {
      // drain
    }
    const streamed = await until('the streamed LLM trace', () => {
      const mine = spansAt('a').filter((s) => s.traceId === streamTrace);
      return mine.some((s) => s.kind === 2) ? mine : undefined;
    });
    const streamedNames = streamed.map((s) => s.name);
    expect(streamedNames).toContain('igris.complete');
    expect(streamedNames.some((n) => n.startsWith('igris.response.'))).toBe(true);
    expect(receiver.invalid).toEqual([]);
  });

  it('starts a trace for a caller without traceparent, and keeps each organization’s spans to its own endpoint', async () => {
    const res = await fetch(`${gatewayUrl()}/v1/mcp/${SLUG_B}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${orgB.key}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'X-Igris-Trace-Id': `trace-b-${RUN}`,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: CONTENT } },
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('X-Igris-Trace-Id')).toBe(`trace-b-${RUN}`);
    await res.text();

    const started = traceparentsSeenBy(upstreamB).at(-1);
    expect(started).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const [, traceId, parentId] = started!.split('-');
    const root = await until('org B’s trace', () =>
      spansAt('b').find((s) => s.traceId === traceId && s.kind === 2),
    );
    expect(root.parentSpanId).toBeNull(); // the gateway started this trace
    expect(root.attributes['igris.trace_id']).toBe(`trace-b-${RUN}`); // joins the audit trail
    expect(spansAt('b').find((s) => s.spanId === parentId)?.name).toBe('igris.forward');
    expect(root.resource['igris.org.id']).toBe(orgB.orgId);

    // Isolation: B's spans never reach A's endpoint, nor A's reach B's; each with its own headers.
    expect(spansAt('a').some((s) => s.traceId === traceId || s.resource['igris.org.id'] === orgB.orgId)).toBe(
      false,
    );
    expect(
      spansAt('b').some((s) => s.traceId === CALLER_TRACE || s.resource['igris.org.id'] !== orgB.orgId),
    ).toBe(false);
    for (const r of receiver.received.filter((x) => x.path === '/b/v1/traces')) {
      expect(r.headers['x-otlp-key']).toBe(OTLP_SECRET_B);
    }
    expect(receiver.invalid).toEqual([]);
  });

  it('exports OTLP protobuf (application/x-protobuf) when the organization chooses http/protobuf', async () => {
    const put = await ok(
      api<Record<string, unknown>>(
        'PUT',
        '/tracing',
        { endpoint: `${receiver.url}/b-pb/v1/traces`, protocol: 'http/protobuf' },
        orgB.key,
      ),
      200,
    );
    expect(put).toMatchObject({ protocol: 'http/protobuf', headerNames: ['X-Otlp-Key'] });
    const res = await fetch(`${gatewayUrl()}/v1/mcp/${SLUG_B}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${orgB.key}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        traceparent: CALLER_TRACEPARENT,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: CONTENT } },
      }),
    });
    expect(res.status).toBe(200);
    await res.text();
    // Decoded by the receiver with @opentelemetry/otlp-transformer (bytes equal to its own encoding).
    const root = await until('the protobuf export', () =>
      spansAt('b-pb').find((s) => s.traceId === CALLER_TRACE && s.kind === 2),
    );
    expect(root.parentSpanId).toBe(CALLER_SPAN);
    expect(root.resource['igris.org.id']).toBe(orgB.orgId);
    const names = spansAt('b-pb')
      .filter((s) => s.parentSpanId === root.spanId)
      .map((s) => s.name);
    expect(names).toContain('igris.forward');
    const exports = receiver.received.filter((r) => r.path === '/b-pb/v1/traces');
    for (const r of exports) {
      expect(r.headers['content-type']).toBe('application/x-protobuf');
      expect(r.headers['x-otlp-key']).toBe(OTLP_SECRET_B);
    }
    expect(JSON.stringify(root.attributes)).not.toContain(CONTENT);
    expect(receiver.invalid).toEqual([]);
  });

  it('forwards the caller’s traceparent untouched when the organization does not trace', async () => {
    await ok(api('DELETE', '/tracing', undefined, orgB.key), 204);
    const before = traceparentsSeenBy(upstreamB).length;
    const res = await fetch(`${gatewayUrl()}/v1/mcp/${SLUG_B}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${orgB.key}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        traceparent: CALLER_TRACEPARENT,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'x' } },
      }),
    });
    expect(res.status).toBe(200);
    await res.text();
    expect(traceparentsSeenBy(upstreamB).slice(before)).toEqual([CALLER_TRACEPARENT]);
  });
});
