/**
 * Tool annotations as policy input (docs/tool-integrity.md#annotations-as-policy-input), through the
 * gateway against the real test upstream's `/mutable` route: `annotations.*` conditions read the
 * **pinned** (approved) definition's hints from the integrity state — never the live answer — and
 * the shipped `read_only` template allows only tools pinned as `readOnlyHint: true`.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { bootstrapDefault, call, createConnection, json, mcp, putPolicy, rpcResult } from './helpers';

const RUN = Date.now().toString(36);
let orgId: string;

beforeAll(async () => {
  orgId = await bootstrapDefault();
});

interface Template {
  id: string;
  rules: unknown[];
}
interface Item {
  name: string;
  version: number;
  fingerprint: string;
}

async function readOnlyTemplate(): Promise<Template> {
  const res = await call('GET', '/api/v1/policy/templates');
  expect(res.status).toBe(200);
  const { templates } = await json<{ templates: Template[] }>(res);
  return templates.find((t) => t.id === 'read_only')!;
}

async function listedTools(slug: string): Promise<string[]> {
  const answer = await rpcResult(await mcp(slug, 'tools/list', {}));
  return (answer.result!.tools as Array<{ name: string }>).map((t) => t.name);
}

async function callTool(slug: string, name: string, args: Record<string, unknown>) {
  return rpcResult(await mcp(slug, 'tools/call', { name, arguments: args }));
}

async function inventoryWhen(slug: string, ready: (items: Item[]) => boolean): Promise<Item[]> {
  let items: Item[] = [];
  for (let i = 0; i < 100; i++) {
    items = (await json<{ items: Item[] }>(await call('GET', `/api/v1/connections/${slug}/tools`))).items;
    if (ready(items)) return items;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`inventory of ${slug} never got ready: ${JSON.stringify(items)}`);
}

describe('the read-only template on pinned annotations', () => {
  it('allows only tools whose approved definition is readOnlyHint: true', async () => {
    const slug = `ann-ro-${RUN}`;
    const key = `ann-ro-${RUN}`;
    const { id } = await createConnection(slug, { upstreamPath: `/mutable?variant=${key}` });
    const template = await readOnlyTemplate();
    await putPolicy(slug, template.rules);

    // Nothing approved: the live answer says lookup is read-only, but nothing is pinned — denied,
    // and the list (decided with the same pinned annotations) is empty.
    expect(await listedTools(slug)).toEqual([]);
    const before = await callTool(slug, 'lookup', { id: '1' });
    expect(before.error).toMatchObject({ data: { code: 'policy_denied' } });

    const baseline = await inventoryWhen(slug, (items) => items.length === 3);
    const approve = await call('POST', `/api/v1/connections/${slug}/tools/approve`, { body: { all: true } });
    expect(approve.status).toBe(200);
    // The hot-path state carries the pinned hints (and only booleans of the four known hints).
    const state = await env.POLICY_KV.get<{ annotations: Record<string, unknown> }>(
      `integrity:${orgId}:${id}`,
      'json',
    );
    expect(state!.annotations).toEqual({
      lookup: { readOnlyHint: true },
      delete_thing: { destructiveHint: true },
    });

    expect(await listedTools(slug)).toEqual(['lookup']);
    const ok = await callTool(slug, 'lookup', { id: '1' });
    expect(ok.result!.content).toEqual([{ type: 'text', text: 'record 1' }]);
    const destructive = await callTool(slug, 'delete_thing', { id: '1' });
    expect(destructive.error).toMatchObject({ data: { code: 'policy_denied' } });
    const unannotated = await callTool(slug, 'echo', { message: 'hi' });
    expect(unannotated.error).toMatchObject({ data: { code: 'policy_denied' } });

    // The rug pull: the server now says lookup is not read-only. The pinned baseline (v1) still
    // decides until the new definition is approved; approving it makes lookup denied.
    await fetch(`${env.UPSTREAM_URL}/mutable/set?variant=${key}&version=2`, { method: 'POST' });
    await listedTools(slug);
    const changed = await inventoryWhen(
      slug,
      (items) => items.find((i) => i.name === 'lookup')?.version === 2,
    );
    const stillPinned = await callTool(slug, 'lookup', { id: '1', note: 'n' });
    expect(stillPinned.result!.content).toEqual([{ type: 'text', text: 'record 1 (v2)' }]);
    const lookup = changed.find((i) => i.name === 'lookup')!;
    const reapprove = await call('POST', `/api/v1/connections/${slug}/tools/approve`, {
      body: { items: [{ kind: 'tool', name: 'lookup', fingerprint: lookup.fingerprint }] },
    });
    expect(reapprove.status).toBe(200);
    const after = await callTool(slug, 'lookup', { id: '1', note: 'n' });
    expect(after.error).toMatchObject({ data: { code: 'policy_denied' } });
    expect(baseline).toHaveLength(3);
  });

  it('the simulator reads annotations given to it; other fields are refused', async () => {
    const slug = `ann-sim-${RUN}`;
    await createConnection(slug, { upstreamPath: '/stateless' });
    const template = await readOnlyTemplate();
    await putPolicy(slug, template.rules);
    const simulate = async (body: Record<string, unknown>) =>
      call('POST', `/api/v1/connections/${slug}/policy/simulate`, { body });
    const ro = await json<{ decision: string }>(
      await simulate({ tool: 'lookup', annotations: { readOnlyHint: true } }),
    );
    expect(ro.decision).toBe('allow');
    const rw = await json<{ decision: string }>(await simulate({ tool: 'lookup' }));
    expect(rw.decision).toBe('deny');
    const bad = await call('PUT', `/api/v1/connections/${slug}/policy`, {
      body: { rules: [{ tool: '*', action: 'allow', conditions: { 'annotations.title': 'x' } }] },
    });
    expect(bad.status).toBe(400);
  });
});
