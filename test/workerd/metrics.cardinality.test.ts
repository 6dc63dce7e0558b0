/**
 * Prometheus label cardinality (docs/observability.md#cardinality): what a caller sends cannot
 * grow an organization's series without bound, nor drop other calls' counts.
 *   - Unknown MCP methods are labelled `method="unknown"`, whatever their spelling.
 *   - A caller's very long method does not make the guard's whole batch (everyone's counts and
 *     alerts) be refused by the hub.
 *   - The hub keeps at most MAX_SERIES series; deltas for new ones past it are counted as dropped.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { metricsHubFor } from '../../durable-objects/do.client';
import { seriesKey } from '../../durable-objects/metrics.catalog';
import { MAX_SERIES } from '../../durable-objects/metrics-hub.do';
import { call, createConnection, createOrg, mcp, putPolicy, type TestOrg } from './helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scrapeText(key: string): Promise<string> {
  const res = await call('GET', '/api/v1/metrics/prometheus', { key });
  expect(res.status).toBe(200);
  return res.text();
}

function count(text: string, ...needles: string[]): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('igris_requests_total{') || !needles.every((n) => line.includes(n))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function scrapeUntil(key: string, ready: (text: string) => boolean): Promise<string> {
  for (let i = 0; i < 40; i++) {
    const text = await scrapeText(key);
    if (ready(text)) return text;
    await sleep(250);
  }
  throw new Error('metrics never arrived');
}

async function send(slug: string, org: TestOrg, method: string) {
  const res = await mcp(slug, method, { name: 'echo', arguments: { message: 'hi' } }, { key: org.key });
  await res.text();
  return res.status;
}

describe('metrics label cardinality', () => {
  it('labels unknown methods `unknown`, and a long one does not lose the batch', {
    timeout: 30_000,
  }, async () => {
    const org = await createOrg('owner');
    await createConnection('card-a', { key: org.key });
    await putPolicy('card-a', [{ tool: '*', action: 'allow' }], org.key);
    for (let i = 0; i < 5; i++) await send('card-a', org, `made/up-${i}-${crypto.randomUUID()}`);
    await send('card-a', org, `x${'y'.repeat(3000)}`);
    expect(await send('card-a', org, 'tools/call')).toBe(200);

    const text = await scrapeUntil(org.key, (t) => count(t, 'method="tools/call"') >= 1);
    expect(count(text, 'connection="card-a"', 'method="tools/call"', 'action="allow"')).toBe(1);
    expect(count(text, 'connection="card-a"', 'method="unknown"')).toBe(6);
    expect(text).not.toContain('made/up-');
    expect(text).not.toContain('yyyy');
  });

  it('keeps at most MAX_SERIES series per organization and counts what it drops', {
    timeout: 60_000,
  }, async () => {
    const org = await createOrg('owner');
    const hub = metricsHubFor(env, org.orgId);
    const counters: Record<string, number> = {};
    for (let i = 0; i < MAX_SERIES + 50; i++)
      counters[seriesKey('igris_llm_tokens_total', { model: `m-${i}`, connection: 'c', kind: 'input' })] = 1;
    await hub.record({ id: crypto.randomUUID(), counters });
    // A series already kept still counts; a new one past the limit is dropped.
    const kept = seriesKey('igris_llm_tokens_total', { model: 'm-0', connection: 'c', kind: 'input' });
    const fresh = seriesKey('igris_llm_tokens_total', { model: 'new', connection: 'c', kind: 'input' });
    await hub.record({ id: crypto.randomUUID(), counters: { [kept]: 2, [fresh]: 1 } });

    const text = await scrapeText(org.key);
    const lines = text.split('\n').filter((l) => l.startsWith('igris_llm_tokens_total{'));
    expect(lines.length).toBeLessThanOrEqual(MAX_SERIES);
    expect(text).toContain('igris_llm_tokens_total{connection="c",kind="input",model="m-0"} 3');
    expect(text).not.toContain('model="new"');
    const dropped = text.split('\n').find((l) => l.startsWith('igris_metrics_series_dropped_total'));
    expect(Number(dropped?.split(' ')[1])).toBeGreaterThanOrEqual(51);
  });
});
