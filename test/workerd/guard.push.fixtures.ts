/**
 * What the guard-push tests at scale share (config.epoch.live.test.ts, killswitch.live.test.ts): an
 * organization with many connections nobody calls, a few created through the API, and the number
 * of guards each push reached, read from the push's own log line.
 */
import { env } from 'cloudflare:workers';
import { vi } from 'vitest';
import { randomId } from '../../workers/lib/ids';
import { call, expectJson, putPolicy, type TestOrg } from './helpers';
import { recordedUpstream } from './upstream.log';

/** Every console.log line from now on, kept (and still printed); call in beforeEach, restore in afterEach. */
export function captureLogLines(): string[] {
  const lines: string[] = [];
  const original = console.log.bind(console);
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
    original(...args);
  });
  return lines;
}

/** How many guards each push logged as `message` for `orgId` reached, in `lines` from `from` on. */
export function pushCounts(lines: string[], from: number, message: string, orgId: string): number[] {
  return lines
    .slice(from)
    .filter((line) => line.includes(`"${message}"`) && line.includes(orgId))
    .map((line) => (JSON.parse(line) as { guards: number }).guards);
}

/** A connection created through the API, allow-all; returns its slug and id. */
export async function allowAllConnection(org: TestOrg, name: string): Promise<{ slug: string; id: string }> {
  const slug = `${name}-${randomId('s').slice(-8).toLowerCase()}`;
  const res = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: { slug, name: slug, upstreamUrl: recordedUpstream(), credential: 'cred-live' },
  });
  const { id } = await expectJson<{ id: string }>(res, 201);
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
  return { slug, id };
}

/** Connections nobody calls, written as the API would leave them (its cost is not under test). */
export async function idleConnections(org: TestOrg, count: number): Promise<void> {
  const insert = env.DB.prepare(
    'INSERT INTO connections (id, org_id, slug, name, upstream_url) VALUES (?, ?, ?, ?, ?)',
  );
  for (let i = 0; i < count; i += 100) {
    const rows = Array.from({ length: Math.min(100, count - i) }, (_, j) => {
      const slug = `idle-${i + j}`;
      return insert.bind(randomId('con'), org.orgId, slug, slug, recordedUpstream());
    });
    await env.DB.batch(rows);
  }
}
