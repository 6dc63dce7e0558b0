/**
 * No record of a change that did not happen (docs/audit.md#admin-actions): a management call that
 * changes nothing — an empty patch, a field sent with the value already stored, enabling an enabled
 * connection, adding a team member already there, setting a price already set, deleting a setting
 * that is not there — answers as usual and writes nothing at all: no audit row, and no other row
 * of the organization touched (not even an `updated_at`). The calls that do change something are
 * held to their row by api.routes.audit.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Fixtures, makeFixtures, snapshotOrg } from './api.routes.matrix.fixtures';
import { adminAuditRows, call, createOrg, expectJson, type TestOrg } from './helpers';

const tag = `np${Date.now().toString(36)}`;
const price = { provider: 'openai-compatible', model: 'np-model', inputPerMTok: 1, outputPerMTok: 2 };
let org: TestOrg;
let f: Fixtures;
let current: { name: string; settings: { retentionDays: number } };

beforeAll(async () => {
  org = await createOrg('owner');
  f = await makeFixtures(org.orgId, org.key, tag);
  await expectJson(await call('PUT', '/api/v1/llm/prices', { key: org.key, body: price }), 200);
  current = await expectJson(await call('GET', '/api/v1/organizations/current', { key: org.key }), 200);
}, 60_000);

/** Calls that change nothing on the fixtures as makeFixtures leaves them. */
function noOps(): [method: string, path: string, body?: unknown][] {
  return [
    ['PATCH', `/api/v1/connections/${f.connection}`, {}],
    ['PATCH', `/api/v1/connections/${f.connection}`, { name: f.connection }],
    ['POST', `/api/v1/connections/${f.connection}/enable`],
    ['PATCH', `/api/v1/teams/${f.team}`, {}],
    ['PATCH', `/api/v1/teams/${f.team}`, { name: `mx-${tag}-team` }],
    ['PATCH', `/api/v1/budgets/${f.budget}`, {}],
    ['PATCH', `/api/v1/budgets/${f.budget}`, { limitUsd: 10 }],
    ['PATCH', `/api/v1/alerts/channels/${f.channel}`, {}],
    ['PATCH', `/api/v1/alerts/channels/${f.channel}`, { name: `mx-${tag}`, enabled: true }],
    ['PATCH', `/api/v1/system-prompts/${f.prompt}`, {}],
    ['PATCH', `/api/v1/system-prompts/${f.prompt}`, { text: 'Be brief.' }],
    ['PATCH', `/api/v1/members/${f.member}`, { role: 'developer' }],
    ['PATCH', '/api/v1/organizations/current', {}],
    [
      'PATCH',
      '/api/v1/organizations/current',
      { name: current.name, settings: { retentionDays: current.settings.retentionDays } },
    ],
    ['PUT', '/api/v1/llm/prices', price],
    ['POST', `/api/v1/teams/${f.team}/members`, { userId: f.developerUserId }],
    ['DELETE', '/api/v1/tracing'],
    ['DELETE', '/api/v1/integrations/langfuse'],
  ];
}

type Call = [method: string, path: string, body?: unknown];

/** Runs the calls as the owner of `org`: each answers 2xx, writes no audit row, and nothing changes. */
async function expectNoChange(target: TestOrg, calls: Call[]): Promise<void> {
  const before = await snapshotOrg(target.orgId);
  const wrong: string[] = [];
  for (const [method, path, body] of calls) {
    const rows = new Set((await adminAuditRows(target.orgId)).map((r) => r.id));
    const res = await call(method, path, { key: target.key, body });
    const text = await res.text();
    if (!res.ok) wrong.push(`${method} ${path} ${JSON.stringify(body)}: ${res.status} ${text}`);
    const written = (await adminAuditRows(target.orgId)).filter((r) => !rows.has(r.id)).map((r) => r.action);
    if (written.length > 0) wrong.push(`${method} ${path} ${JSON.stringify(body)}: wrote ${written}`);
  }
  expect(wrong).toEqual([]);
  // Except the organization's config epoch: each call still tells the caches to look again
  // (workers/config/config.epoch.ts), which is a signal, not a change of anything configured.
  const withoutEpoch = (snapshot: string) => snapshot.replace(/"config_epoch":\d+/, '');
  expect(withoutEpoch(await snapshotOrg(target.orgId))).toBe(withoutEpoch(before));
}

describe('a call that changes nothing', () => {
  it('writes no audit row and touches nothing of the organization', async () => {
    await expectNoChange(org, noOps());
  });

  it('sending the export settings already stored (no new secret) writes nothing', async () => {
    const other = await createOrg('owner');
    const langfuse = { host: 'https://langfuse.example.com', publicKey: 'pk-lf-np', enabled: true };
    const tracing = { endpoint: 'https://otlp.example.com/v1/traces', sampleRate: 0.5 };
    const put = (path: string, body: unknown) => call('PUT', path, { key: other.key, body });
    await expectJson(await put('/api/v1/integrations/langfuse', { ...langfuse, secretKey: 'sk-lf-np' }), 200);
    await expectJson(await put('/api/v1/tracing', { ...tracing, headers: { 'X-Api-Key': 'otlp-np' } }), 200);
    await expectNoChange(other, [
      ['PUT', '/api/v1/integrations/langfuse', langfuse],
      ['PUT', '/api/v1/tracing', tracing],
    ]);
  });
});
