/**
 * The client's JSON-RPC responses to server requests (sampling, elicitation, roots, ping), against
 * a real local upstream that sends server requests in hand-written answers
 * (scripts/demo-mcp-asking.ts) behind the recording proxy, so "reached the upstream" and "never
 * reached it" are what the upstream saw:
 *   - every relayed server request (POST SSE answer, JSON batch body, \u-escaped keys, GET stream)
 *     carries a gateway-minted id; plain results and notifications are left byte for byte;
 *   - a response with a minted id is decided as `response:<method>` and reaches the upstream with
 *     the ORIGINAL id (a number stays a number); a deny rule refuses it;
 *   - an unsolicited, forged, altered, other-session, other-caller, other-connection or other-organization id is
 *     refused and never forwarded; in a batch it refuses the batch;
 *   - a DLP block rule on the response's result refuses it; every row names `response:<method>`.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { mintServerId, SERVER_ID_LIFETIME_MS, serverIdKeys } from '../../workers/gateway/mcp.server-ids';
import worker from '../../workers/index';
import { ACCEPT_BOTH, type AuditRow, auditFor, messages, SseReader, traceId } from './gateway.fixtures';
import { call, createApiKeyVia, createOrg, type TestOrg } from './helpers';
import { receivedBy, recordedUpstream, uniqueAgent } from './upstream.log';

const RUN = Date.now().toString(36);
const AWS_KEY = 'AKIAZ7Q4RXW2LM5PT3NB';
const ALLOW_ALL = [{ tool: '*', action: 'allow' }];

let orgA: TestOrg;
let orgB: TestOrg;

const slugs = {
  sse: `resp-sse-${RUN}`,
  other: `resp-other-${RUN}`,
  strId: `resp-str-${RUN}`,
  json: `resp-json-${RUN}`,
  escaped: `resp-esc-${RUN}`,
  plain: `resp-plain-${RUN}`,
  longId: `resp-long-${RUN}`,
  glob: `resp-glob-${RUN}`,
  echoOnly: `resp-echo-${RUN}`,
  deny: `resp-deny-${RUN}`,
  dlp: `resp-dlp-${RUN}`,
  approve: `resp-approve-${RUN}`,
  taint: `resp-taint-${RUN}`,
  open: `resp-open-${RUN}`,
};

async function connection(
  org: TestOrg,
  slug: string,
  path: string,
  rules: unknown[],
  settings: Record<string, unknown> = {},
): Promise<void> {
  const res = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: { slug, name: slug, upstreamUrl: recordedUpstream(path), authType: 'none', settings },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const policy = await call('PUT', `/api/v1/connections/${slug}/policy`, { key: org.key, body: { rules } });
  expect(policy.status, await policy.clone().text()).toBe(200);
}

beforeAll(async () => {
  orgA = await createOrg('owner');
  orgB = await createOrg('owner');
  await connection(orgA, slugs.sse, '/asking/sse', ALLOW_ALL);
  await connection(orgA, slugs.other, '/asking/sse', ALLOW_ALL);
  await connection(orgA, slugs.strId, `/asking/sse?sid=${encodeURIComponent('"s-1"')}`, ALLOW_ALL);
  await connection(orgA, slugs.json, '/asking/json?method=roots/list', ALLOW_ALL);
  await connection(orgA, slugs.escaped, '/asking/escaped?method=ping', ALLOW_ALL);
  await connection(orgA, slugs.plain, '/asking/plain', ALLOW_ALL);
  await connection(
    orgA,
    slugs.longId,
    `/asking/sse?sid=${encodeURIComponent(`"${'x'.repeat(300)}"`)}`,
    ALLOW_ALL,
  );
  await connection(orgA, slugs.glob, '/asking/sse', [
    { tool: 'echo', action: 'allow' },
    { tool: 'response:*', action: 'allow' },
  ]);
  await connection(orgA, slugs.echoOnly, '/asking/sse', [{ tool: 'echo', action: 'allow' }]);
  await connection(orgA, slugs.deny, '/asking/sse', [
    { tool: 'response:sampling/createMessage', action: 'deny', reason: 'no sampling answers' },
    { tool: '*', action: 'allow' },
  ]);
  await connection(orgA, slugs.dlp, '/asking/sse', ALLOW_ALL, {
    inspection: { packs: ['secrets-default'], overrides: { rules: { 'secret.aws_access_key_id': 'block' } } },
  });
  // `approve` reaching responses through a glob (a `response:` rule cannot say approve: refused at save).
  await connection(orgA, slugs.approve, '/asking/sse', [
    { tool: 'echo', action: 'allow' },
    { tool: '*', action: 'approve', reason: 'everything else waits for a person' },
  ]);
  // Session taint asking for an approval (`onTaint: "approve"`) on the rule a response matches.
  await connection(orgA, slugs.taint, '/asking/sse', [
    { tool: 'echo', action: 'allow', labels: ['untrusted_input'] },
    { tool: 'response:*', action: 'allow', cleanOf: ['untrusted_input'], onTaint: 'approve' },
    { tool: '*', action: 'allow' },
  ]);
  await connection(orgA, slugs.open, '/asking/sse', ALLOW_ALL, { failMode: 'open' });
  // Another organization, with a connection of the same slug to the same upstream.
  await connection(orgB, slugs.sse, '/asking/sse', ALLOW_ALL);
});

type Message = Record<string, unknown>;

function headersFor(session: string | null, agent: string, trace: string): Record<string, string> {
  return {
    Accept: ACCEPT_BOTH,
    'User-Agent': agent,
    'X-Igris-Trace-Id': trace,
    ...(session ? { 'Mcp-Session-Id': session } : {}),
  };
}

/** A tools/call whose answer carries the upstream's server request; returns what the caller got. */
async function ask(slug: string, session: string | null, org = orgA) {
  const trace = traceId('resp-ask');
  const res = await call('POST', `/v1/mcp/${slug}`, {
    key: org.key,
    body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } },
    headers: headersFor(session, uniqueAgent('resp-ask'), trace),
  });
  expect(res.status).toBe(200);
  const all = await messages(res);
  return { all, asked: all.find((m) => typeof m.method === 'string' && 'id' in m), trace };
}

/** The client's POST (a response, a batch, a notification); what the upstream received, and the rows. */
async function answer(slug: string, body: unknown, session: string | null, org = orgA) {
  const agent = uniqueAgent('resp-answer');
  const trace = traceId('resp-answer');
  const res = await call('POST', `/v1/mcp/${slug}`, {
    key: org.key,
    body,
    headers: headersFor(session, agent, trace),
  });
  const text = await res.text();
  const received = (await receivedBy(agent)).map((r) => JSON.parse(r.body) as unknown);
  const rows: AuditRow[] = await auditFor(trace);
  return { status: res.status, text, received, rows };
}

const sampled = (id: unknown, text = 'a fine answer') => ({
  jsonrpc: '2.0',
  id,
  result: { role: 'assistant', model: 'fake', content: { type: 'text', text } },
});
const session = (label: string) => `sess-${label}-${RUN}-${Math.random().toString(36).slice(2)}`;

/** The `[method, originalId]` a minted id's payload carries (its nonce left out). */
const requestIn = (minted: string) =>
  (JSON.parse(atob(minted.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as unknown[]).slice(0, 2);

function expectMinted(id: unknown): asserts id is string {
  expect(typeof id).toBe('string');
  expect(id as string).toMatch(/^igsr2\.[A-Za-z0-9_-]+\.[0-9a-z]+\.[A-Za-z0-9_-]{24}$/);
}

describe('server requests get minted ids', () => {
  it('on a POST SSE answer; the response is allowed by `*` and reaches the upstream with the original numeric id', async () => {
    const sess = session('sse');
    const { all, asked } = await ask(slugs.sse, sess);
    expect(asked).toMatchObject({ method: 'sampling/createMessage' });
    expectMinted(asked!.id);
    // The call's own result keeps its id.
    expect(all.find((m) => 'result' in m)).toMatchObject({ id: 1 });

    const { status, text, received, rows } = await answer(slugs.sse, sampled(asked!.id), sess);
    expect(status).toBe(202);
    expect(text).toBe('');
    expect(received).toEqual([sampled(7)]);
    expect(typeof (received[0] as Message).id).toBe('number');
    expect(JSON.stringify(received)).not.toContain('igsr1');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      method: 'response',
      tool: 'response:sampling/createMessage',
      action: 'allow',
      error_code: null,
    });
  });

  it('keeps a string id a string', async () => {
    const sess = session('str');
    const { asked } = await ask(slugs.strId, sess);
    expectMinted(asked!.id);
    const { status, received } = await answer(slugs.strId, sampled(asked!.id), sess);
    expect(status).toBe(202);
    expect(received).toEqual([sampled('s-1')]);
  });

  it('on the GET stream, resumed or not', async () => {
    const sess = session('get');
    const res = await call('GET', `/v1/mcp/${slugs.sse}`, {
      key: orgA.key,
      headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': sess },
    });
    expect(res.status).toBe(200);
    const [asked] = await new SseReader(res).all();
    expect(asked).toMatchObject({ method: 'sampling/createMessage' });
    expectMinted(asked!.id);
    // A resumed stream replaying the same request mints it again: the same request (the payload's
    // method and id), with its own nonce — each minted id is answerable once (see 'each minted id is
    // answered once').
    const resumed = await call('GET', `/v1/mcp/${slugs.sse}`, {
      key: orgA.key,
      headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': sess, 'Last-Event-ID': 'evt-1' },
    });
    const replayed = (await new SseReader(resumed).all())[0]?.id;
    expectMinted(replayed);
    expect(requestIn(replayed)).toEqual(['sampling/createMessage', 7]);
    expect(requestIn(asked!.id as string)).toEqual(['sampling/createMessage', 7]);
    expect(replayed).not.toBe(asked!.id);
    const { status, received, rows } = await answer(slugs.sse, sampled(asked!.id), sess);
    expect(status).toBe(202);
    expect(received).toEqual([sampled(7)]);
    expect(rows[0]).toMatchObject({ tool: 'response:sampling/createMessage', action: 'allow' });
  });

  it('in a JSON batch body (the result item untouched)', async () => {
    const sess = session('json');
    const { all, asked } = await ask(slugs.json, sess);
    expect(all).toHaveLength(2);
    expect(asked).toMatchObject({ method: 'roots/list' });
    expectMinted(asked!.id);
    expect(all[1]).toEqual({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'asked' }] } });
    const roots = { jsonrpc: '2.0', id: asked!.id, result: { roots: [] } };
    const { status, received, rows } = await answer(slugs.json, roots, sess);
    expect(status).toBe(202);
    expect(received).toEqual([{ ...roots, id: 7 }]);
    expect(rows[0]).toMatchObject({ tool: 'response:roots/list', action: 'allow' });
  });

  it('with \\u-escaped keys', async () => {
    const sess = session('esc');
    const { asked } = await ask(slugs.escaped, sess);
    expect(asked).toMatchObject({ method: 'ping' });
    expectMinted(asked!.id);
    const { status, received, rows } = await answer(
      slugs.escaped,
      { jsonrpc: '2.0', id: asked!.id, result: {} },
      sess,
    );
    expect(status).toBe(202);
    expect(received).toEqual([{ jsonrpc: '2.0', id: 7, result: {} }]);
    expect(rows[0]).toMatchObject({ tool: 'response:ping' });
  });

  it('but not in an answer with only a result and a notification (passed byte for byte)', async () => {
    const res = await call('POST', `/v1/mcp/${slugs.plain}`, {
      key: orgA.key,
      body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } },
      headers: { Accept: ACCEPT_BOTH },
    });
    const text = await res.text();
    expect(text).not.toContain('igsr1');
    const note = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'hi' } };
    const result = { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'asked' }] } };
    expect(text).toContain(`data: ${JSON.stringify(note)}\n`);
    expect(text).toContain(`data: ${JSON.stringify(result)}\n`);
  });

  it('drops a server request whose id is too long to mint (fail closed), recording why', async () => {
    const { all, asked, trace } = await ask(slugs.longId, session('long'));
    expect(asked).toBeUndefined();
    expect(all).toEqual([{ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'asked' }] } }]);
    let details = '';
    for (let i = 0; i < 50 && !details.includes('server_request_dropped'); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      details = (await auditFor(trace))[0]?.details ?? '';
    }
    expect(details).toContain('server_request_dropped');
    expect(details).toContain('id_not_mintable');
  });
});

describe('client responses are decided as response:<method>', () => {
  it('a `response:*` rule allows them; with no rule for them, the default deny refuses', async () => {
    const sess = session('glob');
    const { asked } = await ask(slugs.glob, sess);
    const allowed = await answer(slugs.glob, sampled(asked!.id), sess);
    expect(allowed.status).toBe(202);
    expect(allowed.received).toEqual([sampled(7)]);
    expect(allowed.rows[0]).toMatchObject({
      tool: 'response:sampling/createMessage',
      action: 'allow',
      rule_index: 1,
    });

    const other = session('echo-only');
    const { asked: again } = await ask(slugs.echoOnly, other);
    const denied = await answer(slugs.echoOnly, sampled(again!.id), other);
    expect(denied.status).toBe(403);
    expect(denied.text).toBe('');
    expect(denied.received).toEqual([]);
    expect(denied.rows[0]).toMatchObject({
      tool: 'response:sampling/createMessage',
      action: 'deny',
      error_code: 'policy_denied',
    });
  });

  it('a deny rule on response:sampling/createMessage refuses the response; it never reaches the upstream', async () => {
    const sess = session('deny');
    const { asked } = await ask(slugs.deny, sess);
    expectMinted(asked!.id);
    const { status, text, received, rows } = await answer(slugs.deny, sampled(asked!.id), sess);
    expect(status).toBe(403);
    expect(text).toBe('');
    expect(received).toEqual([]);
    expect(rows[0]).toMatchObject({
      method: 'response',
      tool: 'response:sampling/createMessage',
      action: 'deny',
      error_code: 'policy_denied',
      rule_index: 0,
    });
  });

  it('a DLP block rule refuses a response whose result carries an API key, naming the rule, never the key', async () => {
    const sess = session('dlp');
    const { asked } = await ask(slugs.dlp, sess);
    const blocked = await answer(slugs.dlp, sampled(asked!.id, `use ${AWS_KEY} for it`), sess);
    expect(blocked.status).toBe(400);
    expect(blocked.text).toBe('');
    expect(blocked.received).toEqual([]);
    expect(blocked.rows[0]).toMatchObject({
      tool: 'response:sampling/createMessage',
      action: 'deny',
      error_code: 'content_blocked',
    });
    expect(blocked.rows[0]!.details).toContain('secret.aws_access_key_id');
    expect(blocked.rows[0]!.details).toContain('$.result.content.text');
    expect(blocked.rows[0]!.details).not.toContain(AWS_KEY);
    // The same response without the key passes.
    const clean = await answer(slugs.dlp, sampled(asked!.id), sess);
    expect(clean.status).toBe(202);
    expect(clean.received).toEqual([sampled(7)]);
  });

  it('an error response is inspected too (error.message and error.data)', async () => {
    const sess = session('dlp-error');
    const { asked } = await ask(slugs.dlp, sess);
    const body = {
      jsonrpc: '2.0',
      id: asked!.id,
      error: { code: -1, message: 'no', data: { key: AWS_KEY } },
    };
    const blocked = await answer(slugs.dlp, body, sess);
    expect(blocked.status).toBe(400);
    expect(blocked.received).toEqual([]);
    expect(blocked.rows[0]).toMatchObject({ error_code: 'content_blocked' });
    expect(blocked.rows[0]!.details).toContain('$.error.data.key');
  });
});

describe('a response that answers no server request of this session is refused, never forwarded', () => {
  async function expectRefused(
    slug: string,
    body: unknown,
    sess: string | null,
    reason: 'unsolicited' | 'invalid',
    org = orgA,
  ) {
    const { status, text, received, rows } = await answer(slug, body, sess, org);
    expect(status).toBe(400);
    expect(text).toBe('');
    expect(received).toEqual([]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      method: 'response',
      action: 'error',
      error_code: 'unsolicited_response',
    });
    expect(JSON.parse(rows[0]!.details!).refusal).toMatch(/^Not forwarded: /);
    expect(rows[0]!.details).toContain(
      reason === 'unsolicited' ? 'answers no request' : 'not issued by the gateway for this connection',
    );
  }

  it('unsolicited: an id the gateway never minted', async () => {
    const sess = session('unsolicited');
    await expectRefused(slugs.sse, sampled(7), sess, 'unsolicited');
    await expectRefused(slugs.sse, sampled('srv-1'), sess, 'unsolicited');
    await expectRefused(
      slugs.sse,
      { jsonrpc: '2.0', id: null, error: { code: -1, message: 'x' } },
      null,
      'unsolicited',
    );
  });

  it('forged or altered ids', async () => {
    const sess = session('forged');
    const { asked } = await ask(slugs.sse, sess);
    const minted = asked!.id as string;
    const last = minted.at(-1) === 'A' ? 'B' : 'A';
    await expectRefused(slugs.sse, sampled(`${minted.slice(0, -1)}${last}`), sess, 'invalid');
    const payload = minted.split('.')[1]!;
    const otherPayload = btoa(JSON.stringify(['sampling/createMessage', 8])).replace(/=+$/, '');
    await expectRefused(slugs.sse, sampled(minted.replace(payload, otherPayload)), sess, 'invalid');
    await expectRefused(slugs.sse, sampled('igsr1.WyJwaW5nIiw3XQ.AAAAAAAAAAAAAAAAAAAAAAAA'), sess, 'invalid');
    // The genuine id still works.
    expect((await answer(slugs.sse, sampled(minted), sess)).received).toEqual([sampled(7)]);
  });

  it("another session's id, or a session's id without the session", async () => {
    const sess = session('mine');
    const { asked } = await ask(slugs.sse, sess);
    await expectRefused(slugs.sse, sampled(asked!.id), session('theirs'), 'invalid');
    await expectRefused(slugs.sse, sampled(asked!.id), null, 'invalid');
    const { asked: sessionless } = await ask(slugs.sse, null);
    await expectRefused(slugs.sse, sampled(sessionless!.id), sess, 'invalid');
    expect((await answer(slugs.sse, sampled(sessionless!.id), null)).received).toEqual([sampled(7)]);
  });

  it("another caller's id: another key of the same organization, on the same connection and session", async () => {
    const other = await createApiKeyVia(orgA.key, `resp-other-${RUN}`, 'admin');
    const sess = session('caller');
    const { asked } = await ask(slugs.sse, sess);
    await expectRefused(slugs.sse, sampled(asked!.id), sess, 'invalid', { ...orgA, key: other.key });
    const { asked: theirs } = await ask(slugs.sse, sess, { ...orgA, key: other.key });
    await expectRefused(slugs.sse, sampled(theirs!.id), sess, 'invalid');
    expect(
      (await answer(slugs.sse, sampled(theirs!.id), sess, { ...orgA, key: other.key })).received,
    ).toEqual([sampled(7)]);
  });

  it("another connection's id, and another organization's (same slug, same session)", async () => {
    const sess = session('conn');
    const { asked } = await ask(slugs.sse, sess);
    await expectRefused(slugs.other, sampled(asked!.id), sess, 'invalid');
    await expectRefused(slugs.sse, sampled(asked!.id), sess, 'invalid', orgB);
    const { asked: theirs } = await ask(slugs.sse, sess, orgB);
    await expectRefused(slugs.sse, sampled(theirs!.id), sess, 'invalid', orgA);
  });

  it('in a batch, one bad response refuses the batch: nothing reaches the upstream', async () => {
    const sess = session('batch');
    const { asked } = await ask(slugs.sse, sess);
    const { status, text, received, rows } = await answer(slugs.sse, [sampled(asked!.id), sampled(7)], sess);
    expect(status).toBe(400);
    expect(text).toBe('');
    expect(received).toEqual([]);
    expect(rows.map((r) => [r.tool, r.error_code])).toEqual([
      ['response:sampling/createMessage', 'bad_request'],
      [null, 'unsolicited_response'],
    ]);
  });
});

describe('notifications/cancelled naming a server request', () => {
  it('reaches the upstream with the original id; an altered minted id refuses it', async () => {
    const sess = session('cancel');
    const { asked } = await ask(slugs.sse, sess);
    const cancel = (requestId: unknown) => ({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId, reason: 'user closed it' },
    });
    const ok = await answer(slugs.sse, cancel(asked!.id), sess);
    expect(ok.status).toBe(202);
    expect(ok.received).toEqual([cancel(7)]);
    const altered = `${(asked!.id as string).slice(0, -2)}xx`;
    const refused = await answer(slugs.sse, cancel(altered), sess);
    expect(refused.status).toBe(400);
    expect(refused.received).toEqual([]);
    expect(refused.rows[0]).toMatchObject({
      method: 'notifications/cancelled',
      error_code: 'unsolicited_response',
    });
    // The client cancelling its own request (an id the gateway did not mint) passes as before.
    expect((await answer(slugs.sse, cancel(3), sess)).received).toEqual([cancel(3)]);
  });
});

describe('each minted id is answered once', () => {
  const refusedAs = (
    result: Awaited<ReturnType<typeof answer>>,
    reason: 'answered' | 'expired',
    rows = 1,
  ) => {
    expect(result.status).toBe(400);
    expect(result.text).toBe('');
    expect(result.received).toEqual([]);
    expect(result.rows).toHaveLength(rows);
    for (const row of result.rows) {
      expect(row).toMatchObject({ action: 'error', error_code: 'unsolicited_response' });
      const details = JSON.parse(row.details!) as { refusal: string; reason?: string };
      expect(details.refusal).toMatch(/^Not forwarded: /);
      expect(details.refusal).toContain(
        reason === 'answered' ? 'already answered or cancelled' : 'its id expired',
      );
    }
  };

  it('a second POST of the same response is refused like an unsolicited one, never forwarded', async () => {
    const sess = session('replay');
    const { asked } = await ask(slugs.sse, sess);
    const first = await answer(slugs.sse, sampled(asked!.id), sess);
    expect(first.status).toBe(202);
    expect(first.received).toEqual([sampled(7)]);
    const again = await answer(slugs.sse, sampled(asked!.id, 'a different answer'), sess);
    refusedAs(again, 'answered');
    expect(again.rows[0]).toMatchObject({ method: 'response', tool: 'response:sampling/createMessage' });
    expect(JSON.parse(again.rows[0]!.details!).reason).toBe('answered');
  });

  it('two copies POSTed at once: exactly one reaches the upstream (the guard serializes them)', async () => {
    const sess = session('race');
    const { asked } = await ask(slugs.sse, sess);
    const both = await Promise.all([
      answer(slugs.sse, sampled(asked!.id), sess),
      answer(slugs.sse, sampled(asked!.id), sess),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([202, 400]);
    expect(both.flatMap((r) => r.received)).toEqual([sampled(7)]);
    refusedAs(both.find((r) => r.status === 400)!, 'answered');
  });

  it('a batch answering the same id twice is refused whole; the id is not spent by it', async () => {
    const sess = session('batch-twice');
    const { asked } = await ask(slugs.sse, sess);
    const twice = await answer(slugs.sse, [sampled(asked!.id), sampled(asked!.id, 'again')], sess);
    refusedAs(twice, 'answered', 2);
    // Nothing was forwarded, so nothing was answered: the single response still passes, once.
    expect((await answer(slugs.sse, sampled(asked!.id), sess)).received).toEqual([sampled(7)]);
    refusedAs(await answer(slugs.sse, [sampled(asked!.id)], sess), 'answered');
  });

  it('a cancelled server request cannot be answered, nor cancelled again', async () => {
    const sess = session('cancel-once');
    const { asked } = await ask(slugs.sse, sess);
    const cancel = (requestId: unknown) => ({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId, reason: 'user closed it' },
    });
    expect((await answer(slugs.sse, cancel(asked!.id), sess)).received).toEqual([cancel(7)]);
    refusedAs(await answer(slugs.sse, sampled(asked!.id), sess), 'answered');
    const twice = await answer(slugs.sse, cancel(asked!.id), sess);
    expect(twice.status).toBe(400);
    expect(twice.received).toEqual([]);
    expect(twice.rows[0]).toMatchObject({
      method: 'notifications/cancelled',
      error_code: 'unsolicited_response',
    });
  });

  it('other sessions and callers are unaffected: their ids for the same server request id still answer', async () => {
    const mine = session('once-mine');
    const theirs = session('once-theirs');
    const { asked } = await ask(slugs.sse, mine);
    const { asked: other } = await ask(slugs.sse, theirs);
    const { asked: sessionless } = await ask(slugs.sse, null);
    expect((await answer(slugs.sse, sampled(asked!.id), mine)).received).toEqual([sampled(7)]);
    expect((await answer(slugs.sse, sampled(other!.id), theirs)).received).toEqual([sampled(7)]);
    expect((await answer(slugs.sse, sampled(sessionless!.id), null)).received).toEqual([sampled(7)]);
    // Another organization's connection of the same slug keeps its own record.
    const { asked: orgBs } = await ask(slugs.sse, mine, orgB);
    expect((await answer(slugs.sse, sampled(orgBs!.id), mine, orgB)).received).toEqual([sampled(7)]);
    refusedAs(await answer(slugs.sse, sampled(asked!.id), mine), 'answered');
  });

  it('two sessionless calls in the same second, whose server requests share an id, are two answerable ids', async () => {
    // A sessionless upstream numbers each call's server requests afresh (the demo's is always 7):
    // minted in the same second, the two ids were one, and the second answer was refused.
    const issued = (id: string) => id.split('.')[2];
    let pair: [string, string] | undefined;
    for (let attempt = 0; attempt < 5 && !pair; attempt++) {
      const { asked: first } = await ask(slugs.sse, null);
      const { asked: second } = await ask(slugs.sse, null);
      expectMinted(first!.id);
      expectMinted(second!.id);
      if (issued(first!.id) === issued(second!.id)) pair = [first!.id, second!.id];
    }
    expect(pair, 'no two asks landed in the same second in 5 tries').toBeDefined();
    expect(pair![0]).not.toBe(pair![1]);
    expect((await answer(slugs.sse, sampled(pair![0]), null)).received).toEqual([sampled(7)]);
    expect((await answer(slugs.sse, sampled(pair![1]), null)).received).toEqual([sampled(7)]);
    refusedAs(await answer(slugs.sse, sampled(pair![1]), null), 'answered');
  });

  it('an id older than its lifetime is refused as expired; one issued now by the same key passes', async () => {
    const sess = session('expired');
    const connectionId = await env.DB.prepare('SELECT id FROM connections WHERE org_id = ? AND slug = ?')
      .bind(orgA.orgId, slugs.sse)
      .first<string>('id');
    const keyId = await env.DB.prepare('SELECT id FROM api_keys WHERE org_id = ?')
      .bind(orgA.orgId)
      .first<string>('id');
    const binding = {
      orgId: orgA.orgId,
      connectionId: connectionId!,
      sessionId: sess,
      caller: `key:${keyId}`,
    };
    const [key] = serverIdKeys(env);
    const old = mintServerId(
      key!,
      binding,
      'sampling/createMessage',
      7,
      Date.now() - SERVER_ID_LIFETIME_MS - 1000,
    );
    const future = mintServerId(key!, binding, 'sampling/createMessage', 7, Date.now() + 10 * 60_000);
    const fresh = mintServerId(key!, binding, 'sampling/createMessage', 7);
    refusedAs(await answer(slugs.sse, sampled(old), sess), 'expired');
    refusedAs(await answer(slugs.sse, sampled(future), sess), 'expired');
    const ok = await answer(slugs.sse, sampled(fresh), sess);
    expect(ok.status).toBe(202);
    expect(ok.received).toEqual([sampled(7)]);
  });
});

describe('approve does not apply to responses (docs/policies.md): refused clearly, never held', () => {
  it('a policy with approve on response:<method> is refused at save time, naming why', async () => {
    for (const tool of ['response:elicitation/create', 'response:sampling/createMessage', 'Response:*']) {
      const res = await call('PUT', `/api/v1/connections/${slugs.approve}/policy`, {
        key: orgA.key,
        body: { rules: [{ tool, action: 'approve' }] },
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('does not apply to response:<method>');
    }
  });

  it('a response an approve glob matches is refused (403, no body), as a deny naming why; no approval is made', async () => {
    const sess = session('approve');
    const { asked } = await ask(slugs.approve, sess);
    expectMinted(asked!.id);
    const held = await answer(slugs.approve, sampled(asked!.id), sess);
    expect(held.status).toBe(403);
    expect(held.text).toBe('');
    expect(held.received).toEqual([]);
    expect(held.rows[0]).toMatchObject({
      method: 'response',
      tool: 'response:sampling/createMessage',
      action: 'deny',
      error_code: 'policy_denied',
      rule_index: 1,
    });
    expect(JSON.parse(held.rows[0]!.details!).reason).toMatch(/^approve does not apply to a response/);
    const approvals = await call('GET', '/api/v1/approvals?status=pending', { key: orgA.key });
    expect(approvals.status).toBe(200);
    expect(((await approvals.json()) as { approvals: unknown[] }).approvals).toEqual([]);
    // Refused, so not spent: under a policy that allows it, the same answer would still pass.
  });

  it('a tainted session refuses a response whose rule says onTaint "approve", rather than holding it', async () => {
    const sess = session('taint');
    // The asking tool call (`echo`) labels the session untrusted_input; its answer carries the request.
    const { asked } = await ask(slugs.taint, sess);
    expectMinted(asked!.id);
    const refused = await answer(slugs.taint, sampled(asked!.id), sess);
    expect(refused.status).toBe(403);
    expect(refused.text).toBe('');
    expect(refused.received).toEqual([]);
    expect(refused.rows[0]).toMatchObject({
      method: 'response',
      tool: 'response:sampling/createMessage',
      action: 'deny',
      error_code: 'policy_denied',
    });
    expect(JSON.parse(refused.rows[0]!.details!)).toMatchObject({ taint: ['untrusted_input'] });
    const approvals = await call('GET', '/api/v1/approvals?status=pending', { key: orgA.key });
    expect(((await approvals.json()) as { approvals: unknown[] }).approvals).toEqual([]);
  });
});

describe('client-hosted tasks: a task-augmented server request answered with a task handle', () => {
  it("makes the task its caller's: their status notifications pass, another caller's and unknown ids do not", async () => {
    const sess = session('client-task');
    const { asked } = await ask(slugs.sse, sess);
    const taskId = `ct-${RUN}-${Math.random().toString(36).slice(2)}`;
    const at = new Date().toISOString();
    const task = { taskId, status: 'working', createdAt: at, lastUpdatedAt: at, ttl: 60_000 };
    const created = await answer(slugs.sse, { jsonrpc: '2.0', id: asked!.id, result: { task } }, sess);
    expect(created.status).toBe(202);
    expect(created.received).toEqual([{ jsonrpc: '2.0', id: 7, result: { task } }]);

    const status = (id: string) => ({
      jsonrpc: '2.0',
      method: 'notifications/tasks/status',
      params: { ...task, taskId: id, status: 'completed' },
    });
    const mine = await answer(slugs.sse, status(taskId), sess);
    expect(mine.status).toBe(202);
    expect(mine.received).toEqual([status(taskId)]);

    // Another key of the same organization, same connection and session: refused, never forwarded.
    const other = await createApiKeyVia(orgA.key, `resp-ct-${RUN}`, 'admin');
    const theirs = await answer(slugs.sse, status(taskId), sess, { ...orgA, key: other.key });
    expect([theirs.status, theirs.text, theirs.received]).toEqual([400, '', []]);
    expect(theirs.rows[0]).toMatchObject({ action: 'deny', error_code: 'task_not_found' });
    const nowhere = await answer(slugs.sse, status(`no-such-${taskId}`), sess);
    expect([nowhere.status, nowhere.received]).toEqual([400, []]);
    // A client-hosted task is not a server task of its caller: tasks/get naming it is refused.
    const get = await answer(
      slugs.sse,
      { jsonrpc: '2.0', id: 9, method: 'tasks/get', params: { taskId } },
      sess,
    );
    expect(get.received).toEqual([]);
    expect(get.rows[0]).toMatchObject({ error_code: 'task_not_found' });
  });

  it('a refused answer (denied by policy) records no task', async () => {
    const sess = session('client-task-denied');
    const { asked } = await ask(slugs.deny, sess);
    const at = new Date().toISOString();
    const taskId = `ct-denied-${RUN}`;
    const task = { taskId, status: 'working', createdAt: at, lastUpdatedAt: at, ttl: 60_000 };
    const denied = await answer(slugs.deny, { jsonrpc: '2.0', id: asked!.id, result: { task } }, sess);
    expect(denied.status).toBe(403);
    const status = {
      jsonrpc: '2.0',
      method: 'notifications/tasks/status',
      params: { ...task, status: 'completed' },
    };
    const refused = await answer(slugs.deny, status, sess);
    expect([refused.status, refused.received]).toEqual([400, []]);
  });
});

describe('the guard unreachable, on a fail-open connection', () => {
  /** ConnectionGuard as if its objects could not be reached: every stub's call rejects. */
  const down = () => Promise.reject(new Error('guard unreachable'));
  const unreachable = {
    idFromName: (name: string) => env.GUARD.idFromName(name),
    get: () => ({ admit: down, complete: down, completeMany: down, watchKill: down, unwatch: down }),
  } as unknown as Env['GUARD'];

  async function postGuardDown(body: unknown, sess: string) {
    const agent = uniqueAgent('resp-open');
    const request = new Request(`http://localhost/v1/mcp/${slugs.open}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${orgA.key}`,
        'Content-Type': 'application/json',
        ...headersFor(sess, agent, traceId('resp-open')),
      },
      body: JSON.stringify(body),
    });
    const ctx = createExecutionContext();
    const res = await worker.fetch(request, { ...env, GUARD: unreachable }, ctx);
    const text = await res.text();
    await waitOnExecutionContext(ctx);
    return { status: res.status, text, received: await receivedBy(agent) };
  }

  it('an answer to a server request is refused (503): only the guard knows it was not answered before', async () => {
    const sess = session('open');
    const { asked } = await ask(slugs.open, sess);
    expectMinted(asked!.id);
    const refused = await postGuardDown(sampled(asked!.id), sess);
    expect(refused.status).toBe(503);
    expect(refused.received).toEqual([]);
    // Fail-open still holds for a call that answers nothing.
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } };
    const passed = await postGuardDown(call, sess);
    expect(passed.status).toBe(200);
    expect(passed.received).toHaveLength(1);
  });
});
