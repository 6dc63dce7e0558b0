/**
 * Tool integrity through the gateway (docs/tool-integrity.md), with the real test upstream's
 * `/mutable` route (scripts/demo-mcp-mutable.ts), whose tools change on demand: fingerprints and
 * drift recorded once per change (audit row + tool_drift event), rug-pull quarantine, fail-closed
 * discovery, approval, and per-caller list filtering.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { patchSettings } from './gateway.fixtures';
import {
  bootstrapDefault,
  call,
  createConnection,
  hubEvents,
  json,
  mcp,
  putPolicy,
  rpcResult,
} from './helpers';

const RUN = Date.now().toString(36);
let orgId: string;

beforeAll(async () => {
  orgId = await bootstrapDefault();
});

/** Switches a /mutable key of the test upstream to a variant (1 baseline, 2 rug pull, 3 shrunk). */
async function setVariant(key: string, version: 1 | 2 | 3) {
  const res = await fetch(`${env.UPSTREAM_URL}/mutable/set?variant=${key}&version=${version}`, {
    method: 'POST',
  });
  expect(res.status).toBe(204);
}

async function mutableConnection(label: string, settings: Record<string, unknown> = {}) {
  const slug = `int-${label}-${RUN}`;
  const key = `${label}-${RUN}`;
  const { id } = await createConnection(slug, { upstreamPath: `/mutable?variant=${key}` });
  await putPolicy(slug, [{ tool: '*', action: 'allow' }]);
  if (Object.keys(settings).length > 0) await patchSettings(slug, settings);
  return { slug, key, id };
}

interface Item {
  kind: string;
  name: string;
  fingerprint: string | null;
  version: number;
  removed: boolean;
  quarantined: boolean;
  approved: boolean;
  findings: Array<{ kind: string; severity: string }>;
}

async function inventory(slug: string): Promise<Item[]> {
  const res = await call('GET', `/api/v1/connections/${slug}/tools`);
  expect(res.status).toBe(200);
  return (await json<{ items: Item[] }>(res)).items;
}

/** Polls the inventory until `ready` holds: the recording runs after the answer (waitUntil). */
async function inventoryWhen(slug: string, ready: (items: Item[]) => boolean): Promise<Item[]> {
  let items: Item[] = [];
  for (let i = 0; i < 100; i++) {
    items = await inventory(slug);
    if (ready(items)) return items;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`inventory of ${slug} never got ready: ${JSON.stringify(items)}`);
}

async function listedToolsWhen(slug: string, ready: (names: string[]) => boolean): Promise<string[]> {
  let names: string[] = [];
  for (let i = 0; i < 100; i++) {
    names = await listedTools(slug);
    if (ready(names)) return names;
    await new Promise((r) => setTimeout(r, 50));
  }
  return names;
}

const item = (items: Item[], name: string) => items.find((i) => i.name === name);

/**
 * The connection's tool_drift events once `ready` holds. The recording publishes them last, after
 * its rows, the republished state and the shadowing re-scan (integrity.record.ts, under waitUntil),
 * so a test that waited for the quarantine to be in force may still be ahead of them.
 */
async function driftEventsWhen(
  connectionId: string,
  ready: (events: Array<Record<string, unknown>>) => boolean,
): Promise<Array<Record<string, unknown>>> {
  const drift = async () =>
    (await hubEvents(orgId))
      .map((b) => JSON.parse(b) as Record<string, unknown>)
      .filter((e) => e.type === 'tool_drift' && e.serverId === connectionId);
  const deadline = Date.now() + 10_000;
  let events = await drift();
  while (!ready(events) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    events = await drift();
  }
  return events;
}

async function listedWhen(
  list: () => Promise<string[]>,
  ready: (names: string[]) => boolean,
): Promise<string[]> {
  let names: string[] = [];
  for (let i = 0; i < 100; i++) {
    names = await list();
    if (ready(names)) return names;
    await new Promise((r) => setTimeout(r, 50));
  }
  return names;
}

async function listedTools(slug: string, headers: Record<string, string> = {}): Promise<string[]> {
  const answer = await rpcResult(await mcp(slug, 'tools/list', {}, { headers }));
  return (answer.result!.tools as Array<{ name: string }>).map((t) => t.name);
}

async function driftRows(connectionId: string) {
  const { results } = await env.DB.prepare(
    "SELECT type, action, tool, details FROM audit_events WHERE connection_id = ? AND action = 'tool_drift' ORDER BY created_at, id",
  )
    .bind(connectionId)
    .all<{ type: string; action: string; tool: string; details: string }>();
  return results.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
}

describe('fingerprints, drift and rug pulls (discovery: alert)', () => {
  it('records the baseline, then a rug pull once: audit rows, tool_drift events, quarantine until approved', async () => {
    const { slug, key, id } = await mutableConnection('alert', { integrity: { quarantineOnCritical: true } });
    expect(await listedTools(slug)).toEqual(['lookup', 'echo', 'delete_thing']);
    const baseline = await inventoryWhen(slug, (items) => items.length === 3);
    expect(baseline.every((i) => i.version === 1 && /^[0-9a-f]{64}$/.test(i.fingerprint!))).toBe(true);

    // The rug pull: lookup's description is poisoned, it gains a required parameter and stops
    // being read-only; export_data appears.
    await setVariant(key, 2);
    const pulled = await listedTools(slug);
    expect(pulled).toContain('export_data');
    const after = await inventoryWhen(slug, (items) => item(items, 'lookup')?.version === 2);
    expect(item(after, 'lookup')).toMatchObject({ quarantined: true, version: 2 });
    expect(item(after, 'lookup')!.findings.map((f) => f.kind)).toEqual(
      expect.arrayContaining(['hidden_instruction_tag', 'concealment', 'sensitive_file']),
    );
    expect(item(after, 'export_data')).toMatchObject({ version: 1, quarantined: false });
    expect(item(after, 'echo')!.version).toBe(1);

    // The quarantine is published after the answer that showed the change (the recording runs
    // under waitUntil, after the inventory rows): wait until it is in force, then listing again
    // changes nothing — drift is recorded once per change, not per call.
    expect(await listedToolsWhen(slug, (names) => !names.includes('lookup'))).toEqual([
      'export_data',
      'echo',
      'delete_thing',
    ]);
    await listedTools(slug);
    const rows = await driftRows(id);
    const changes = rows.map((r) => [r.tool, r.details.version, r.details.severity]);
    expect(changes).toEqual(
      expect.arrayContaining([
        ['lookup', 2, 'critical'],
        ['export_data', 1, 'warning'],
      ]),
    );
    expect(rows.filter((r) => r.tool === 'lookup' && r.details.version === 2)).toHaveLength(1);
    expect(rows[0]!.type).toBe('anomaly');
    const lookupRow = rows.find((r) => r.tool === 'lookup' && r.details.version === 2)!;
    expect((lookupRow.details.changes as Array<{ change: string }>).map((c) => c.change)).toEqual(
      expect.arrayContaining(['required_parameter_added', 'annotation_changed', 'poisoned_description']),
    );

    const events = await driftEventsWhen(id, (e) =>
      e.some((d) => d.toolName === 'lookup' && d.version === 2),
    );
    expect(events.filter((e) => e.toolName === 'lookup' && e.version === 2)).toEqual([
      expect.objectContaining({ severity: 'critical', quarantined: true, slug }),
    ]);

    // Quarantined: hidden (above) and refused.
    const refused = await rpcResult(
      await mcp(slug, 'tools/call', { name: 'lookup', arguments: { id: '1', note: 'x' } }),
    );
    expect(refused.error).toMatchObject({ code: -32013, data: { code: 'tool_not_approved' } });
    expect(refused.error!.data!.details).toMatchObject({ tool: 'lookup', reason: 'quarantined' });

    // An owner approves the exact new fingerprint: listed and callable again.
    const approve = await call('POST', `/api/v1/connections/${slug}/tools/approve`, {
      body: { items: [{ kind: 'tool', name: 'lookup', fingerprint: item(after, 'lookup')!.fingerprint }] },
    });
    expect(approve.status).toBe(200);
    expect(item((await json<{ items: Item[] }>(approve)).items, 'lookup')).toMatchObject({
      quarantined: false,
      approved: true,
    });
    expect(await listedTools(slug)).toContain('lookup');
    const ok = await rpcResult(
      await mcp(slug, 'tools/call', { name: 'lookup', arguments: { id: '1', note: 'x' } }),
    );
    expect(ok.result!.content).toEqual([{ type: 'text', text: 'record 1 (v2)' }]);
    const approval = await env.DB.prepare(
      "SELECT actor, details FROM audit_events WHERE connection_id = ? AND action = 'tools.approve'",
    )
      .bind(id)
      .first<{ actor: string; details: string }>();
    expect(approval!.actor).toMatch(/^(key|user):/);
    expect(JSON.parse(approval!.details).items[0]).toMatchObject({ name: 'lookup' });
  });

  it('a removed tool is critical drift; the history lists every version newest first', async () => {
    const { slug, key, id } = await mutableConnection('removed');
    await listedTools(slug);
    await inventoryWhen(slug, (items) => items.length === 3);
    await setVariant(key, 3);
    // Three agents see the change at once: each answer is recorded, the change only once.
    expect(await Promise.all([listedTools(slug), listedTools(slug), listedTools(slug)])).toEqual([
      ['echo'],
      ['echo'],
      ['echo'],
    ]);
    const items = await inventoryWhen(slug, (i) => item(i, 'lookup')?.removed === true);
    expect(item(items, 'delete_thing')).toMatchObject({ removed: true, version: 2, fingerprint: null });
    await listedTools(slug);
    const removals = (await driftRows(id)).filter((r) => r.details.version === 2);
    expect(removals.map((r) => r.tool).sort()).toEqual(['delete_thing', 'lookup']);
    const res = await call('GET', `/api/v1/connections/${slug}/tools/history?name=lookup`);
    const { versions } = await json<{ versions: Array<{ version: number; severity: string }> }>(res);
    expect(versions.map((v) => [v.version, v.severity])).toEqual([
      [2, 'critical'],
      [1, 'warning'],
    ]);
  });
});

describe('prompts/list and resources/list are fingerprinted too', () => {
  it('records their baseline and a change once, critical for a new required argument or a poisoned description', async () => {
    const slug = `int-lists-${RUN}`;
    const key = `lists-${RUN}`;
    const { id } = await createConnection(slug, { upstreamPath: `/mutable?variant=${key}&lists=all` });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }]);
    await patchSettings(slug, { integrity: { quarantineOnCritical: true } });
    const prompts = async () =>
      ((await rpcResult(await mcp(slug, 'prompts/list'))).result!.prompts as Array<{ name: string }>).map(
        (p) => p.name,
      );
    const resources = async () =>
      ((await rpcResult(await mcp(slug, 'resources/list'))).result!.resources as Array<{ uri: string }>).map(
        (r) => r.uri,
      );
    expect(await prompts()).toEqual(['summarize']);
    expect(await resources()).toEqual(['mem://notes']);
    const baseline = await inventoryWhen(slug, (items) => items.length === 2);
    expect(baseline.map((i) => [i.kind, i.name, i.version])).toEqual(
      expect.arrayContaining([
        ['prompt', 'summarize', 1],
        ['resource', 'mem://notes', 1],
      ]),
    );
    expect(baseline.every((i) => /^[0-9a-f]{64}$/.test(i.fingerprint!))).toBe(true);

    await setVariant(key, 2);
    await prompts();
    await resources();
    const after = await inventoryWhen(slug, (items) => items.every((i) => i.version === 2));
    expect(after.every((i) => i.quarantined)).toBe(true);
    expect(after.find((i) => i.kind === 'resource')!.findings.map((f) => f.kind)).toEqual(
      expect.arrayContaining(['hidden_instruction_tag', 'model_directive']),
    );
    // Quarantined (critical): hidden from the lists and refused, once the state is published.
    expect(await listedWhen(prompts, (names) => names.length === 0)).toEqual([]);
    expect(await listedWhen(resources, (names) => names.length === 0)).toEqual([]);
    const get = await rpcResult(await mcp(slug, 'prompts/get', { name: 'summarize', arguments: {} }));
    expect(get.error).toMatchObject({ code: -32013, data: { code: 'tool_not_approved' } });
    const read = await rpcResult(await mcp(slug, 'resources/read', { uri: 'mem://notes' }));
    expect(read.error).toMatchObject({ code: -32013, data: { code: 'tool_not_approved' } });

    // One row per change, however many lists showed it.
    const rows = (await driftRows(id)).filter((r) => r.details.version === 2);
    expect(rows.map((r) => [r.tool, r.details.kind, r.details.severity])).toEqual(
      expect.arrayContaining([
        ['prompt:summarize', 'prompt', 'critical'],
        ['resource:mem://notes', 'resource', 'critical'],
      ]),
    );
    expect(rows).toHaveLength(2);
    const changesOf = (tool: string) =>
      (rows.find((r) => r.tool === tool)!.details.changes as Array<{ change: string }>).map((c) => c.change);
    expect(changesOf('prompt:summarize')).toContain('required_parameter_added');
    expect(changesOf('resource:mem://notes')).toContain('poisoned_description');
    const events = (await driftEventsWhen(id, (e) => e.filter((d) => d.version === 2).length >= 2)).filter(
      (e) => e.version === 2,
    );
    expect(events.map((e) => [e.kind, e.toolName]).sort()).toEqual([
      ['prompt', 'summarize'],
      ['resource', 'mem://notes'],
    ]);
  });
});

describe('fail-closed discovery', () => {
  it('hides and refuses every tool until approved; a changed tool disappears at once until re-approved', async () => {
    const { slug, key } = await mutableConnection('closed', { integrity: { discovery: 'fail_closed' } });
    expect(await listedTools(slug)).toEqual([]);
    const refused = await rpcResult(
      await mcp(slug, 'tools/call', { name: 'echo', arguments: { message: 'hi' } }),
    );
    expect(refused.error).toMatchObject({
      data: { code: 'tool_not_approved', details: { reason: 'not_approved' } },
    });

    await inventoryWhen(slug, (items) => items.length === 3);
    const approved = await call('POST', `/api/v1/connections/${slug}/tools/approve`, { body: { all: true } });
    expect(approved.status).toBe(200);
    expect(await listedTools(slug)).toEqual(['lookup', 'echo', 'delete_thing']);
    const echo = await rpcResult(
      await mcp(slug, 'tools/call', { name: 'echo', arguments: { message: 'hi' } }),
    );
    expect(echo.result!.content).toEqual([{ type: 'text', text: 'hi' }]);

    // Rug pull: the changed lookup and the new export_data are hidden in the very answer.
    await setVariant(key, 2);
    expect(await listedTools(slug)).toEqual(['echo', 'delete_thing']);
    const changed = await inventoryWhen(slug, (items) => item(items, 'lookup')?.version === 2);
    expect(item(changed, 'lookup')!.approved).toBe(false);
    const call2 = await rpcResult(
      await mcp(slug, 'tools/call', { name: 'lookup', arguments: { id: '1', note: 'n' } }),
    );
    expect(call2.error).toMatchObject({ data: { code: 'tool_not_approved' } });

    const again = await call('POST', `/api/v1/connections/${slug}/tools/approve`, {
      body: { items: [{ kind: 'tool', name: 'lookup', fingerprint: item(changed, 'lookup')!.fingerprint }] },
    });
    expect(again.status).toBe(200);
    expect(await listedTools(slug)).toEqual(['lookup', 'echo', 'delete_thing']);
  });
});

describe('discovery: off', () => {
  it('fingerprints nothing, hides nothing and refuses nothing', async () => {
    const off = await mutableConnection('off', {
      integrity: { discovery: 'off', quarantineOnCritical: true },
    });
    const on = await mutableConnection('on');
    expect(await listedTools(off.slug)).toEqual(['lookup', 'echo', 'delete_thing']);
    await setVariant(off.key, 2);
    expect(await listedTools(off.slug)).toEqual(['lookup', 'export_data', 'echo', 'delete_thing']);
    const called = await rpcResult(
      await mcp(off.slug, 'tools/call', { name: 'lookup', arguments: { id: '1', note: 'n' } }),
    );
    expect(called.result!.content).toEqual([{ type: 'text', text: 'record 1 (v2)' }]);
    // A list of another connection, made after, is recorded: the "off" lists would have been too.
    await listedTools(on.slug);
    await inventoryWhen(on.slug, (items) => items.length === 3);
    expect(await inventory(off.slug)).toEqual([]);
    expect(await driftRows(off.id)).toEqual([]);
  });
});

describe('per-caller list filtering', () => {
  it("an intern's list omits delete_thing; an admin's shows it", async () => {
    const { slug } = await mutableConnection('roles');
    await putPolicy(slug, [
      { tool: 'delete_*', action: 'deny', conditions: { 'metadata.role': 'intern' } },
      { tool: 'delete_*', action: 'allow', conditions: { 'metadata.role': 'admin' } },
      { tool: 'lookup', action: 'allow' },
      { tool: 'echo', action: 'allow' },
    ]);
    const intern = await listedTools(slug, { 'X-Igris-Metadata': '{"role":"intern"}' });
    const admin = await listedTools(slug, { 'X-Igris-Metadata': '{"role":"admin"}' });
    expect(intern).toEqual(['lookup', 'echo']);
    expect(admin).toEqual(['lookup', 'echo', 'delete_thing']);
    // Hidden from one caller by policy is not "removed": the inventory keeps it.
    const items = await inventoryWhen(slug, (i) => i.length === 3);
    expect(items.every((i) => !i.removed)).toBe(true);
  });
});
