/**
 * @igris-edge/sdk against the real stack (the local runtime + the demo MCP server):
 *   - the committed generated API types equal a fresh generation from the live OpenAPI document;
 *   - the management helpers against the real API, including its errors;
 *   - official MCP clients (SDK v1 and v2) configured ONLY from the SDK's output call tools
 *     through the gateway, with identity and metadata that drive a metadata-conditioned policy
 *     and show up in the audit trail (read back through the SDK's audit helpers).
 */
import { readFileSync } from 'node:fs';
import {
  Client as V2Client,
  StreamableHTTPClientTransport as V2Transport,
} from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { GENERATED_FILE, generateApiTypes, type OpenApiDocument } from '../../scripts/gen-sdk-types.ts';
import { Igris, IgrisApiError, mcpTransport, newTraceId, type Schemas } from '../../sdk/src/index.ts';

const gatewayUrl = () => inject('gatewayUrl');
const upstreamUrl = () => inject('upstreamUrl');

let igris: Igris;
beforeAll(() => {
  igris = new Igris({ apiKey: inject('adminApiKey'), baseUrl: gatewayUrl() });
});

type AuditEvent = Schemas['AuditEvent'];

/** The trace's events once `predicate` holds (the audit spool reaches D1 within about a second). */
async function traceWhen(
  traceId: string,
  predicate: (events: AuditEvent[]) => boolean,
): Promise<AuditEvent[]> {
  const deadline = Date.now() + 15_000;
  let events: AuditEvent[] = [];
  while (Date.now() < deadline) {
    // 404 until the trace's first event is on disk.
    events = await igris.audit.trace(traceId).then(
      (trace) => trace.events,
      (err: unknown) => {
        if (err instanceof IgrisApiError && err.status === 404) return [];
        throw err;
      },
    );
    if (predicate(events)) return events;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`trace ${traceId} incomplete: ${JSON.stringify(events).slice(0, 2000)}`);
}

function toolText(result: unknown): string {
  return ((result as { content: Array<{ text: string }> }).content[0] ?? { text: '' }).text;
}

describe('generated API types', () => {
  it('sdk/src/api.types.ts equals a fresh generation from the live /api/v1/openapi.json', async () => {
    const res = await fetch(`${gatewayUrl()}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const fresh = generateApiTypes((await res.json()) as OpenApiDocument);
    const committed = readFileSync(GENERATED_FILE, 'utf8');
    // On failure: run `npm run sdk:types` and commit the result.
    expect(committed).toBe(fresh);
  });
});

describe('management helpers against the real API', () => {
  const slug = 'sdk-manage';

  it('connections: create, get, list, update, rotate, disable, enable, delete', async () => {
    const created = await igris.connections.create({
      slug,
      name: 'SDK managed',
      upstreamUrl: `${upstreamUrl()}/mcp`,
      authType: 'bearer',
      credential: 'first-credential',
    });
    expect(created).toMatchObject({
      slug,
      hasCredential: true,
      enabled: true,
      gatewayUrl: `${gatewayUrl()}/v1/mcp/${slug}`,
    });
    expect(JSON.stringify(created)).not.toContain('first-credential');
    expect(await igris.connections.get(slug)).toMatchObject({ id: created.id, name: 'SDK managed' });
    expect((await igris.connections.list()).connections.map((c) => c.slug)).toContain(slug);
    expect(await igris.connections.update(slug, { name: 'Renamed' })).toMatchObject({ name: 'Renamed' });
    expect(await igris.connections.rotate(slug, 'second-credential')).toMatchObject({ hasCredential: true });
    expect(await igris.connections.disable(slug)).toMatchObject({ enabled: false });
    expect(await igris.connections.enable(slug)).toMatchObject({ enabled: true });
    expect(await igris.connections.delete(slug)).toEqual({ deleted: true, slug });
    await expect(igris.connections.get(slug)).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('policies: put, get, versions, rollback, simulate', async () => {
    const policySlug = 'sdk-policy';
    await igris.connections.create({
      slug: policySlug,
      name: 'p',
      upstreamUrl: `${upstreamUrl()}/mcp`,
      authType: 'none',
    });
    const v1 = await igris.policies.put(policySlug, [{ tool: '*', action: 'deny' }]);
    const v2 = await igris.policies.put(policySlug, [{ tool: '*', action: 'allow' }]);
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect(await igris.policies.get(policySlug)).toMatchObject({
      version: 2,
      rules: [{ tool: '*', action: 'allow' }],
    });
    const rolled = await igris.policies.rollback(policySlug, 1);
    expect(rolled).toMatchObject({ version: 3, rolledBackFrom: 1, rules: [{ tool: '*', action: 'deny' }] });
    expect((await igris.policies.versions(policySlug)).versions.map((v) => v.version)).toEqual([3, 2, 1]);
    expect(await igris.policies.simulate(policySlug, { tool: 'echo' })).toMatchObject({
      decision: 'deny',
      policyVersion: 3,
    });
  });

  it('errors arrive as IgrisApiError with the API’s status, code, message and details', async () => {
    const invalid = await igris.connections
      .create({ slug: 'X', name: 'bad', upstreamUrl: 'https://example.com/mcp' })
      .catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(IgrisApiError);
    expect(invalid).toMatchObject({
      status: 400,
      code: 'validation_failed',
      method: 'POST',
      path: '/connections',
    });
    expect(JSON.stringify((invalid as IgrisApiError).details)).toContain('slug');

    await igris.connections.create({
      slug: 'sdk-dup',
      name: 'd',
      upstreamUrl: `${upstreamUrl()}/mcp`,
      authType: 'none',
    });
    await expect(
      igris.connections.create({
        slug: 'sdk-dup',
        name: 'd',
        upstreamUrl: `${upstreamUrl()}/mcp`,
        authType: 'none',
      }),
    ).rejects.toMatchObject({ status: 409, code: 'conflict' });

    const stranger = new Igris({ apiKey: 'ig_not_a_real_key_0123456789', baseUrl: gatewayUrl() });
    await expect(stranger.connections.list()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });

    const nowhere = new Igris({ apiKey: 'ig_x', baseUrl: 'http://127.0.0.1:9' });
    await expect(nowhere.connections.list()).rejects.toMatchObject({ status: 0, code: 'network_error' });
    // The message names where it looked and why nothing answered (Node's fetch hides that in `cause`).
    await expect(nowhere.connections.list()).rejects.toThrow(
      /no response from the Igris gateway at http:\/\/127\.0\.0\.1:9 \(fetch failed: bad port\)/,
    );
  });
});

describe('MCP clients configured only by the SDK, through the gateway', () => {
  const slug = 'sdk-agents';

  beforeAll(async () => {
    await igris.connections.create({
      slug,
      name: 'SDK agents',
      upstreamUrl: `${upstreamUrl()}/mcp`,
      authType: 'bearer',
      credential: 'sdk-upstream-credential',
    });
    // Seed 002's example: interns may not call delete_*; everything else is allowed.
    await igris.policies.put(slug, [
      {
        tool: 'delete_*',
        action: 'deny',
        conditions: { 'metadata.role': 'intern' },
        reason: 'interns may not delete',
      },
      { tool: '*', action: 'allow' },
    ]);
  });

  it('a metadata-conditioned policy denies the intern and allows the developer; the audit trail shows who', async () => {
    const traceId = newTraceId();
    // v1 client, transport built by the SDK (igris.transport loads the class itself).
    const intern = new Client({ name: 'sdk-e2e-intern', version: '1.0.0' });
    await intern.connect(
      await igris.transport(slug, {
        user: 'ada@example.com',
        traceId,
        metadata: { role: 'intern', team: { name: 'Zürich' } },
      }),
    );
    // v1 client, transport from the class-parameter helper.
    const developer = new Client({ name: 'sdk-e2e-developer', version: '1.0.0' });
    await developer.connect(
      mcpTransport(
        StreamableHTTPClientTransport,
        igris.connectHttp(slug, { user: 'bob@example.com', traceId, metadata: { role: 'developer' } }),
      ),
    );

    // The intern can use other tools, but delete_* is refused by the policy.
    expect(toolText(await intern.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toBe('hi');
    const refused = await intern
      .callTool({ name: 'delete_records', arguments: { table: 'users' } })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(McpError);
    expect(refused).toMatchObject({
      code: -32006,
      data: {
        code: 'policy_denied',
        traceId,
        details: { tool: 'delete_records', ruleIndex: 0, reason: 'interns may not delete' },
      },
    });

    const deleted = await developer.callTool({ name: 'delete_records', arguments: { table: 'users' } });
    expect(deleted.isError).toBeFalsy();

    // The upstream saw its own credential, never the Igris key or the X-Igris headers.
    const seen = JSON.parse(toolText(await developer.callTool({ name: 'whoami', arguments: {} }))) as Record<
      string,
      string
    >;
    expect(seen.authorization).toBe('Bearer sdk-upstream-credential');
    expect(Object.keys(seen).filter((h) => h.startsWith('x-igris'))).toEqual([]);

    await intern.close();
    await developer.close();

    const isCall = (e: AuditEvent) => e.type === 'tool_call' && e.tool === 'delete_records';
    // Four tool calls in this trace: echo, delete_records twice, whoami.
    const events = await traceWhen(traceId, (all) => all.filter((e) => e.type === 'tool_call').length >= 4);
    expect(
      events.filter(isCall).map((e) => ({
        user: e.user,
        action: e.action,
        metadata: e.metadata,
        metadataError: e.metadataError,
        ruleIndex: e.ruleIndex,
        traceId: e.traceId,
      })),
    ).toEqual([
      {
        user: 'ada@example.com',
        action: 'deny',
        metadata: { role: 'intern', team: { name: 'Zürich' } },
        metadataError: null,
        ruleIndex: 0,
        traceId,
      },
      {
        user: 'bob@example.com',
        action: 'allow',
        metadata: { role: 'developer' },
        metadataError: null,
        ruleIndex: 1,
        traceId,
      },
    ]);

    // The same events through the list and single-event endpoints.
    const page = await igris.audit.list({ traceId, user: 'ada@example.com', type: 'tool_call' });
    expect(page.events.map((e) => e.tool).sort()).toEqual(['delete_records', 'echo']);
    const one = await igris.audit.get(page.events[0]!.id);
    expect(one).toMatchObject({ id: page.events[0]!.id, traceId, user: 'ada@example.com' });
    const exported = await igris.audit.export({ traceId, type: 'tool_call', format: 'ndjson' });
    const lines = exported
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEvent);
    expect(lines.map((e) => e.user).sort()).toEqual([
      'ada@example.com',
      'ada@example.com',
      'bob@example.com',
      'bob@example.com',
    ]);
  });

  it('an MCP SDK v2 client works from the same config (mcpTransport takes either class)', async () => {
    const traceId = newTraceId();
    const client = new V2Client({ name: 'sdk-e2e-v2', version: '1.0.0' });
    await client.connect(
      mcpTransport(
        V2Transport,
        igris.connectHttp(slug, { user: 'carol@example.com', traceId, metadata: { role: 'intern' } }),
      ),
    );
    const echoed = await client.callTool({ name: 'echo', arguments: { message: 'from v2' } });
    expect(toolText(echoed)).toBe('from v2');
    await client.close();
    const events = await traceWhen(traceId, (all) =>
      all.some((e) => e.type === 'tool_call' && e.tool === 'echo'),
    );
    expect(events.find((e) => e.tool === 'echo')).toMatchObject({
      user: 'carol@example.com',
      action: 'allow',
      metadata: { role: 'intern' },
    });
  });

  it('sessions: the connection’s agent session can be suspended and resumed through the SDK', async () => {
    const { sessions } = await igris.sessions.list({ connection: slug });
    expect(sessions).toHaveLength(1);
    const session = sessions[0]!;
    expect(await igris.sessions.get(session.id)).toMatchObject({ id: session.id, connectionSlug: slug });

    const suspended = await igris.sessions.suspend(session.id, { reason: 'sdk e2e' });
    expect(suspended).toMatchObject({ status: 'suspended' });
    const client = new Client({ name: 'sdk-e2e-suspended', version: '1.0.0' });
    // A suspended session answers 503 "Session Suspended": the client cannot even initialize.
    await expect(client.connect(await igris.transport(slug, { user: 'ada@example.com' }))).rejects.toThrow(
      /503|Session Suspended/,
    );

    expect(await igris.sessions.resume(session.id)).toMatchObject({ status: 'active' });
    const again = new Client({ name: 'sdk-e2e-resumed', version: '1.0.0' });
    await again.connect(await igris.transport(slug, { user: 'ada@example.com' }));
    expect(toolText(await again.callTool({ name: 'echo', arguments: { message: 'back' } }))).toBe('back');
    await again.close();
  });
});
