/**
 * A quarantined tool through the gateway under other spellings (docs/tool-integrity.md): every
 * spelling the policy reads as the same name (case, Cyrillic look-alikes, fullwidth) is refused and
 * never reaches the upstream, as the exact name is; whitespace variants are refused earlier
 * (-32602); other tools still go through.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { auditFor, traceId } from './gateway.fixtures';
import { call, createOrg, expectJson, putPolicy, type TestOrg } from './helpers';
import { receivedBy, recordedUpstream, uniqueAgent } from './upstream.log';

const RUN = Date.now().toString(36);
const SLUG = `int-names-${RUN}`;
let org: TestOrg;

async function rpc(method: string, params: unknown) {
  const agent = uniqueAgent('int-names');
  const trace = traceId('int-names');
  const res = await call('POST', `/v1/mcp/${SLUG}`, {
    key: org.key,
    body: { jsonrpc: '2.0', id: 1, method, params },
    headers: {
      Accept: 'application/json, text/event-stream',
      'User-Agent': agent,
      'X-Igris-Trace-Id': trace,
    },
  });
  const text = await res.text();
  return { status: res.status, text, agent, trace };
}

async function listedTools(): Promise<string[]> {
  const { text } = await rpc('tools/list', {});
  const body = text.startsWith('{') ? text : text.slice(text.indexOf('{'));
  return (JSON.parse(body) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name);
}

beforeAll(async () => {
  org = await createOrg('owner');
  await expectJson(
    await call('POST', '/api/v1/connections', {
      key: org.key,
      body: {
        slug: SLUG,
        name: SLUG,
        upstreamUrl: recordedUpstream(`/mutable?variant=names-${RUN}`),
        authType: 'none',
      },
    }),
    201,
  );
  await putPolicy(SLUG, [{ tool: '*', action: 'allow' }], org.key);
  // The inventory is recorded after the first list answer (waitUntil): wait for it.
  expect(await listedTools()).toContain('echo');
  for (let i = 0; i < 100; i++) {
    const res = await call('GET', `/api/v1/connections/${SLUG}/tools`, { key: org.key });
    const { items } = await expectJson<{ items: unknown[] }>(res, 200);
    if (items.length === 3) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await expectJson(
    await call('POST', `/api/v1/connections/${SLUG}/tools/quarantine`, {
      key: org.key,
      body: { kind: 'tool', name: 'echo', reason: 'under review' },
    }),
    200,
  );
});

describe('a quarantined tool under other spellings', () => {
  it.each([
    ['exactly', 'echo'],
    ['capitalised', 'Echo'],
    ['in upper case', 'ECHO'],
    ['with a Cyrillic о', 'ech\u043e'],
    ['in fullwidth letters', '\uff45\uff43\uff48\uff4f'],
  ])('is refused %s (%j) and never reaches the upstream', async (_label, name) => {
    const { status, text, agent, trace } = await rpc('tools/call', { name, arguments: { message: 'hi' } });
    expect(status).toBe(200);
    expect(JSON.parse(text)).toMatchObject({
      error: { code: -32013, data: { code: 'tool_not_approved', details: { reason: 'quarantined' } } },
    });
    expect(await receivedBy(agent)).toEqual([]);
    const [row] = await auditFor(trace);
    expect(row).toMatchObject({ tool: name, action: 'deny', error_code: 'tool_not_approved' });
  });

  it('with a trailing space is refused before any decision (-32602), never forwarded', async () => {
    const { status, text, agent } = await rpc('tools/call', { name: 'echo ', arguments: {} });
    expect(status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ error: { code: -32602, data: { code: 'validation_failed' } } });
    expect(await receivedBy(agent)).toEqual([]);
  });

  it('leaves the other tools alone: listed and forwarded', async () => {
    expect(await listedTools()).not.toContain('echo');
    expect(await listedTools()).toContain('lookup');
    const { agent } = await rpc('tools/call', { name: 'lookup', arguments: { id: '1' } });
    expect(await receivedBy(agent)).toHaveLength(1);
  });
});
