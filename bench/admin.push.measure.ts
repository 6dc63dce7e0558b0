/**
 * What an admin change costs with many idle connections, in an organization with IDLE idle connections
 * (written straight into the runtime's D1 file while it is stopped: creating them through the API is
 * not what is measured) and 2 connections that decide calls. Printed, never asserted.
 *
 * - `epoch`: the API's answer time for revoking a key and publishing a policy (a configuration change,
 *   pushed to the guards holding a lease: workers/config/config.epoch.ts);
 * - `killswitch`: pulling an organization-wide kill switch and lifting it (killswitch.push.ts).
 *
 *   node bench/admin.push.measure.ts epoch|killswitch [idle=998] [trials=5]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { apiOk } from './lib/http.ts';
import { planPlacement } from './lib/procs.ts';
import { setPolicy, startBenchStack } from './lib/stack.ts';
import { quantile } from './lib/stats.ts';

const MODE = process.argv[2];
if (MODE !== 'epoch' && MODE !== 'killswitch')
  throw new Error('usage: admin.push.measure.ts epoch|killswitch [idle] [trials]');
const IDLE = Number(process.argv[3] ?? 998);
const TRIALS = Number(process.argv[4] ?? 5);

function d1File(persistTo: string): string {
  const dir = path.join(persistTo, 'v3', 'd1', 'miniflare-D1DatabaseObject');
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite');
  if (!file) throw new Error(`no D1 file in ${dir}`);
  return path.join(dir, file);
}

async function call(gatewayUrl: string, apiKey: string, slug: string): Promise<number> {
  const res = await fetch(`${gatewayUrl}/v1/mcp/${slug}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${apiKey}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: 'hi' } },
    }),
  });
  await res.text();
  return res.status;
}

interface Run {
  bench: Awaited<ReturnType<typeof startBenchStack>>;
  gatewayUrl: string;
  apiKey: string;
  active: string[];
  orgId: string;
}

async function timed(op: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await op();
  return performance.now() - started;
}

const persistTo = fs.mkdtempSync(path.join(os.tmpdir(), `${MODE}-push-`));
const bench = await startBenchStack({
  persistTo,
  placement: { ...planPlacement(), pinned: false },
  vars: {},
});
try {
  const { apiKey, gatewayUrl, upstreamUrl } = bench;
  const active: string[] = [];
  for (const slug of ['active-a', 'active-b']) {
    await apiOk(gatewayUrl, apiKey, 'POST', '/connections', {
      slug,
      name: slug,
      upstreamUrl: `${upstreamUrl}/stateless`,
      authType: 'none',
    });
    await setPolicy(bench, slug, [{ tool: '*', action: 'allow' }]);
    active.push(slug);
  }
  await bench.stack.stop();
  const db = new DatabaseSync(d1File(persistTo));
  const orgId = (
    db.prepare("SELECT org_id FROM connections WHERE slug = 'active-a'").get() as { org_id: string }
  ).org_id;
  const insert = db.prepare(
    'INSERT INTO connections (id, org_id, slug, name, upstream_url) VALUES (?, ?, ?, ?, ?)',
  );
  db.exec('BEGIN');
  for (let i = 0; i < IDLE; i++)
    insert.run(`con_idle_${i}`, orgId, `idle-${i}`, `idle-${i}`, `${upstreamUrl}/stateless`);
  db.exec('COMMIT');
  db.close();
  await bench.restart();

  for (const slug of active)
    if ((await call(gatewayUrl, apiKey, slug)) !== 200) throw new Error(`call on ${slug}`);
  const run = { bench, gatewayUrl, apiKey, active, orgId };
  if (MODE === 'epoch') await epochChanges(run);
  else await killSwitches(run);
} finally {
  await bench.stop();
  fs.rmSync(persistTo, { recursive: true, force: true });
}

async function epochChanges({ bench, gatewayUrl, apiKey, active }: Run): Promise<void> {
  const revoke: number[] = [];
  const publish: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    const key = await apiOk<{ id: string }>(gatewayUrl, apiKey, 'POST', '/api-keys', { name: `m${t}` });
    revoke.push(await timed(() => apiOk(gatewayUrl, apiKey, 'DELETE', `/api-keys/${key.id}`)));
    const action = t % 2 ? 'allow' : 'deny';
    publish.push(await timed(() => setPolicy(bench, active[0]!, [{ tool: '*', action }])));
    await call(gatewayUrl, apiKey, active[1]!); // the active guards keep deciding calls
  }
  const fmt = (xs: number[]) =>
    `p50 ${Math.round(quantile(xs, 0.5))} ms, max ${Math.round(Math.max(...xs))} ms [${xs.map(Math.round).join(', ')}]`;
  console.log(`connections: ${IDLE} idle + ${active.length} active`);
  console.log(`revoke a key:     ${fmt(revoke)}`);
  console.log(`publish a policy: ${fmt(publish)}`);
}

async function killSwitches({ gatewayUrl, apiKey, active, orgId }: Run): Promise<void> {
  const pull: number[] = [];
  const lift: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    let id = '';
    pull.push(
      await timed(async () => {
        ({ id } = await apiOk<{ id: string }>(gatewayUrl, apiKey, 'POST', '/kill-switch', {
          scope: 'organization',
          target: orgId,
          reason: `measure ${t}`,
        }));
      }),
    );
    if ((await call(gatewayUrl, apiKey, active[0]!)) !== 503) throw new Error('the switch did not hold');
    lift.push(await timed(() => apiOk(gatewayUrl, apiKey, 'DELETE', `/kill-switch/${id}`)));
    for (const slug of active) // the active guards keep deciding calls
      if ((await call(gatewayUrl, apiKey, slug)) !== 200) throw new Error(`call on ${slug} after the lift`);
  }
  const fmt = (xs: number[]) =>
    `p50 ${Math.round(quantile(xs, 0.5))} ms, max ${Math.round(Math.max(...xs))} ms [${xs.map(Math.round).join(', ')}]`;
  console.log(`connections: ${IDLE} idle + ${active.length} active`);
  console.log(`pull an organization-wide switch: ${fmt(pull)}`);
  console.log(`lift it:                          ${fmt(lift)}`);
}
