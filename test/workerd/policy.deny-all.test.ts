/**
 * Issue 12 item 20: `PUT {"rules": []}` denies every governed call of a connection, so it is
 * refused unless confirmed with `"confirmDenyAll": true`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  createConnection,
  createOrg,
  expectApiError,
  expectJson,
  putPolicy,
  type TestOrg,
} from './helpers';

let org: TestOrg;
const path = '/api/v1/connections/deny-all/policy';

beforeAll(async () => {
  org = await createOrg('owner');
  await createConnection('deny-all', { key: org.key, authType: 'none' });
  await putPolicy('deny-all', [{ tool: '*', action: 'allow' }], org.key);
});

describe('PUT an empty policy', () => {
  it('is a 400 naming rules without confirmDenyAll, and stores nothing', async () => {
    const error = await expectApiError(
      await call('PUT', path, { key: org.key, body: { rules: [] } }),
      400,
      'validation_failed',
    );
    expect(error.details).toMatchObject({ location: 'body', path: 'rules' });
    expect(error.details?.issues?.[0]).toMatchObject({ location: 'body', path: 'rules' });
    expect(error.details?.issues?.[0]?.message).toContain('confirmDenyAll');

    await expectApiError(
      await call('PUT', path, { key: org.key, body: { rules: [], confirmDenyAll: false } }),
      400,
      'validation_failed',
    );
    const current = await expectJson<{ version: number; rules: unknown[] }>(
      await call('GET', path, { key: org.key }),
      200,
    );
    expect(current.rules).toHaveLength(1);
  });

  it('refuses a confirmDenyAll that is not a boolean', async () => {
    const error = await expectApiError(
      await call('PUT', path, { key: org.key, body: { rules: [], confirmDenyAll: 'yes' } }),
      400,
      'validation_failed',
    );
    expect(JSON.stringify(error.details)).toContain('confirmDenyAll');
  });

  it('is stored when confirmed (the flag is not part of the policy)', async () => {
    const stored = await expectJson<{ version: number; rules: unknown[] }>(
      await call('PUT', path, { key: org.key, body: { rules: [], confirmDenyAll: true } }),
      200,
    );
    expect(stored.rules).toEqual([]);
    const current = await expectJson<Record<string, unknown>>(await call('GET', path, { key: org.key }), 200);
    expect(current.rules).toEqual([]);
    expect(current).not.toHaveProperty('confirmDenyAll');
  });

  it('does not need confirmation for a non-empty policy', async () => {
    await expectJson(
      await call('PUT', path, { key: org.key, body: { rules: [{ tool: 'echo', action: 'allow' }] } }),
      200,
    );
  });
});
