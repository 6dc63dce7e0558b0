/**
 * Tool-name normalisation through the gateway: look-alike spellings of a denied tool hit its rule
 * and never reach the upstream; an allowed call reaches it with the name exactly as the caller
 * sent it (normalisation is for matching only), and the audit row records that original name.
 * Names holding whitespace, control or invisible characters are refused before any decision
 * (-32602), whatever the policy allows: a lenient upstream would trim them into a denied tool.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_LISTEN_URIS } from '../../workers/gateway/gateway.decide';
import { auditFor, traceId } from './gateway.fixtures';
import { call, createOrg, expectJson, putPolicy, type TestOrg } from './helpers';
import { receivedBy, recordedUpstream, uniqueAgent } from './upstream.log';

const SLUG = `names-${Date.now().toString(36)}`;
const ECHO_DENIED = `${SLUG}-echo`;
let org: TestOrg;

beforeAll(async () => {
  org = await createOrg('owner');
  await expectJson(
    await call('POST', '/api/v1/connections', {
      key: org.key,
      body: { slug: SLUG, name: SLUG, upstreamUrl: recordedUpstream(), authType: 'none' },
    }),
    201,
  );
  await putPolicy(
    SLUG,
    [
      { tool: 'delete_*', action: 'deny', reason: 'no deletions' },
      { tool: 'Echo', action: 'allow' },
    ],
    org.key,
  );
  await expectJson(
    await call('POST', '/api/v1/connections', {
      key: org.key,
      body: { slug: ECHO_DENIED, name: ECHO_DENIED, upstreamUrl: recordedUpstream(), authType: 'none' },
    }),
    201,
  );
  await putPolicy(
    ECHO_DENIED,
    [
      { tool: 'echo', action: 'deny', reason: 'no echo' },
      { tool: '*', action: 'allow' },
    ],
    org.key,
  );
});

async function callTool(name: string, slug = SLUG) {
  const agent = uniqueAgent('names');
  const trace = traceId('names');
  const res = await call('POST', `/v1/mcp/${slug}`, {
    key: org.key,
    body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: { message: 'hi' } } },
    headers: {
      Accept: 'application/json, text/event-stream',
      'User-Agent': agent,
      'X-Igris-Trace-Id': trace,
    },
  });
  const text = await res.text();
  return { status: res.status, text, received: await receivedBy(agent), rows: await auditFor(trace) };
}

describe('look-alike tool names', () => {
  it.each([
    ['capitalised', 'Delete_all'],
    ['Cyrillic е', 'd\u0435lete_all'],
    ['fullwidth', '\uff44\uff45\uff4c\uff45\uff54\uff45_all'],
  ])('%s (%j) hits the delete_* rule and never reaches the upstream', async (_label, name) => {
    const { status, text, received, rows } = await callTool(name);
    expect(status).toBe(200);
    const answer = JSON.parse(text) as {
      error: { code: number; data: { details: Record<string, unknown> } };
    };
    expect(answer.error.code).toBe(-32006);
    expect(answer.error.data.details).toMatchObject({ reason: 'no deletions', ruleIndex: 0, tool: name });
    expect(received).toEqual([]);
    expect(rows[0]).toMatchObject({ tool: name, action: 'deny', rule_index: 0 });
  });

  it.each([
    ['as written in the rule', 'Echo'],
    ['lower case', 'echo'],
    ['with a Cyrillic о', 'ech\u043e'],
  ])(
    'an allowed name (%s) reaches the upstream byte for byte as the caller sent it',
    async (_label, name) => {
      const { received, rows } = await callTool(name);
      expect(received).toHaveLength(1);
      const forwarded = received[0]!.body;
      expect(forwarded).toContain(`"name":"${name}"`);
      expect((JSON.parse(forwarded) as { params: { name: string } }).params.name).toBe(name);
      expect(rows[0]).toMatchObject({ tool: name, action: 'allow', rule_index: 1 });
    },
  );
});

describe('names with whitespace, control or invisible characters', () => {
  it.each([
    ['trailing space', 'echo '],
    ['leading space', ' echo'],
    ['tab', 'echo\t'],
    ['no-break space', 'echo\u00a0'],
    ['newline', 'echo\n'],
    ['NUL', 'echo\u0000'],
    ['zero-width space', 'ec\u200bho'],
    ['bidi override', 'ec\u202eho'],
    ['tag character', 'echo\u{e0041}'],
  ])(
    'a %s (%j) is refused with -32602 before any decision, under an allow-all rule',
    async (_label, name) => {
      const { status, text, received, rows } = await callTool(name, ECHO_DENIED);
      expect(status).toBe(400);
      const answer = JSON.parse(text) as { error: { code: number; message: string; data: { code: string } } };
      expect(answer.error.code).toBe(-32602);
      expect(answer.error.data.code).toBe('validation_failed');
      expect(answer.error.message).toBe(
        'tools/call params.name contains whitespace, control or invisible characters: no tool, prompt or resource is named like that',
      );
      expect(received).toEqual([]);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ action: 'error', error_code: 'validation_failed', tool: null });
    },
  );

  it.each([
    ['as written in the rule', 'echo'],
    ['capitalised', 'Echo'],
    ['with a Cyrillic о', 'ech\u043e'],
  ])('the denied tool spelt %s is still denied by its rule', async (_label, name) => {
    const { status, text, received } = await callTool(name, ECHO_DENIED);
    expect(status).toBe(200);
    expect((JSON.parse(text) as { error: { code: number } }).error.code).toBe(-32006);
    expect(received).toEqual([]);
  });

  it('any other name is forwarded by the allow-all rule (the refusals above are not the policy)', async () => {
    const { received } = await callTool('add', ECHO_DENIED);
    expect(received).toHaveLength(1);
  });
});

async function listen(uris: string[]) {
  const agent = uniqueAgent('names-listen');
  const trace = traceId('names-listen');
  const res = await call('POST', `/v1/mcp/${ECHO_DENIED}`, {
    key: org.key,
    body: {
      jsonrpc: '2.0',
      id: 1,
      method: 'subscriptions/listen',
      params: { notifications: { resourceSubscriptions: uris } },
    },
    headers: {
      Accept: 'application/json, text/event-stream',
      'User-Agent': agent,
      'X-Igris-Trace-Id': trace,
    },
  });
  const text = await res.text();
  return { status: res.status, text, received: await receivedBy(agent), rows: await auditFor(trace) };
}

describe('the resource URIs of subscriptions/listen (2026-07-28) are governed names too', () => {
  it.each([
    ['a trailing space', 'file:///notes.txt '],
    ['a zero-width space', 'file:///no\u200btes.txt'],
    ['a NUL', 'file:///notes.txt\u0000'],
    ['513 bytes', `file:///${'n'.repeat(505)}`],
  ])(
    'a URI with %s is refused with -32602 before any decision, under an allow-all rule',
    async (_label, uri) => {
      const { status, text, received, rows } = await listen(['file:///plain.txt', uri]);
      expect(status).toBe(400);
      const answer = JSON.parse(text) as { error: { code: number; message: string; data: { code: string } } };
      expect(answer.error.code).toBe(-32602);
      expect(answer.error.data.code).toBe('validation_failed');
      expect(answer.error.message).toMatch(
        /^subscriptions\/listen params\.notifications\.resourceSubscriptions\[1\] (contains whitespace, control or invisible characters|is longer than 512 bytes): no tool, prompt or resource is named like that$/,
      );
      expect(received).toEqual([]);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ action: 'error', error_code: 'validation_failed', tool: null });
    },
  );

  it('more than MAX_LISTEN_URIS URIs are refused with -32602 before any decision (each URI is one)', async () => {
    const uris = Array.from({ length: MAX_LISTEN_URIS + 1 }, (_, i) => `file:///n${i}`);
    const { status, text, received, rows } = await listen(uris);
    expect(status).toBe(400);
    const answer = JSON.parse(text) as { error: { code: number; message: string; data: { code: string } } };
    expect(answer.error.code).toBe(-32602);
    expect(answer.error.data.code).toBe('validation_failed');
    expect(answer.error.message).toBe(
      `subscriptions/listen names ${MAX_LISTEN_URIS + 1} resources; at most ${MAX_LISTEN_URIS} per request`,
    );
    expect(received).toEqual([]);
    expect(rows).toHaveLength(1);
    // At the bound it is decided and forwarded.
    const atCap = await listen(uris.slice(0, MAX_LISTEN_URIS));
    expect(atCap.received).toHaveLength(1);
  });

  it('plain URIs are decided and forwarded by the allow-all rule', async () => {
    const { received, rows } = await listen(['file:///plain.txt', `file:///${'n'.repeat(504)}`]);
    expect(received).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'allow', tool: 'resource:file:///plain.txt' });
  });
});
