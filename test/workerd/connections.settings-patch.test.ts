/**
 * A connection's `settings` in a create or a PATCH hold the keys the request names and nothing
 * else (workers/shared/connection.settings.ts connectionSettingsInputSchema), inside workerd with
 * real D1. Before, the request schema was zod 4's `.partial()` of the settings, which keeps every
 * key's default: a PATCH naming one key came out holding all the defaulted keys too and replaced
 * the stored ones — saving tool labels (as the dashboard's card does) turned `integrity.discovery`
 * "fail_closed" back to "alert", `failMode` "open" to "closed", and reset the body cap, the
 * upstream and stream bounds and the allowed origins; a create with any settings ignored the
 * organization's `defaultFailMode`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type ConnectionDto, create, owner, setUpConnections } from './connections.fixtures';
import { call, createOrg, expectJson } from './helpers';

beforeAll(setUpConnections);

const CUSTOM = {
  maxBodyBytes: 2048,
  maxBatchMessages: 7,
  failMode: 'open',
  allowedOrigins: ['https://app.example.com'],
  upstreamTimeoutMs: 5000,
  streamIdleTimeoutMs: 2000,
  heldStreamTimeoutMs: 3000,
  integrity: { discovery: 'fail_closed', quarantineOnCritical: true, blockOnCriticalScan: true },
};

describe('PATCH /api/v1/connections/:slug settings', () => {
  it('replaces the keys it names and keeps every other stored key', async () => {
    const created = await expectJson<ConnectionDto>(await create('patch-keeps', { settings: CUSTOM }), 201);
    expect(created.settings).toMatchObject(CUSTOM);
    const patched = await expectJson<ConnectionDto>(
      await call('PATCH', '/api/v1/connections/patch-keeps', {
        key: owner.key,
        body: { settings: { toolLabels: { 'fetch_*': ['untrusted_input'] } } },
      }),
      200,
    );
    expect(patched.settings).toMatchObject({ ...CUSTOM, toolLabels: { 'fetch_*': ['untrusted_input'] } });
    const read = await expectJson<ConnectionDto>(
      await call('GET', '/api/v1/connections/patch-keeps', { key: owner.key }),
      200,
    );
    expect(read.settings).toMatchObject(CUSTOM);
  });

  it('a nested object sent replaces the stored one whole, its own defaults filled in', async () => {
    await expectJson(await create('patch-nested', { settings: CUSTOM }), 201);
    const patched = await expectJson<ConnectionDto>(
      await call('PATCH', '/api/v1/connections/patch-nested', {
        key: owner.key,
        body: { settings: { integrity: { discovery: 'off' } } },
      }),
      200,
    );
    expect(patched.settings).toMatchObject({
      ...CUSTOM,
      integrity: { discovery: 'off', quarantineOnCritical: false, blockOnCriticalScan: false },
    });
  });
});

describe('POST /api/v1/connections settings', () => {
  it('a create with settings but no failMode takes the organization’s defaultFailMode', async () => {
    const org = await createOrg('owner');
    const patched = await call('PATCH', '/api/v1/organizations/current', {
      key: org.key,
      body: { settings: { defaultFailMode: 'open' } },
    });
    expect(patched.status).toBe(200);
    const created = await expectJson<ConnectionDto>(
      await create('with-settings', { settings: { allowedOrigins: ['https://app.example.com'] } }, org.key),
      201,
    );
    expect(created.settings).toMatchObject({
      failMode: 'open',
      allowedOrigins: ['https://app.example.com'],
      maxBodyBytes: 1024 * 1024,
    });
  });
});
