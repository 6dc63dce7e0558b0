/**
 * GET /api/v1/metrics/prometheus: calls through two connections (two guards) add up in the
 * organization's MetricsHub; two scrapes in a row never go backwards; scraper tokens read only
 * their own organization's metrics; developers and unknown tokens are refused.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { budgetCounterFor } from '../../durable-objects/do.client';
import { type BudgetRow, budgetConfig } from '../../workers/budgets/budgets.service';
import {
  addMember,
  adminAuditRows,
  call,
  createConnection,
  createOrg,
  json,
  mcp,
  putPolicy,
  type TestOrg,
} from './helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every sample of the exposition: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(key: string): Promise<Map<string, number>> {
  const res = await call('GET', '/api/v1/metrics/prometheus', { key });
  expect(res.status).toBe(200);
  expect(res.headers.get('Content-Type')).toContain('text/plain; version=0.0.4');
  return samples(await res.text());
}

function sum(metrics: Map<string, number>, prefix: string, ...needles: string[]): number {
  let total = 0;
  for (const [series, value] of metrics) {
    if (series.startsWith(prefix) && needles.every((n) => series.includes(n))) total += value;
  }
  return total;
}

/** Scrapes until `ready` holds (the guards send their deltas about a second after the calls). */
async function scrapeUntil(key: string, ready: (m: Map<string, number>) => boolean) {
  for (let i = 0; i < 60; i++) {
    const m = await scrape(key);
    if (ready(m)) return m;
    await sleep(250);
  }
  throw new Error('metrics never arrived');
}

async function echo(slug: string, org: TestOrg) {
  const res = await mcp(slug, 'tools/call', { name: 'echo', arguments: { message: 'hi' } }, { key: org.key });
  await res.text();
  return res.status;
}

describe('prometheus metrics', () => {
  it('adds up calls of two connections, counts decisions, and never goes backwards', {
    timeout: 30_000,
  }, async () => {
    const org = await createOrg('owner');
    for (const slug of ['met-a', 'met-b']) {
      await createConnection(slug, { key: org.key });
      await putPolicy(
        slug,
        [
          { tool: 'echo', action: 'allow' },
          { tool: '*', action: 'deny' },
        ],
        org.key,
      );
    }
    for (let i = 0; i < 3; i++) expect(await echo('met-a', org)).toBe(200);
    for (let i = 0; i < 2; i++) expect(await echo('met-b', org)).toBe(200);
    const denied = await mcp('met-b', 'tools/call', { name: 'other', arguments: {} }, { key: org.key });
    await denied.text();

    const first = await scrapeUntil(
      org.key,
      (m) =>
        sum(m, 'igris_requests_total{', 'action="allow"') >= 5 &&
        sum(m, 'igris_requests_total{', 'action="deny"') >= 1,
    );
    expect(sum(first, 'igris_requests_total{', 'connection="met-a"', 'action="allow"')).toBe(3);
    expect(sum(first, 'igris_requests_total{', 'connection="met-b"', 'action="allow"')).toBe(2);
    expect(sum(first, 'igris_requests_total{', 'connection="met-b"', 'action="deny"', 'type="mcp"')).toBe(1);
    // Latency histograms: one upstream observation per forwarded call, +Inf bucket = count.
    expect(sum(first, 'igris_upstream_latency_seconds_count{')).toBe(5);
    expect(sum(first, 'igris_upstream_latency_seconds_bucket{', 'le="+Inf"')).toBe(5);
    expect(sum(first, 'igris_gateway_latency_seconds_count{')).toBe(5);

    // More calls; every series of the second scrape is at least what it was in the first.
    for (let i = 0; i < 2; i++) expect(await echo('met-a', org)).toBe(200);
    const second = await scrapeUntil(
      org.key,
      (m) => sum(m, 'igris_requests_total{', 'connection="met-a"') >= 5,
    );
    for (const [series, value] of first) {
      if (series.startsWith('igris_spool_')) continue; // gauges may go down
      expect(second.get(series) ?? 0, series).toBeGreaterThanOrEqual(value);
    }
    const third = await scrape(org.key);
    for (const [series, value] of second) {
      if (!series.startsWith('igris_spool_'))
        expect(third.get(series) ?? 0, series).toBeGreaterThanOrEqual(value);
    }
    // Spool health is reported by each guard.
    expect([...third.keys()].some((k) => k.startsWith('igris_spool_backlog_rows{'))).toBe(true);
  });

  it('reads one organization only, with a scraper token; refuses developers and revoked tokens', {
    timeout: 30_000,
  }, async () => {
    const mine = await createOrg('owner');
    const other = await createOrg('owner');
    await createConnection('met-mine', { key: mine.key });
    await putPolicy('met-mine', [{ tool: '*', action: 'allow' }], mine.key);
    expect(await echo('met-mine', mine)).toBe(200);
    await scrapeUntil(mine.key, (m) => sum(m, 'igris_requests_total{', 'connection="met-mine"') >= 1);

    const created = await call('POST', '/api/v1/metrics/tokens', { key: other.key, body: { name: 'prom' } });
    expect(created.status).toBe(201);
    const { token, id } = await json<{ token: string; id: string }>(created);
    expect(token).toMatch(/^igm_/);
    const theirs = await scrape(token);
    expect([...theirs.keys()].some((k) => k.includes('met-mine'))).toBe(false);
    const ours = await call('GET', '/api/v1/metrics/prometheus', { key: mine.key });
    expect(await ours.text()).toContain('connection="met-mine"');

    // A scraper token is for metrics only.
    expect((await call('GET', '/api/v1/connections', { key: token })).status).toBe(401);
    const developer = await addMember(mine.orgId, 'developer');
    expect((await call('GET', '/api/v1/metrics/prometheus', { key: developer.key })).status).toBe(403);
    expect((await call('GET', '/api/v1/metrics/prometheus', { key: null })).status).toBe(401);

    expect((await call('DELETE', `/api/v1/metrics/tokens/${id}`, { key: other.key })).status).toBe(200);
    expect((await call('GET', '/api/v1/metrics/prometheus', { key: token })).status).toBe(401);
    // Another organization's token id is not found.
    expect((await call('DELETE', `/api/v1/metrics/tokens/${id}`, { key: mine.key })).status).toBe(404);
  });

  it('records the issue and the revocation of a scraper token in the audit trail, never the token', async () => {
    const org = await createOrg('owner');
    const created = await call('POST', '/api/v1/metrics/tokens', { key: org.key, body: { name: 'prom' } });
    expect(created.status).toBe(201);
    const { token, id, prefix } = await json<{ token: string; id: string; prefix: string }>(created);
    const issued = await adminAuditRows(org.orgId, 'metrics_token.create');
    expect(issued.map((r) => r.details)).toEqual([{ metricsTokenId: id, name: 'prom', prefix }]);
    expect(issued[0]!.actor).toBeTruthy();

    expect((await call('DELETE', `/api/v1/metrics/tokens/${id}`, { key: org.key })).status).toBe(200);
    expect((await call('DELETE', `/api/v1/metrics/tokens/${id}`, { key: org.key })).status).toBe(200);
    // One row for the revocation: revoking a revoked token writes nothing.
    const revoked = await adminAuditRows(org.orgId, 'metrics_token.revoke');
    expect(revoked.map((r) => r.details)).toEqual([{ metricsTokenId: id, name: 'prom', prefix }]);
    const rows = JSON.stringify(await adminAuditRows(org.orgId));
    expect(rows).not.toContain(token);
    expect(rows).not.toContain(token.slice(10));
  });

  it("shows each budget's spend, limit and utilisation in the period, read from its counter at the scrape", {
    timeout: 30_000,
  }, async () => {
    const org = await createOrg('owner');
    const other = await createOrg('owner');
    const created = await call('POST', '/api/v1/budgets', {
      key: org.key,
      body: { name: 'team spend', scope: 'org', limitUsd: 10, enforcement: 'warn' },
    });
    expect(created.status).toBe(201);
    const { id } = await json<{ id: string }>(created);
    const labels = `budget="team spend",budget_id="${id}",enforcement="warn",scope="org"`;
    expect((await scrape(org.key)).get(`igris_budget_utilization_ratio{${labels}}`)).toBe(0);

    const row = await env.DB.prepare('SELECT * FROM budgets WHERE id = ?').bind(id).first<BudgetRow>();
    await budgetCounterFor(env, id).settle({
      config: budgetConfig(row!),
      reservationId: 'metrics-test',
      actualUsd: 2.5,
    });
    const metrics = await scrape(org.key);
    expect(metrics.get(`igris_budget_spent_usd{${labels}}`)).toBe(2.5);
    expect(metrics.get(`igris_budget_limit_usd{${labels}}`)).toBe(10);
    expect(metrics.get(`igris_budget_utilization_ratio{${labels}}`)).toBe(0.25);
    // Another organization's scrape does not show it.
    expect([...(await scrape(other.key)).keys()].some((k) => k.includes(id))).toBe(false);
  });
});
