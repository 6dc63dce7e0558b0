/**
 * An alert's fingerprint and title may hold a caller's tool name (up to 512 bytes). A long one must
 * not make the organization's hub refuse the guard's batch: every other alert (and count) in it
 * would be lost. Here a 500-character tool name under an `alert` rule comes with an ordinary call.
 */
import { describe, expect, it } from 'vitest';
import { MAX_FINGERPRINT_CHARS, MAX_TITLE_CHARS } from '../../durable-objects/metrics.contract';
import type { AlertDto } from '../../workers/alerts/alerts.schemas';
import { call, createConnection, createOrg, json, mcp, putPolicy, type TestOrg } from './helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function tool(slug: string, org: TestOrg, name: string) {
  const res = await mcp(slug, 'tools/call', { name, arguments: { message: 'x' } }, { key: org.key });
  await res.text();
  return res.status;
}

async function alertsUntil(org: TestOrg, ready: (a: AlertDto[]) => boolean): Promise<AlertDto[]> {
  for (let i = 0; i < 40; i++) {
    const res = await call('GET', '/api/v1/alerts?type=policy', { key: org.key });
    expect(res.status).toBe(200);
    const page = await json<{ alerts: AlertDto[] }>(res);
    if (ready(page.alerts)) return page.alerts;
    await sleep(250);
  }
  throw new Error('alerts never arrived');
}

describe('alert bounds', () => {
  it('a 500-character tool name under an alert rule does not lose the batch’s other alerts', {
    timeout: 30_000,
  }, async () => {
    const org = await createOrg('owner');
    await createConnection('alert-bounds', { key: org.key });
    await putPolicy('alert-bounds', [{ tool: '*', action: 'alert' }], org.key);
    const long = `t${'x'.repeat(499)}`;
    await tool('alert-bounds', org, long);
    expect(await tool('alert-bounds', org, 'echo')).toBe(200);

    const alerts = await alertsUntil(org, (a) => a.length >= 2);
    const titles = alerts.map((a) => a.title);
    expect(titles.some((t) => t.endsWith(': echo'))).toBe(true);
    const cut = alerts.find((a) => a.title.includes('xxxx'))!;
    expect(cut.title.length).toBeLessThanOrEqual(MAX_TITLE_CHARS);
    expect(cut.fingerprint.length).toBeLessThanOrEqual(MAX_FINGERPRINT_CHARS);
  });
});
