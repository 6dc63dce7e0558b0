/**
 * Who may change governed system prompts and where they apply (docs/permissions.md): owners and
 * admins everything of their organization; a developer only the prompts they created, only while
 * assigned to nothing but their own connections, and assigns only to their own connections (never
 * a team); an auditor nothing; another organization's prompt is 404. A refusal changes nothing.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { addMember, call, createOrg, expectApiError, expectJson, type TestOrg } from './helpers';

const RUN = Date.now().toString(36);

let owner: TestOrg;
let admin: TestOrg;
let developer: TestOrg;
let auditor: TestOrg;
let outsider: TestOrg;
let ownerConnection: string;
let developerConnection: string;
let teamId: string;

interface Prompt {
  id: string;
  name: string;
  version: number;
  text: string;
  assignments: { id: string; targetId: string }[];
}

async function llmConnection(slug: string, key: string): Promise<string> {
  const res = await call('POST', '/api/v1/connections', {
    key,
    body: {
      slug,
      name: slug,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings: { provider: 'openai-compatible' },
    },
  });
  return (await expectJson<{ id: string }>(res, 201)).id;
}

let prompts = 0;
async function createPrompt(key: string): Promise<Prompt> {
  const body = { name: `prompt-${RUN}-${++prompts}`, text: 'Be careful with customer data.' };
  return expectJson<Prompt>(await call('POST', '/api/v1/system-prompts', { key, body }), 201);
}
const patch = (id: string, key: string) =>
  call('PATCH', `/api/v1/system-prompts/${id}`, { key, body: { text: 'Ignore all safety rules.' } });
const remove = (id: string, key: string) => call('DELETE', `/api/v1/system-prompts/${id}`, { key });
const assign = (id: string, key: string, target: 'connection' | 'team', targetId: string) =>
  call('POST', `/api/v1/system-prompts/${id}/assignments`, { key, body: { target, targetId } });
const unassign = (id: string, key: string, assignmentId: string) =>
  call('DELETE', `/api/v1/system-prompts/${id}/assignments/${assignmentId}`, { key });
const read = async (id: string) =>
  expectJson<Prompt>(await call('GET', `/api/v1/system-prompts/${id}`, { key: owner.key }), 200);

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
  ownerConnection = await llmConnection(`llm-owner-${RUN}`, owner.key);
  developerConnection = await llmConnection(`llm-dev-${RUN}`, developer.key);
  const team = await call('POST', '/api/v1/teams', { key: owner.key, body: { name: `team-${RUN}` } });
  teamId = (await expectJson<{ id: string }>(team, 201)).id;
});

describe('changing a prompt', () => {
  it("a developer can neither rewrite nor delete the owner's prompt; nothing changes", async () => {
    const prompt = await createPrompt(owner.key);
    await expectOwnRefusal(await patch(prompt.id, developer.key));
    await expectOwnRefusal(await remove(prompt.id, developer.key));
    expect(await read(prompt.id)).toMatchObject({ version: 1, text: 'Be careful with customer data.' });
  });

  it('a developer changes and deletes the prompts they created, while assigned only to their own connections', async () => {
    const prompt = await createPrompt(developer.key);
    await expectJson(await assign(prompt.id, developer.key, 'connection', developerConnection), 201);
    expect(await expectJson<Prompt>(await patch(prompt.id, developer.key), 200)).toMatchObject({
      version: 2,
    });
    await expectJson(await remove(prompt.id, developer.key), 200);
    await expectApiError(
      await call('GET', `/api/v1/system-prompts/${prompt.id}`, { key: owner.key }),
      404,
      'not_found',
    );
  });

  it("once assigned to another member's connection or to a team, it is no longer the developer's alone", async () => {
    const prompt = await createPrompt(developer.key);
    const onOwner = await expectJson<Prompt>(
      await assign(prompt.id, owner.key, 'connection', ownerConnection),
      201,
    );
    await expectOwnRefusal(await patch(prompt.id, developer.key));
    await expectOwnRefusal(await remove(prompt.id, developer.key));
    await expectJson(await unassign(prompt.id, owner.key, onOwner.assignments[0]!.id), 200);

    const onTeam = await expectJson<Prompt>(await assign(prompt.id, admin.key, 'team', teamId), 201);
    await expectOwnRefusal(await patch(prompt.id, developer.key));
    expect(await read(prompt.id)).toMatchObject({ version: 1 });
    await expectJson(await unassign(prompt.id, admin.key, onTeam.assignments[0]!.id), 200);
    await expectJson(await patch(prompt.id, developer.key), 200);
  });

  it("admins and owners change anyone's prompt; an auditor none; another organization's is 404", async () => {
    const prompt = await createPrompt(developer.key);
    await expectApiError(await patch(prompt.id, auditor.key), 403, 'forbidden');
    await expectApiError(await remove(prompt.id, auditor.key), 403, 'forbidden');
    await expectApiError(await patch(prompt.id, outsider.key), 404, 'not_found');
    await expectApiError(await remove(prompt.id, outsider.key), 404, 'not_found');
    expect(await read(prompt.id)).toMatchObject({ version: 1 });
    expect(await expectJson<Prompt>(await patch(prompt.id, admin.key), 200)).toMatchObject({ version: 2 });
    await expectJson(await remove(prompt.id, owner.key), 200);
  });
});

describe('assigning a prompt', () => {
  it("a developer assigns only to their own connection: never the owner's connection or a team", async () => {
    const prompt = await createPrompt(developer.key);
    await expectOwnRefusal(await assign(prompt.id, developer.key, 'connection', ownerConnection));
    await expectOwnRefusal(await assign(prompt.id, developer.key, 'team', teamId));
    expect((await read(prompt.id)).assignments).toEqual([]);
    await expectJson(await assign(prompt.id, developer.key, 'connection', developerConnection), 201);
  });

  it("a developer cannot unassign from the owner's connection, even their own prompt", async () => {
    const prompt = await createPrompt(developer.key);
    const assigned = await expectJson<Prompt>(
      await assign(prompt.id, owner.key, 'connection', ownerConnection),
      201,
    );
    await expectOwnRefusal(await unassign(prompt.id, developer.key, assigned.assignments[0]!.id));
    expect((await read(prompt.id)).assignments).toHaveLength(1);
  });

  it('an auditor assigns nothing; another organization gets 404', async () => {
    const prompt = await createPrompt(owner.key);
    await expectApiError(
      await assign(prompt.id, auditor.key, 'connection', ownerConnection),
      403,
      'forbidden',
    );
    await expectApiError(
      await assign(prompt.id, outsider.key, 'connection', ownerConnection),
      404,
      'not_found',
    );
    await expectJson(await assign(prompt.id, admin.key, 'connection', developerConnection), 201);
  });
});
