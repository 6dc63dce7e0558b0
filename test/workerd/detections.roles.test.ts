/**
 * Who may change custom detection rules and packs (docs/permissions.md): owners and admins any of
 * their organization's; a developer only those they created, and only while the change reaches no
 * one else's connection; an auditor none; another organization's are 404. A refusal changes nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  call,
  createConnection,
  createOrg,
  expectApiError,
  expectJson,
  type TestOrg,
} from './helpers';

const RUN = Date.now().toString(36);

let owner: TestOrg;
let admin: TestOrg;
let developer: TestOrg;
let auditor: TestOrg;
let outsider: TestOrg;

const rule = (id: string, overrides: Record<string, unknown> = {}) => ({
  id,
  category: 'secret',
  severity: 'high',
  where: ['args', 'prompt'],
  detection: { literals: ['ROLES-'], pattern: 'ROLES-\\d{4}' },
  action: 'block',
  description: 'Role test tokens',
  examples: { positive: ['see ROLES-1234 now'], negative: ['no token here'] },
  ...overrides,
});

const pack = (name: string, rules: string[], categories: string[] = []) => ({
  name,
  description: 'Role test pack',
  rules,
  categories,
});

const putRule = (id: string, key: string, overrides: Record<string, unknown> = {}) =>
  call('PUT', `/api/v1/detections/rules/${id}`, { key, body: rule(id, overrides) });
const deleteRule = (id: string, key: string) => call('DELETE', `/api/v1/detections/rules/${id}`, { key });
const putPack = (name: string, key: string, rules: string[]) =>
  call('PUT', `/api/v1/detections/packs/${name}`, { key, body: pack(name, rules) });
const deletePack = (name: string, key: string) => call('DELETE', `/api/v1/detections/packs/${name}`, { key });

async function createRule(id: string, key: string, overrides: Record<string, unknown> = {}) {
  await expectJson(await call('POST', '/api/v1/detections/rules', { key, body: rule(id, overrides) }), 201);
}
async function createPack(name: string, key: string, rules: string[], categories: string[] = []) {
  await expectJson(
    await call('POST', '/api/v1/detections/packs', { key, body: pack(name, rules, categories) }),
    201,
  );
}
async function applyPacks(slug: string, key: string, packs: string[]) {
  await expectJson(
    await call('PATCH', `/api/v1/connections/${slug}`, {
      key,
      body: { settings: { inspection: { packs } } },
    }),
    200,
  );
}
async function storedRule(id: string) {
  const { rules } = await expectJson<{ rules: { id: string; action: string }[] }>(
    await call('GET', '/api/v1/detections/rules', { key: owner.key }),
    200,
  );
  return rules.find((r) => r.id === id);
}

async function expectOwnRefusal(res: Response) {
  const error = await expectApiError(res, 403, 'forbidden');
  expect(error.details).toMatchObject({ permission: 'policies:write', role: 'developer', scope: 'own' });
}

beforeAll(async () => {
  owner = await createOrg('owner');
  admin = await addMember(owner.orgId, 'admin');
  developer = await addMember(owner.orgId, 'developer');
  auditor = await addMember(owner.orgId, 'auditor');
  outsider = await createOrg('owner');
});

describe('custom rules', () => {
  it("a developer can neither rewrite nor delete the owner's rule; nothing changes", async () => {
    const id = `custom.owner_rule_${RUN}`;
    await createRule(id, owner.key);
    await expectOwnRefusal(await putRule(id, developer.key, { action: 'log' }));
    await expectOwnRefusal(await deleteRule(id, developer.key));
    expect(await storedRule(id)).toMatchObject({ action: 'block' });
  });

  it('a developer changes and deletes the rules they created', async () => {
    const id = `custom.dev_rule_${RUN}`;
    await createRule(id, developer.key);
    expect(await expectJson(await putRule(id, developer.key, { action: 'log' }), 200)).toMatchObject({
      action: 'log',
    });
    await expectJson(await deleteRule(id, developer.key), 200);
    expect(await storedRule(id)).toBeUndefined();
  });

  it("admins and owners change anyone's rule; an auditor none; another organization's is 404", async () => {
    const id = `custom.dev_for_admin_${RUN}`;
    await createRule(id, developer.key);
    await expectApiError(await putRule(id, auditor.key, { action: 'log' }), 403, 'forbidden');
    await expectApiError(await deleteRule(id, auditor.key), 403, 'forbidden');
    await expectApiError(await putRule(id, outsider.key, { action: 'log' }), 404, 'not_found');
    await expectApiError(await deleteRule(id, outsider.key), 404, 'not_found');
    expect(await storedRule(id)).toMatchObject({ action: 'block' });
    await expectJson(await putRule(id, admin.key, { action: 'alert' }), 200);
    await expectJson(await putRule(id, owner.key, { action: 'log' }), 200);
    expect(await storedRule(id)).toMatchObject({ action: 'log' });
    await expectJson(await deleteRule(id, admin.key), 200);
  });

  it("a developer's rule may not reach another member's connection through a pack selecting its category", async () => {
    // The owner's pack selects every `exfiltration` rule and is applied on the owner's connection.
    const ownerPack = `exfil-${RUN}`;
    const slug = `roles-owner-${RUN}`;
    await createPack(ownerPack, owner.key, [], ['exfiltration']);
    await createConnection(slug, { key: owner.key });
    await applyPacks(slug, owner.key, [ownerPack]);

    const joining = `custom.dev_exfil_${RUN}`;
    await expectOwnRefusal(
      await call('POST', '/api/v1/detections/rules', {
        key: developer.key,
        body: rule(joining, { category: 'exfiltration' }),
      }),
    );
    expect(await storedRule(joining)).toBeUndefined();

    // Their own rule of another category: moving it into that category is refused too.
    const moving = `custom.dev_moving_${RUN}`;
    await createRule(moving, developer.key);
    await expectOwnRefusal(await putRule(moving, developer.key, { category: 'exfiltration' }));
    expect(await storedRule(moving)).toMatchObject({ action: 'block' });
    // An admin may: the whole organization is theirs.
    await expectJson(
      await call('POST', '/api/v1/detections/rules', {
        key: admin.key,
        body: rule(joining, { category: 'exfiltration' }),
      }),
      201,
    );
  });
});

describe('custom packs', () => {
  it("a developer can neither rewrite nor delete the owner's pack", async () => {
    const name = `owner-pack-${RUN}`;
    await createPack(name, owner.key, [], ['secret']);
    await expectOwnRefusal(await putPack(name, developer.key, ['pii.iban']));
    await expectOwnRefusal(await deletePack(name, developer.key));
    const { packs } = await expectJson<{ packs: { name: string; categories: string[] }[] }>(
      await call('GET', '/api/v1/detections/packs', { key: owner.key }),
      200,
    );
    expect(packs.find((p) => p.name === name)?.categories).toEqual(['secret']);
    await expectApiError(await putPack(name, auditor.key, ['pii.iban']), 403, 'forbidden');
    await expectApiError(await putPack(name, outsider.key, ['pii.iban']), 404, 'not_found');
    await expectApiError(await deletePack(name, outsider.key), 404, 'not_found');
    await expectJson(await putPack(name, admin.key, ['pii.iban']), 200);
    await expectJson(await deletePack(name, admin.key), 200);
  });

  it('a developer changes their own pack while only their connections apply it, not once another member applies it', async () => {
    const name = `dev-pack-${RUN}`;
    const mine = `roles-dev-${RUN}`;
    const theirs = `roles-admin-${RUN}`;
    await createPack(name, developer.key, ['pii.email']);
    await createConnection(mine, { key: developer.key });
    await applyPacks(mine, developer.key, [name]);
    await expectJson(await putPack(name, developer.key, ['pii.email', 'pii.iban']), 200);

    await createConnection(theirs, { key: admin.key });
    await applyPacks(theirs, admin.key, [name]);
    await expectOwnRefusal(await putPack(name, developer.key, ['pii.iban']));
    await expectJson(await putPack(name, owner.key, ['pii.iban']), 200);

    // Unapplied everywhere, its creator may delete it.
    await applyPacks(mine, developer.key, []);
    await applyPacks(theirs, admin.key, []);
    await expectJson(await deletePack(name, developer.key), 200);
  });
});
