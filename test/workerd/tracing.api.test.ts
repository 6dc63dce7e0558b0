/**
 * An organization's OpenTelemetry export settings inside workerd (the export itself is end to end:
 * test/e2e/tracing.e2e.test.ts): header values sealed in the vault and never returned (names only),
 * kept when omitted, removed with `{}`, re-sealed on master-key rotation; owners and admins only;
 * the URL and header rules; one organization's settings invisible to another; and the gateway's
 * view (the governance snapshot) seeing a change at the next call through the configuration epoch.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { loadGovernance } from '../../workers/governance/governance.cache';
import { exportTrace } from '../../workers/tracing/trace.export';
import { createVault } from '../../workers/vault/vault.crypto';
import { reencryptCredentials } from '../../workers/vault/vault.reencrypt';
import { addMember, call, createOrg, json } from './helpers';

const SECRET = 'otlp-header-secret-0123456789';
const ENDPOINT = 'https://otel.example.com/v1/traces';

const sealedOf = async (orgId: string) =>
  (
    await env.DB.prepare('SELECT headers_ciphertext FROM tracing_settings WHERE org_id = ?')
      .bind(orgId)
      .first<{ headers_ciphertext: string | null }>()
  )?.headers_ciphertext ?? null;

/** The organization's admin rows of these actions, oldest first, as stored. */
async function adminRows(orgId: string, prefix: string) {
  const { results } = await env.DB.prepare(
    "SELECT action, actor, details FROM audit_events WHERE org_id = ? AND type = 'admin' AND action LIKE ? ORDER BY created_at, rowid",
  )
    .bind(orgId, `${prefix}%`)
    .all<{ action: string; actor: string; details: string }>();
  return results;
}

describe('tracing settings', () => {
  it('seals the header values, returns only their names, keeps them when omitted and drops them with {}', async () => {
    const org = await createOrg('owner');
    expect(await json(await call('GET', '/api/v1/tracing', { key: org.key }))).toEqual({ tracing: null });
    const put = await call('PUT', '/api/v1/tracing', {
      key: org.key,
      body: { endpoint: ENDPOINT, headers: { 'x-api-key': SECRET }, sampleRate: 0.25 },
    });
    expect(put.status).toBe(200);
    const saved = await put.text();
    expect(saved).not.toContain(SECRET);
    expect(JSON.parse(saved)).toMatchObject({
      enabled: true,
      endpoint: ENDPOINT,
      sampleRate: 0.25,
      headerNames: ['x-api-key'],
    });
    const row = await env.DB.prepare('SELECT * FROM tracing_settings WHERE org_id = ?')
      .bind(org.orgId)
      .first();
    expect(JSON.stringify(row)).not.toContain(SECRET);
    const got = await (await call('GET', '/api/v1/tracing', { key: org.key })).text();
    expect(got).not.toContain(SECRET);

    // Omitted headers: the stored ones stay.
    expect(
      (await call('PUT', '/api/v1/tracing', { key: org.key, body: { endpoint: ENDPOINT, sampleRate: 1 } }))
        .status,
    ).toBe(200);
    const vault = await createVault({ current: env.ENCRYPTION_KEY! });
    expect(JSON.parse(await vault.decrypt((await sealedOf(org.orgId))!, `${org.orgId}:tracing`))).toEqual({
      'x-api-key': SECRET,
    });

    // Master-key rotation re-seals them.
    const next = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    await reencryptCredentials(
      { DB: env.DB, ENCRYPTION_KEY: next, ENCRYPTION_KEY_PREVIOUS: env.ENCRYPTION_KEY },
      org.orgId,
    );
    const rotated = await sealedOf(org.orgId);
    expect(
      JSON.parse(await (await createVault({ current: next })).decrypt(rotated!, `${org.orgId}:tracing`)),
    ).toEqual({
      'x-api-key': SECRET,
    });

    // {}: no header any more.
    const cleared = await json(
      await call('PUT', '/api/v1/tracing', { key: org.key, body: { endpoint: ENDPOINT, headers: {} } }),
    );
    expect(cleared).toMatchObject({ headerNames: [] });
    expect(await sealedOf(org.orgId)).toBeNull();
  });

  it('is for owners and admins of the organization only, and follows the URL and header rules', async () => {
    const org = await createOrg('owner');
    const other = await createOrg('owner');
    await call('PUT', '/api/v1/tracing', {
      key: org.key,
      body: { endpoint: ENDPOINT, headers: { 'x-api-key': SECRET } },
    });
    for (const role of ['developer', 'auditor'] as const) {
      const member = await addMember(org.orgId, role);
      expect((await call('GET', '/api/v1/tracing', { key: member.key })).status).toBe(403);
      expect(
        (await call('PUT', '/api/v1/tracing', { key: member.key, body: { endpoint: ENDPOINT } })).status,
      ).toBe(403);
    }
    const admin = await addMember(org.orgId, 'admin');
    expect((await call('GET', '/api/v1/tracing', { key: admin.key })).status).toBe(200);
    expect(await json(await call('GET', '/api/v1/tracing', { key: other.key }))).toEqual({ tracing: null });
    for (const body of [
      { endpoint: 'https://u:p@otel.example.com/v1/traces' },
      { endpoint: 'ftp://otel.example.com' },
      { endpoint: ENDPOINT, sampleRate: 1.5 },
      { endpoint: ENDPOINT, headers: { 'bad name': 'x' } },
      { endpoint: ENDPOINT, headers: { 'content-type': 'text/plain' } },
      { endpoint: ENDPOINT, headers: { 'x-api-key': 'a\r\nb' } },
    ]) {
      const res = await call('PUT', '/api/v1/tracing', { key: other.key, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  it('sends the stored header values to no other endpoint: moving it to another origin needs the headers again', async () => {
    const org = await createOrg('owner');
    const admin = await addMember(org.orgId, 'admin');
    await call('PUT', '/api/v1/tracing', {
      key: org.key,
      body: { endpoint: ENDPOINT, headers: { 'x-api-key': SECRET } },
    });
    const stored = () =>
      env.DB.prepare('SELECT endpoint, headers_ciphertext FROM tracing_settings WHERE org_id = ?')
        .bind(org.orgId)
        .first();
    const before = await stored();
    for (const endpoint of [
      'https://collector.attacker.example/v1/traces',
      'http://otel.example.com/v1/traces',
    ]) {
      const moved = await call('PUT', '/api/v1/tracing', { key: admin.key, body: { endpoint } });
      const text = await moved.text();
      expect(moved.status, endpoint).toBe(400);
      expect(text).not.toContain(SECRET);
      expect(await stored()).toEqual(before);
    }
    const refused = await json<{ error: { details: { issues: unknown[] } } }>(
      await call('PUT', '/api/v1/tracing', {
        key: admin.key,
        body: { endpoint: 'https://collector.attacker.example/v1/traces' },
      }),
    );
    expect(refused.error.details.issues[0]).toMatchObject({
      path: 'headers',
      rule: 'credential_required_for_new_origin',
    });
    // The same origin keeps them; another origin with its own headers, or none ({}), is fine.
    expect(
      (
        await call('PUT', '/api/v1/tracing', {
          key: admin.key,
          body: { endpoint: 'https://otel.example.com/x' },
        })
      ).status,
    ).toBe(200);
    const cleared = await call('PUT', '/api/v1/tracing', {
      key: admin.key,
      body: { endpoint: 'https://other.example.com/v1/traces', headers: {} },
    });
    expect(await json(cleared)).toMatchObject({
      endpoint: 'https://other.example.com/v1/traces',
      headerNames: [],
    });
  });

  it('records every change and the removal in the audit trail, header names only', async () => {
    const org = await createOrg('owner');
    const put = (body: Record<string, unknown>) => call('PUT', '/api/v1/tracing', { key: org.key, body });
    expect((await put({ endpoint: ENDPOINT, headers: { 'x-api-key': SECRET } })).status).toBe(200);
    expect((await put({ endpoint: ENDPOINT, enabled: false })).status).toBe(200);
    expect((await call('DELETE', '/api/v1/tracing', { key: org.key })).status).toBe(204);
    const rows = await adminRows(org.orgId, 'tracing.');
    expect(rows.map((r) => r.action)).toEqual(['tracing.update', 'tracing.update', 'tracing.delete']);
    expect(JSON.parse(rows[0]!.details)).toMatchObject({
      endpoint: { from: null, to: ENDPOINT },
      headers: ['x-api-key'],
    });
    expect(JSON.parse(rows[1]!.details)).toMatchObject({ enabled: false, headers: 'kept' });
    expect(JSON.stringify(rows)).not.toContain(SECRET);
  });

  it('checks the endpoint again before every export: a stored endpoint the URL rules refuse is never sent to', async () => {
    const orgId = `org_export_${crypto.randomUUID().slice(0, 8)}`;
    const recorded = async (path: string) => {
      const res = await fetch(`${env.UPSTREAM_RECORDER_URL}/__log`);
      return ((await res.json()) as { path: string }[]).filter((c) => c.path === path).length;
    };
    const send = async (runtime: typeof env, path: string) => {
      const pending: Promise<unknown>[] = [];
      exportTrace(
        runtime,
        { waitUntil: (p) => void pending.push(p) },
        {
          orgId,
          target: {
            endpoint: `${env.UPSTREAM_RECORDER_URL}${path}`,
            sampleRate: 1,
            sealedHeaders: null,
            protocol: 'http/json',
          },
          trace: Promise.resolve({
            orgId,
            traceId: '0af7651916cd43dd8448eb211c80319c',
            traceState: null,
            spans: [],
          }),
        },
      );
      await Promise.all(pending);
    };
    // Where private hosts are allowed (tests, local development) the recorder receives the batch…
    await send(env, '/otlp-dev');
    expect(await recorded('/otlp-dev')).toBe(1);
    // …in production a loopback, plain-http endpoint — however it got into the row — gets nothing.
    await send({ ...env, ALLOW_PRIVATE_UPSTREAMS: 'false' }, '/otlp-production');
    expect(await recorded('/otlp-production')).toBe(0);
  });

  it('reaches the gateway with the governance snapshot at the next call after a change (configuration epoch)', async () => {
    const org = await createOrg('owner');
    expect((await loadGovernance(env, org.orgId)).tracing).toBeNull();
    await call('PUT', '/api/v1/tracing', {
      key: org.key,
      body: { endpoint: ENDPOINT, sampleRate: 0.5, headers: { 'x-api-key': SECRET } },
    });
    // The API write bumped the epoch (config.announce.ts): the cached snapshot is no longer current.
    const on = (await loadGovernance(env, org.orgId)).tracing;
    expect(on).toMatchObject({ endpoint: ENDPOINT, sampleRate: 0.5, protocol: 'http/json' });
    expect(on?.sealedHeaders).not.toContain(SECRET);
    // Cached: the same snapshot while nothing changed (no read per call).
    expect(loadGovernance(env, org.orgId)).toBe(loadGovernance(env, org.orgId));
    await call('PUT', '/api/v1/tracing', { key: org.key, body: { endpoint: ENDPOINT, enabled: false } });
    expect((await loadGovernance(env, org.orgId)).tracing).toBeNull();
    // The OTLP encoding is the organization's choice too, in force at the next call.
    const put = await call('PUT', '/api/v1/tracing', {
      key: org.key,
      body: { endpoint: ENDPOINT, protocol: 'http/protobuf' },
    });
    expect(await json(put)).toMatchObject({ protocol: 'http/protobuf' });
    expect((await loadGovernance(env, org.orgId)).tracing).toMatchObject({ protocol: 'http/protobuf' });
    expect((await call('DELETE', '/api/v1/tracing', { key: org.key })).status).toBe(204);
    expect((await loadGovernance(env, org.orgId)).tracing).toBeNull();
  });
});
