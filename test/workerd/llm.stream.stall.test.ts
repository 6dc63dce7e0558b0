/**
 * An LLM upstream that sends its headers and then stalls (docs/llm-gateway.md#stream-timeouts), in
 * workerd with real bindings against the real fake provider (its `fake-gap-…` streams:
 * test/e2e/llm.fake-provider.gaps.ts). The forward's timeout covers the headers only; after them:
 *   - a held stream (`streamMode: "hold"`) that goes silent past `streamIdleTimeoutMs`, or trickles
 *     keep-alives past `heldStreamTimeoutMs`, is refused: 504 `upstream_timeout` in the call's wire
 *     shape (OpenAI, Anthropic), no event; the row records the code; the upstream is cancelled;
 *   - a relayed stream (`pass`) silent past `streamIdleTimeoutMs` ends as a kill switch ends it:
 *     what came, then the provider's error event, then the end; the row records the code, the
 *     upstream is cancelled;
 *   - the settings are validated, with defaults (5 minutes idle, 9.5 minutes held).
 * On the old code each stalled call hangs until the fake ends its stall (GAP_STALL_MS, 30 s): the
 * tests' own bound (NO_ANSWER_MS) fails them first.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AuditRow, auditFor, patchSettings, post, traceId } from './gateway.fixtures';
import { bootstrapDefault, call, createConnection, putPolicy } from './helpers';

const RUN = Date.now().toString(36);
const IDLE_MS = 1_000;
const HELD_MS = 2_000;
/** Far under the fake's stall (30 s), far over the bounds: an answer later than this is a hang. */
const NO_ANSWER_MS = 10_000;
const SLUGS = {
  hold: `stall-hold-${RUN}`,
  holdAnthropic: `stall-hold-a-${RUN}`,
  pass: `stall-pass-${RUN}`,
  defaults: `stall-defaults-${RUN}`,
};
const ANTHROPIC_HEADERS = { 'anthropic-version': '2023-06-01' };

function connection(slug: string, settings: Record<string, unknown>) {
  return call('POST', '/api/v1/connections', {
    body: {
      slug,
      name: slug,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings,
    },
  });
}

async function llmConnection(slug: string, settings: Record<string, unknown>) {
  const res = await connection(slug, settings);
  expect(res.status, await res.clone().text()).toBe(201);
  await putPolicy(slug, [{ tool: '*', action: 'allow' }]);
}

const BOUNDS = { streamIdleTimeoutMs: IDLE_MS, heldStreamTimeoutMs: HELD_MS };
const HOLD = { packs: ['llm-standard-security'], streamMode: 'hold' };

beforeAll(async () => {
  await bootstrapDefault();
  await llmConnection(SLUGS.hold, { provider: 'openai-compatible', inspection: HOLD, ...BOUNDS });
  await llmConnection(SLUGS.holdAnthropic, { provider: 'anthropic', inspection: HOLD, ...BOUNDS });
  await llmConnection(SLUGS.pass, { provider: 'openai-compatible', ...BOUNDS });
  await llmConnection(SLUGS.defaults, { provider: 'openai-compatible' });
});

/** The call, or a failure when it is not answered (headers and body) within NO_ANSWER_MS. */
async function answered(
  slug: string,
  path: string,
  trace: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ res: Response; text: string; ms: number }> {
  const started = Date.now();
  const work = (async () => {
    const res = await call('POST', `/llm/${slug}/v1/${path}`, {
      body,
      headers: { 'X-Igris-Trace-Id': trace, ...headers },
    });
    return { res, text: await res.text() };
  })();
  const hang = new Promise<never>((_, reject) =>
    setTimeout(
      () => reject(new Error(`no answer within ${NO_ANSWER_MS} ms: the gateway hangs`)),
      NO_ANSWER_MS,
    ),
  );
  const { res, text } = await Promise.race([work, hang]);
  return { res, text, ms: Date.now() - started };
}

async function rowOf(trace: string): Promise<AuditRow> {
  for (let i = 0; i < 50; i++) {
    await auditFor(trace);
    const row = await env.DB.prepare("SELECT * FROM audit_events WHERE trace_id = ? AND type = 'llm_call'")
      .bind(trace)
      .first<AuditRow>();
    if (row?.error_code) return row;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no finished row for ${trace}`);
}

/** How the fake's gap stream with this marker ended: `cancelled` when the gateway closed it first. */
async function upstreamEnding(marker: string): Promise<string | undefined> {
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`${env.LLM_FAKE_URL}/__fake/gaps`);
    const endings = (await res.json()) as Record<string, string>;
    if (endings[marker]) return endings[marker];
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

const chat = (model: string, marker: string) => ({
  model,
  stream: true,
  messages: [{ role: 'user', content: marker }],
});

describe('a held stream whose upstream stalls after its headers', () => {
  it('silent past streamIdleTimeoutMs: 504 upstream_timeout (OpenAI shape), no event, the upstream cancelled', async () => {
    const trace = traceId('stall-hold-idle');
    const marker = `hold-idle-${RUN}`;
    const { res, text, ms } = await answered(
      SLUGS.hold,
      'chat/completions',
      trace,
      chat('fake-gap-silent', marker),
    );
    expect(res.status).toBe(504);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(text).not.toContain('data:');
    expect(JSON.parse(text)).toEqual({
      error: {
        message: `The upstream's answer stalled: nothing came for ${IDLE_MS} ms`,
        type: 'server_error',
        param: null,
        code: 'upstream_timeout',
        details: { setting: 'streamIdleTimeoutMs', timeoutMs: IDLE_MS },
      },
    });
    expect(ms).toBeGreaterThanOrEqual(IDLE_MS - 50);
    const row = await rowOf(trace);
    expect(row).toMatchObject({ action: 'allow', error_code: 'upstream_timeout', upstream_status: 200 });
    expect(await upstreamEnding(marker)).toBe('cancelled');
  });

  it('silent, Anthropic: the same refusal in Anthropic’s shape (timeout_error)', async () => {
    const trace = traceId('stall-hold-idle-a');
    const marker = `hold-idle-a-${RUN}`;
    const { res, text } = await answered(
      SLUGS.holdAnthropic,
      'messages',
      trace,
      { ...chat('fake-gap-silent', marker), max_tokens: 64 },
      ANTHROPIC_HEADERS,
    );
    expect(res.status).toBe(504);
    expect(JSON.parse(text)).toEqual({
      type: 'error',
      error: {
        type: 'timeout_error',
        message: `The upstream's answer stalled: nothing came for ${IDLE_MS} ms`,
        details: { setting: 'streamIdleTimeoutMs', timeoutMs: IDLE_MS },
      },
    });
    expect((await rowOf(trace)).error_code).toBe('upstream_timeout');
    expect(await upstreamEnding(marker)).toBe('cancelled');
  });

  it('trickling keep-alives (never idle) past heldStreamTimeoutMs: 504 upstream_timeout, the upstream cancelled', async () => {
    const trace = traceId('stall-hold-total');
    const marker = `hold-total-${RUN}`;
    const { res, text, ms } = await answered(
      SLUGS.hold,
      'chat/completions',
      trace,
      chat('fake-gap-trickle', marker),
    );
    expect(res.status).toBe(504);
    expect(JSON.parse(text).error).toMatchObject({
      code: 'upstream_timeout',
      details: { setting: 'heldStreamTimeoutMs', timeoutMs: HELD_MS },
    });
    expect(ms).toBeGreaterThanOrEqual(HELD_MS - 50);
    expect((await rowOf(trace)).error_code).toBe('upstream_timeout');
    expect(await upstreamEnding(marker)).toBe('cancelled');
  });
});

describe('a relayed stream (pass) whose upstream stalls', () => {
  it('ends after streamIdleTimeoutMs with the provider’s error event, as a kill switch ends it', async () => {
    const trace = traceId('stall-pass');
    const marker = `pass-idle-${RUN}`;
    const { res, text } = await answered(
      SLUGS.pass,
      'chat/completions',
      trace,
      chat('fake-gap-stall', marker),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/event-stream/);
    const events = text.split('\n\n').filter((e) => e.trim() !== '');
    expect(events).toHaveLength(2);
    expect(JSON.parse(events[0]!.slice('data: '.length))).toMatchObject({
      choices: [{ delta: { content: 'Thinking' } }],
    });
    expect(JSON.parse(events[1]!.slice('data: '.length))).toEqual({
      error: {
        message: `The upstream's answer stalled: nothing came for ${IDLE_MS} ms`,
        type: 'server_error',
        param: null,
        code: 'upstream_timeout',
        details: { setting: 'streamIdleTimeoutMs', timeoutMs: IDLE_MS },
      },
    });
    const row = await rowOf(trace);
    expect(row).toMatchObject({ action: 'allow', error_code: 'upstream_timeout', upstream_status: 200 });
    expect(await upstreamEnding(marker)).toBe('cancelled');
  });

  it('a stream that keeps talking is never cut, however long (no total bound when passing)', async () => {
    const marker = `pass-trickle-${RUN}`;
    // Keep-alives every 200 ms for the fake's whole stall would take 30 s: checked for 3 s (past
    // both bounds) by reading until then.
    const res = await call('POST', `/llm/${SLUGS.pass}/v1/chat/completions`, {
      body: chat('fake-gap-trickle', marker),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const until = Date.now() + HELD_MS + IDLE_MS;
    let text = '';
    while (Date.now() < until) {
      const { done, value } = await reader.read();
      expect(done).toBe(false);
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text).toContain(': keep-alive');
    expect(text).not.toContain('upstream_timeout');
  });
});

describe('a JSON answer whose body stalls after its headers', () => {
  it('is refused past streamIdleTimeoutMs: 504 upstream_timeout, the upstream cancelled', async () => {
    const trace = traceId('stall-json');
    const marker = `json-idle-${RUN}`;
    const { res, text } = await answered(SLUGS.pass, 'chat/completions', trace, {
      model: 'fake-gap-json',
      messages: [{ role: 'user', content: marker }],
    });
    expect(res.status).toBe(504);
    expect(JSON.parse(text).error).toMatchObject({
      code: 'upstream_timeout',
      details: { setting: 'streamIdleTimeoutMs', timeoutMs: IDLE_MS },
    });
    const row = await rowOf(trace);
    expect(row).toMatchObject({ action: 'allow', error_code: 'upstream_timeout', upstream_status: 200 });
    expect(await upstreamEnding(marker)).toBe('cancelled');
  });
});

describe('no bound where idle is normal', () => {
  it('an MCP GET stream (server notifications) stays open past streamIdleTimeoutMs', async () => {
    const slug = `stall-mcp-get-${RUN}`;
    await createConnection(slug, { upstreamPath: '/mcp' });
    await patchSettings(slug, BOUNDS);
    await putPolicy(slug, [{ tool: '*', action: 'allow' }]);
    const init = await post(slug, {
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'stall', version: '1' },
      },
    });
    expect(init.status).toBe(200);
    await init.body?.cancel();
    const session = {
      'Mcp-Session-Id': init.headers.get('Mcp-Session-Id')!,
      'MCP-Protocol-Version': '2025-11-25',
    };
    expect((await post(slug, { jsonrpc: '2.0', method: 'notifications/initialized' }, session)).status).toBe(
      202,
    );
    const res = await call('GET', `/v1/mcp/${slug}`, {
      headers: { Accept: 'text/event-stream', ...session },
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    // Past both bounds: still open (whatever the server sends meanwhile), never ended by the gateway.
    const until = Date.now() + HELD_MS + IDLE_MS;
    let text = '';
    for (;;) {
      const left = until - Date.now();
      if (left <= 0) break;
      const next = await Promise.race([
        reader.read(),
        new Promise<'open'>((r) => setTimeout(() => r('open'), left)),
      ]);
      if (next === 'open') break;
      expect(next.done, 'the GET stream ended').toBe(false);
      text += new TextDecoder().decode(next.value);
    }
    await reader.cancel();
    expect(text).not.toContain('upstream_timeout');
  });
});

describe('the settings', () => {
  it("defaults: 5 minutes idle, 9.5 minutes held (under the SDKs' 10-minute timeout)", async () => {
    const res = await call('GET', `/api/v1/connections/${SLUGS.defaults}`);
    const body = (await res.json()) as { settings: Record<string, unknown> };
    expect(body.settings).toMatchObject({ streamIdleTimeoutMs: 300_000, heldStreamTimeoutMs: 570_000 });
  });

  it('out of range or not an integer: 400 validation_failed naming the setting', async () => {
    const cases: Array<[string, unknown]> = [
      ['streamIdleTimeoutMs', 999],
      ['streamIdleTimeoutMs', 3_600_001],
      ['streamIdleTimeoutMs', 1500.5],
      ['streamIdleTimeoutMs', '300000'],
      ['heldStreamTimeoutMs', 0],
      ['heldStreamTimeoutMs', 3_600_001],
    ];
    for (const [name, value] of cases) {
      const res = await connection(`stall-bad-${RUN}`, { provider: 'openai-compatible', [name]: value });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code).toBe('validation_failed');
      expect(JSON.stringify(body.error)).toContain(name);
    }
  });
});
