/**
 * The two remote reads with caps of their own — an A2A AgentCard fetched by URL (a2a.card.ts
 * MAX_CARD_BYTES) and a scanned MCP server's answers (scans.client.ts BODY_CAP) — read by the
 * shared reader (lib/http.bounded.ts), against the real local server that pads one answer
 * (test/shared/oversize.fake.ts): over the cap refused, with and without a Content-Length; within
 * it accepted; and a declared Content-Length over the cap refused before a byte of the body is
 * written (`held`: the fake holds the body back until the connection is dropped), which a reader
 * that counts while it reads cannot do — it waits for the body.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_CARD_BYTES } from '../../workers/a2a/a2a.card';
import { randomId } from '../../workers/lib/ids';
import { BODY_CAP } from '../../workers/scans/scans.client';
import type { OversizeLogEntry } from '../shared/oversize.fake';
import { call, createOrg, expectApiError, json, type TestOrg } from './helpers';

const KIB = 1024;
const FRAMINGS = ['declared', 'streamed'] as const;
type Framing = (typeof FRAMINGS)[number] | 'held';

/** The fake's URL prefix for one run: `padded` answers are at least `bytes` long. */
function remote(padded: string, bytes: number, framing: Framing): { run: string; prefix: string } {
  const run = randomId('r').slice(-10).toLowerCase();
  return { run, prefix: `${env.OVERSIZE_URL}/r/${run}/${padded}/${bytes}/${framing}` };
}

async function fakeLog(run: string): Promise<OversizeLogEntry[]> {
  return (await fetch(`${env.OVERSIZE_URL}/_log?run=${run}`)).json();
}

/** The padded answer's exchange, once it is over (finished, or the connection dropped). */
async function paddedExchange(run: string): Promise<OversizeLogEntry> {
  await expect.poll(async () => (await fakeLog(run)).find((e) => e.padded)?.closed).toBe(true);
  return (await fakeLog(run)).find((e) => e.padded)!;
}

let org: TestOrg;

beforeAll(async () => {
  org = await createOrg('owner');
});

describe('A2A: an AgentCard fetched by URL', () => {
  const createAgent = (slug: string, agentCardUrl: string) =>
    call('POST', '/api/v1/connections', {
      key: org.key,
      body: { slug, name: slug, type: 'a2a', agentCardUrl, authType: 'none' },
    });
  const slug = () => `card-${randomId('s').slice(-8).toLowerCase()}`;

  async function expectCardRefused(res: Response, agent: string): Promise<void> {
    const error = await expectApiError(res, 400, 'validation_failed');
    expect(error.details).toMatchObject({
      issues: [{ location: 'body', path: 'agentCardUrl', rule: 'agent_card_size' }],
    });
    // Nothing was created.
    expect((await call('GET', `/api/v1/connections/${agent}`, { key: org.key })).status).toBe(404);
  }

  it.each(FRAMINGS)('refuses a card over the cap (%s), accepts one within', async (framing) => {
    const over = remote('card', MAX_CARD_BYTES + KIB, framing);
    const refused = slug();
    await expectCardRefused(
      await createAgent(refused, `${over.prefix}/.well-known/agent-card.json`),
      refused,
    );

    const within = remote('card', MAX_CARD_BYTES - 8 * KIB, framing);
    const accepted = slug();
    const res = await createAgent(accepted, `${within.prefix}/.well-known/agent-card.json`);
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await json<{ upstreamUrl: string }>(res)).toMatchObject({ upstreamUrl: `${within.prefix}/a2a` });
  });

  it('refuses a declared Content-Length over the cap before the body is written, dropping the connection', async () => {
    const over = remote('card', MAX_CARD_BYTES + KIB, 'held');
    const refused = slug();
    await expectCardRefused(
      await createAgent(refused, `${over.prefix}/.well-known/agent-card.json`),
      refused,
    );
    // The fake held the body back: the gateway hung up on the head alone, without waiting for it.
    expect(await paddedExchange(over.run)).toMatchObject({
      kind: 'card',
      bodyWritten: false,
      finished: false,
    });
  });
});

describe('MCP scanner: a scanned server’s answers', () => {
  interface Scan {
    status: string;
    error: string | null;
    server: { tools: number } | null;
  }
  const scanUrl = async (url: string): Promise<Scan> => {
    const res = await call('POST', '/api/v1/scans', { key: org.key, body: { url } });
    expect(res.status, await res.clone().text()).toBe(201);
    return json<Scan>(res);
  };
  // Was `upstream_unreachable` ("Upstream answer too large" as its message, which a stored scan
  // does not keep): the shared reader's `upstream_too_large` says what happened.
  const refusedScan = { status: 'failed', error: 'upstream_too_large', server: null };

  it.each(FRAMINGS)(
    'fails a scan whose tools/list is over the cap (%s), completes one within',
    async (framing) => {
      const over = remote('tools', BODY_CAP + KIB, framing);
      expect(await scanUrl(`${over.prefix}/mcp`)).toMatchObject(refusedScan);

      const within = remote('tools', BODY_CAP - 16 * KIB, framing);
      expect(await scanUrl(`${within.prefix}/mcp`)).toMatchObject({
        status: 'completed',
        error: null,
        server: { tools: 1 },
      });
    },
  );

  it('refuses a declared Content-Length over the cap before the body is written, dropping the connection', async () => {
    const over = remote('tools', BODY_CAP + KIB, 'held');
    const scan = await scanUrl(`${over.prefix}/mcp`);
    expect(await paddedExchange(over.run)).toMatchObject({
      kind: 'tools',
      bodyWritten: false,
      finished: false,
    });
    expect(scan).toMatchObject(refusedScan);
  });
});
