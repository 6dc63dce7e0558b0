/**
 * The listings of custom detection rules, packs and system prompts say who created each item
 * (`createdBy`) and whether the caller may change it now (`canEdit`), so the dashboard offers edit
 * and delete only where they work. `canEdit` is judged by the same code as the change: for every
 * role and item here, the change itself (re-saving the item as it is) succeeds exactly when the
 * listing said `canEdit` — owner, admin, a developer on their own item, a developer on another's
 * (or on their own once it reaches another member's connection or a team), an auditor.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { addMember, call, createConnection, createOrg, expectJson, type TestOrg } from './helpers';

const RUN = Date.now().toString(36);

let owner: TestOrg;
let admin: TestOrg;
let developer: TestOrg;
let auditor: TestOrg;
let other: TestOrg;

interface Listed {
  createdBy: string | null;
  canEdit: boolean;
}

const rule = (id: string) => ({
  id,
  category: 'secret',
  severity: 'low',
  where: ['args'],
  detection: { literals: ['EDITRIGHTS-'], pattern: 'EDITRIGHTS-\\d{4}' },
  action: 'log',
  description: 'Edit-rights test tokens',
  examples: { positive: ['see EDITRIGHTS-1234 now'], negative: ['no token here'] },
});
const pack = (name: string, rules: string[]) => ({
  name,
  description: 'Edit-rights pack',
  rules,
  categories: [],
});

const R = {
  owner: `custom.er_owner_${RUN}`,
  dev: `custom.er_dev_${RUN}`,
  // The developer's, but selected by the owner's pack that the owner's connection applies.
  devReached: `custom.er_dev_reached_${RUN}`,
};
const P = {
  owner: `er-owner-${RUN}`,
  dev: `er-dev-${RUN}`,
  // The developer's, applied by the owner's connection.
  devApplied: `er-dev-applied-${RUN}`,
  // The owner's, selecting the developer's rule R.devReached, applied by the owner's connection.
  ownerSelecting: `er-owner-sel-${RUN}`,
};
const PROMPTS: Record<'owner' | 'dev' | 'devTeam', { id: string; name: string }> = {
  owner: { id: '', name: `er-owner-${RUN}` },
  dev: { id: '', name: `er-dev-${RUN}` },
  // The developer's, assigned to a team by the owner: no longer the developer's alone.
  devTeam: { id: '', name: `er-dev-team-${RUN}` },
};

async function post(path: string, key: string, body: unknown) {
  return expectJson<{ id?: string }>(await call('POST', `/api/v1${path}`, { key, body }), 201);
}

beforeAll(async () => {
  owner = await createOrg('owner');
  admin = await addMember(owner.orgId, 'admin');
  developer = await addMember(owner.orgId, 'developer');
  auditor = await addMember(owner.orgId, 'auditor');
  other = await addMember(owner.orgId, 'developer');
  await post('/detections/rules', owner.key, rule(R.owner));
  await post('/detections/rules', developer.key, rule(R.dev));
  await post('/detections/rules', developer.key, rule(R.devReached));
  await post('/detections/packs', owner.key, pack(P.owner, ['pii.email']));
  await post('/detections/packs', developer.key, pack(P.dev, [R.dev]));
  await post('/detections/packs', developer.key, pack(P.devApplied, ['pii.email']));
  await post('/detections/packs', owner.key, pack(P.ownerSelecting, [R.devReached]));
  const slug = `er-owner-conn-${RUN}`;
  await createConnection(slug, { key: owner.key });
  await expectJson(
    await call('PATCH', `/api/v1/connections/${slug}`, {
      key: owner.key,
      body: { settings: { inspection: { packs: [P.devApplied, P.ownerSelecting] } } },
    }),
    200,
  );
  const text = 'Be careful with customer data.';
  PROMPTS.owner.id = (await post('/system-prompts', owner.key, { name: PROMPTS.owner.name, text })).id!;
  PROMPTS.dev.id = (await post('/system-prompts', developer.key, { name: PROMPTS.dev.name, text })).id!;
  PROMPTS.devTeam.id = (await post('/system-prompts', developer.key, { name: PROMPTS.devTeam.name, text }))
    .id!;
  const team = await post('/teams', owner.key, { name: `er-team-${RUN}` });
  await post(`/system-prompts/${PROMPTS.devTeam.id}/assignments`, owner.key, {
    target: 'team',
    targetId: team.id,
  });
});

type Who = 'owner' | 'admin' | 'developer' | 'auditor' | 'other';
const keyOf = (who: Who) => ({ owner, admin, developer, auditor, other })[who].key;
const WHO: Who[] = ['owner', 'admin', 'developer', 'other', 'auditor'];

async function listed<T extends Listed>(who: Who, path: string, field: string, id: (item: T) => string) {
  const body = await expectJson<Record<string, T[]>>(
    await call('GET', `/api/v1${path}`, { key: keyOf(who) }),
    200,
  );
  return new Map(body[field]!.map((item) => [id(item), item]));
}

/** What each role is expected to see as canEdit, per item. */
const EDITORS = {
  owned: ['owner', 'admin'],
  developers: ['owner', 'admin', 'developer'],
};

describe('custom detection rules: createdBy and canEdit', () => {
  const expected: Record<string, { by: () => string; editors: string[] }> = {
    [R.owner]: { by: () => owner.userId, editors: EDITORS.owned },
    [R.dev]: { by: () => developer.userId, editors: EDITORS.developers },
    [R.devReached]: { by: () => developer.userId, editors: EDITORS.owned },
  };

  it.each(WHO)('as %s: each rule’s creator, canEdit as the change itself answers', async (who) => {
    const rules = await listed<Listed & { id: string; custom: boolean }>(
      who,
      '/detections/rules',
      'rules',
      (r) => r.id,
    );
    const builtin = [...rules.values()].find((r) => !r.custom)!;
    expect(builtin).toMatchObject({ createdBy: null, canEdit: false });
    for (const [id, { by, editors }] of Object.entries(expected)) {
      const item = rules.get(id)!;
      expect({ id, createdBy: item.createdBy, canEdit: item.canEdit }).toEqual({
        id,
        createdBy: by(),
        canEdit: editors.includes(who),
      });
      const change = await call('PUT', `/api/v1/detections/rules/${id}`, { key: keyOf(who), body: rule(id) });
      expect({ id, status: change.status }).toEqual({ id, status: item.canEdit ? 200 : 403 });
      await change.text();
    }
  });
});

describe('custom detection packs: createdBy and canEdit', () => {
  const expected: Record<string, { by: () => string; editors: string[]; rules: string[] }> = {
    [P.owner]: { by: () => owner.userId, editors: EDITORS.owned, rules: ['pii.email'] },
    [P.dev]: { by: () => developer.userId, editors: EDITORS.developers, rules: [R.dev] },
    [P.devApplied]: { by: () => developer.userId, editors: EDITORS.owned, rules: ['pii.email'] },
  };

  it.each(WHO)('as %s: each pack’s creator, canEdit as the change itself answers', async (who) => {
    const packs = await listed<Listed & { name: string; custom: boolean }>(
      who,
      '/detections/packs',
      'packs',
      (p) => p.name,
    );
    expect([...packs.values()].find((p) => !p.custom)).toMatchObject({ createdBy: null, canEdit: false });
    for (const [name, { by, editors, rules }] of Object.entries(expected)) {
      const item = packs.get(name)!;
      expect({ name, createdBy: item.createdBy, canEdit: item.canEdit }).toEqual({
        name,
        createdBy: by(),
        canEdit: editors.includes(who),
      });
      const change = await call('PUT', `/api/v1/detections/packs/${name}`, {
        key: keyOf(who),
        body: pack(name, rules),
      });
      expect({ name, status: change.status }).toEqual({ name, status: item.canEdit ? 200 : 403 });
      await change.text();
    }
  });
});

describe('system prompts: createdBy and canEdit, in the list and the single read', () => {
  const expected = {
    owner: { by: () => owner.userId, editors: EDITORS.owned },
    dev: { by: () => developer.userId, editors: EDITORS.developers },
    devTeam: { by: () => developer.userId, editors: EDITORS.owned },
  };

  it.each(WHO)('as %s: each prompt’s creator, canEdit as the change itself answers', async (who) => {
    const prompts = await listed<Listed & { id: string }>(
      who,
      '/system-prompts',
      'systemPrompts',
      (p) => p.id,
    );
    for (const [label, { by, editors }] of Object.entries(expected)) {
      const { id, name } = PROMPTS[label as keyof typeof PROMPTS];
      const item = prompts.get(id)!;
      const want = { label, createdBy: by(), canEdit: editors.includes(who) };
      expect({ label, createdBy: item.createdBy, canEdit: item.canEdit }).toEqual(want);
      const one = await expectJson<Listed>(
        await call('GET', `/api/v1/system-prompts/${id}`, { key: keyOf(who) }),
        200,
      );
      expect({ label, createdBy: one.createdBy, canEdit: one.canEdit }).toEqual(want);
      // A rename to its own name: allowed exactly where canEdit says, and changes nothing.
      const change = await call('PATCH', `/api/v1/system-prompts/${id}`, { key: keyOf(who), body: { name } });
      expect({ label, status: change.status }).toEqual({ label, status: item.canEdit ? 200 : 403 });
      await change.text();
    }
  });
});
