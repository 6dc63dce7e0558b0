/**
 * Live events end to end (the local runtime, real upstream, plain HTTP SSE clients): every event of a
 * concurrent burst reaches every subscriber in the same order, a subscriber that disconnects
 * resumes with Last-Event-ID without losing or repeating anything, and a subscriber of another
 * organization receives none of it.
 *
 * The second organization is written with `wrangler d1 execute --local` into the running stack's
 * state (there is no organization-creation API, and the Worker has no test-only routes).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOT } from '../../scripts/local-stack.ts';
import { adminKey, ensureConnection, gatewayUrl, setPolicy } from './helpers.ts';
import { dataOf, SseClient, type SseFrame } from './sse.client.ts';

const RUN = randomBytes(4).toString('hex');
const SLUG = 'events-e2e';
const BURST = 300;

/** An organization with an owner and an API key, inserted straight into the local D1. */
function createOrgInD1(): { orgId: string; key: string } {
  const id = (prefix: string) => `${prefix}_e2e${randomBytes(8).toString('hex')}`;
  const orgId = id('org');
  const userId = id('usr');
  const key = `ig_${randomBytes(32).toString('base64url')}`;
  const hash = createHash('sha256').update(key).digest('hex');
  const sql = [
    `INSERT INTO organizations (id, slug, name) VALUES ('${orgId}', 'e2e-${RUN}', 'E2E ${RUN}')`,
    `INSERT INTO users (id, email) VALUES ('${userId}', '${userId}@e2e.local')`,
    `INSERT INTO members (id, org_id, user_id, role) VALUES ('${id('mem')}', '${orgId}', '${userId}', 'owner')`,
    `INSERT INTO api_keys (id, org_id, created_by, name, role, prefix, hash) VALUES ('${id('key')}', '${orgId}', '${userId}', 'e2e', 'owner', '${key.slice(0, 10)}', '${hash}')`,
  ].join('; ');
  const result = spawnSync(
    path.join(ROOT, 'node_modules', '.bin', 'wrangler'),
    ['d1', 'execute', 'DB', '--local', '--persist-to', inject('persistTo'), '--command', sql],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' }, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`wrangler d1 execute failed:\n${result.stdout}\n${result.stderr}`);
  return { orgId, key };
}

async function burst(count: number, concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const res = await fetch(`${gatewayUrl()}/v1/mcp/${SLUG}`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${adminKey()}`,
            'Content-Type': 'application/json',
            Accept: 'application/json, text/event-stream',
            'X-Igris-Trace-Id': `live-${RUN}-${i}`,
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: i,
            method: 'tools/call',
            params: { name: 'echo', arguments: { message: 'live' } },
          }),
        });
        expect(res.status).toBe(200);
        await res.text();
      }
    }),
  );
}

const ours = (f: SseFrame) =>
  f.event === 'tool_call' && (dataOf<{ traceId: string | null }>(f).traceId ?? '').startsWith(`live-${RUN}-`);
const key = (f: SseFrame) => `${f.id} ${dataOf<{ traceId: string }>(f).traceId}`;

let other: { orgId: string; key: string };
const open: SseClient[] = [];
const subscribe = async (apiKey: string, lastEventId?: string) => {
  const client = await SseClient.open(`${gatewayUrl()}/api/v1/events`, apiKey, lastEventId);
  open.push(client);
  return client;
};

beforeAll(async () => {
  await ensureConnection(SLUG, `${inject('upstreamUrl')}/stateless`, null);
  await setPolicy(SLUG, [{ tool: '*', action: 'allow' }]);
  other = createOrgInD1();
}, 120_000);

afterAll(() => {
  for (const client of open) client.close();
});

describe('GET /api/v1/events end to end', () => {
  it('delivers a burst to every subscriber in one order, resumes with Last-Event-ID, and isolates organizations', {
    timeout: 180_000,
  }, async () => {
    const first = await subscribe(adminKey());
    const second = await subscribe(adminKey());
    const leaving = await subscribe(adminKey());
    const stranger = await subscribe(other.key);

    const firing = burst(BURST, 16);
    // The leaving subscriber reads a third of the burst, disconnects, and comes back.
    const head = await leaving.events(BURST / 3, ours);
    leaving.close();
    await firing;
    const all1 = await first.events(BURST, ours);
    const all2 = await second.events(BURST, ours);

    // Every call's event, each once, ids strictly increasing, and the same sequence for both.
    expect(new Set(all1.map((f) => dataOf<{ traceId: string }>(f).traceId)).size).toBe(BURST);
    const ids = all1.map((f) => Number(f.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    expect(all2.map(key)).toEqual(all1.map(key));
    for (const f of all1) {
      expect(dataOf(f)).toMatchObject({
        type: 'tool_call',
        serverId: expect.stringMatching(/^con_/),
        sessionId: expect.stringMatching(/^ses_/),
        toolName: 'echo',
        action: 'allow',
        latencyMs: expect.any(Number),
        timestamp: expect.any(String),
      });
    }

    // Resume: what it missed while away, nothing twice, nothing skipped.
    const back = await subscribe(adminKey(), head.at(-1)!.id!);
    const tail = await back.events(BURST - head.length, ours);
    expect([...head, ...tail].map(key)).toEqual(all1.map(key));

    // The other organization: its first event is its own change, none of the burst before it.
    const created = await fetch(`${gatewayUrl()}/api/v1/connections`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${other.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        slug: `other-${RUN}`,
        name: 'other',
        upstreamUrl: `${inject('upstreamUrl')}/stateless`,
        authType: 'none',
      }),
    });
    expect(created.status).toBe(201);
    const createdId = ((await created.json()) as { id: string }).id;
    const [firstForStranger] = await stranger.events(1);
    expect(dataOf(firstForStranger!)).toMatchObject({
      type: 'connection_update',
      serverId: createdId,
      change: 'created',
    });
  });
});
