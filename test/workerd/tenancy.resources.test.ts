/**
 * Tenant isolation of the management resources tenancy.test.ts does not reach (it covers
 * connections, policies, API keys and members): teams and their members, budgets, system prompts
 * and their assignments, trusted XAA issuers, and invitations. A key of organization A — owner or admin — gets
 * 404 `not_found` for every id of organization B, on every verb, learns nothing of B from the
 * answer, and B's resources are unchanged afterwards. Resources proven elsewhere are listed in
 * docs/security-model.md#tenant-isolation.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Browser, uniqueEmail } from './auth.helpers';
import { addMember, call, createOrg, expectJson, memberIdOf, type TestOrg } from './helpers';

let a: TestOrg;
let aAdmin: TestOrg;
let b: TestOrg;
let bDeveloper: TestOrg;
const ids = { team: '', teamMember: '', budget: '', prompt: '', assignment: '', issuer: '' };

/** B's resources, as B's own owner sees them. */
async function snapshotB(): Promise<string> {
  const read = async (path: string) => (await call('GET', path, { key: b.key })).text();
  return JSON.stringify([
    await read('/api/v1/teams'),
    await read('/api/v1/budgets'),
    await read('/api/v1/system-prompts'),
    await read(`/api/v1/system-prompts/${ids.prompt}`),
    await read('/api/v1/xaa/issuers'),
  ]);
}

beforeAll(async () => {
  a = await createOrg('owner');
  aAdmin = await addMember(a.orgId, 'admin');
  b = await createOrg('owner');
  bDeveloper = await addMember(b.orgId, 'developer');
  const team = await expectJson<{ id: string; members: { id: string }[] }>(
    await call('POST', '/api/v1/teams', { key: b.key, body: { name: 'b-team' } }),
    201,
  );
  ids.team = team.id;
  const withMember = await expectJson<{ members: { id: string }[] }>(
    await call('POST', `/api/v1/teams/${team.id}/members`, {
      key: b.key,
      body: { userId: bDeveloper.userId },
    }),
    201,
  );
  ids.teamMember = withMember.members[0]!.id;
  ids.budget = (
    await expectJson<{ id: string }>(
      await call('POST', '/api/v1/budgets', { key: b.key, body: { scope: 'org', limitUsd: 10 } }),
      201,
    )
  ).id;
  ids.prompt = (
    await expectJson<{ id: string }>(
      await call('POST', '/api/v1/system-prompts', {
        key: b.key,
        body: { name: 'b-prompt', text: 'B only.' },
      }),
      201,
    )
  ).id;
  const assigned = await expectJson<{ assignments: { id: string }[] }>(
    await call('POST', `/api/v1/system-prompts/${ids.prompt}/assignments`, {
      key: b.key,
      body: { target: 'team', targetId: ids.team },
    }),
    201,
  );
  ids.assignment = assigned.assignments[0]!.id;
  ids.issuer = (
    await expectJson<{ id: string }>(
      await call('POST', '/api/v1/xaa/issuers', {
        key: b.key,
        body: {
          issuer: 'https://idp.b.example',
          jwksUri: 'https://idp.b.example/jwks',
          clients: ['b-client'],
        },
      }),
      201,
    )
  ).id;
  // B's member id must exist for the team-member cases to mean something.
  expect(await memberIdOf(b.orgId, bDeveloper.userId)).toBeTruthy();
});

const cases: Array<[string, string, () => string, unknown?]> = [
  ['read a team', 'GET', () => `/api/v1/teams/${ids.team}`],
  ['rename a team', 'PATCH', () => `/api/v1/teams/${ids.team}`, { name: 'pwned' }],
  ['delete a team', 'DELETE', () => `/api/v1/teams/${ids.team}`],
  ['add to a team', 'POST', () => `/api/v1/teams/${ids.team}/members`, { userId: 'usr_x' }],
  ['remove from a team', 'DELETE', () => `/api/v1/teams/${ids.team}/members/${ids.teamMember}`],
  ['read a budget', 'GET', () => `/api/v1/budgets/${ids.budget}`],
  ['change a budget', 'PATCH', () => `/api/v1/budgets/${ids.budget}`, { limitUsd: 1_000_000 }],
  ['delete a budget', 'DELETE', () => `/api/v1/budgets/${ids.budget}`],
  ['reset a budget', 'POST', () => `/api/v1/budgets/${ids.budget}/reset`],
  ['read a system prompt', 'GET', () => `/api/v1/system-prompts/${ids.prompt}`],
  [
    'change a system prompt',
    'PATCH',
    () => `/api/v1/system-prompts/${ids.prompt}`,
    { text: 'A wrote this.' },
  ],
  ['delete a system prompt', 'DELETE', () => `/api/v1/system-prompts/${ids.prompt}`],
  [
    'assign a system prompt',
    'POST',
    () => `/api/v1/system-prompts/${ids.prompt}/assignments`,
    {
      target: 'team',
      // Read when the request is made (after beforeAll made the team).
      get targetId() {
        return ids.team;
      },
    },
  ],
  [
    'unassign a system prompt',
    'DELETE',
    () => `/api/v1/system-prompts/${ids.prompt}/assignments/${ids.assignment}`,
  ],
  ['stop trusting an XAA issuer', 'DELETE', () => `/api/v1/xaa/issuers/${ids.issuer}`],
];

describe.each([
  ['owner', () => a],
  ['admin', () => aAdmin],
])("a key of organization A (%s) on organization B's resources", (_role, caller) => {
  it.each(cases)(
    '%s: 404, nothing of B in the answer, nothing changed',
    async (_label, method, path, body) => {
      const before = await snapshotB();
      const res = await call(method, path(), { key: caller().key, body });
      const text = await res.text();
      expect(res.status, text).toBe(404);
      expect(JSON.parse(text).error.code).toBe('not_found');
      for (const secret of [
        b.orgId,
        b.userId,
        bDeveloper.userId,
        'b-team',
        'b-prompt',
        'B only.',
        'idp.b.example',
      ]) {
        expect(text).not.toContain(secret);
      }
      expect(await snapshotB()).toBe(before);
    },
  );
});

describe('listings', () => {
  it("never include B's teams, budgets, prompts or issuers", async () => {
    for (const path of [
      '/api/v1/teams',
      '/api/v1/budgets',
      '/api/v1/system-prompts',
      '/api/v1/xaa/issuers',
    ]) {
      const text = await (await call('GET', path, { key: aAdmin.key })).text();
      for (const id of Object.values(ids)) expect(text, path).not.toContain(id);
    }
  });
});

describe('invitations (signed-in people, /api/auth)', () => {
  it("an owner of A can neither see nor revoke B's pending invitation (404); it stays pending", async () => {
    const ownerB = new Browser();
    await ownerB.signUp();
    const invited = uniqueEmail('b-invitee');
    const made = await ownerB.fetch('POST', '/api/auth/invitations', {
      body: { email: invited, role: 'admin' },
    });
    expect(made.status, await made.clone().text()).toBe(201);
    const invitation = (await made.json()) as { id: string };
    const ownerA = new Browser();
    await ownerA.signUp();
    const revoke = await ownerA.fetch('DELETE', `/api/auth/invitations/${invitation.id}`);
    const text = await revoke.text();
    expect(revoke.status, text).toBe(404);
    expect(text).not.toContain(invited);
    const listed = await (await ownerA.fetch('GET', '/api/auth/invitations')).text();
    expect(listed).not.toContain(invitation.id);
    const stillPending = (await (await ownerB.fetch('GET', '/api/auth/invitations')).json()) as {
      invitations: { id: string }[];
    };
    expect(stillPending.invitations.map((i) => i.id)).toContain(invitation.id);
  });
});
