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
 *
 * Continued in gateway.responses.once.test.ts; set-up shared in gateway.responses.fixtures.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCEPT_BOTH, auditFor, SseReader } from './gateway.fixtures';
import {
  AWS_KEY,
  answer,
  ask,
  expectMinted,
  type Message,
  orgA,
  orgB,
  RUN,
  requestIn,
  sampled,
  session,
  setUpResponses,
  slugs,
} from './gateway.responses.fixtures';
import { call, createApiKeyVia } from './helpers';

beforeAll(setUpResponses);

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

describe('an answer that is nothing but a server request the gateway cannot relay', () => {
  // Dropped from a JSON body, nothing was left — and the body used to go out as it came, the
  // unminted request in it. Now the call is refused (502 upstream_invalid_answer) and recorded.
  for (const [label, slug] of [
    ['a lone JSON body', () => slugs.loneLongId],
    ['a JSON batch of it alone', () => slugs.loneBatchLongId],
  ] as const) {
    it(`is refused, not relayed: ${label}`, async () => {
      const trace = `resp-lone-${RUN}-${label.length}`;
      const res = await call('POST', `/v1/mcp/${slug()}`, {
        key: orgA.key,
        body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } },
        headers: { Accept: ACCEPT_BOTH, 'X-Igris-Trace-Id': trace },
      });
      const text = await res.text();
      expect(res.status).toBe(502);
      expect(text).not.toContain('x'.repeat(300));
      expect(text).not.toContain('sampling/createMessage');
      expect(JSON.parse(text)).toMatchObject({ id: 1, error: { code: -32025 } });
      let rows = await auditFor(trace);
      for (let i = 0; i < 50 && !rows[0]?.error_code; i++) {
        await new Promise((r) => setTimeout(r, 100));
        rows = await auditFor(trace);
      }
      expect(rows[0]).toMatchObject({ error_code: 'upstream_invalid_answer' });
      expect(rows[0]!.details).toContain('server_request_dropped');
    });
  }
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
