/**
 * `/api/v1/detections` in workerd with real D1 (docs/detections.md): the scan, the built-in rules
 * and packs, custom rules and packs (validated when saved, scoped to their organization), a
 * connection's inspection settings checked when saved, and a custom pack applied through the
 * gateway.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCEPT_BOTH } from './gateway.fixtures';
import {
  adminAuditRows,
  bootstrapDefault,
  call,
  createConnection,
  createOrg,
  expectApiError,
  expectJson,
  putPolicy,
  type TestOrg,
} from './helpers';

const RUN = Date.now().toString(36);
const RULE_ID = `custom.ticket_${RUN}`;
const PACK = `tickets-${RUN}`;

const customRule = (overrides: Record<string, unknown> = {}) => ({
  id: RULE_ID,
  category: 'secret',
  severity: 'high',
  where: ['args', 'result', 'prompt', 'completion'],
  detection: { literals: ['TICKET-'], pattern: 'TICKET-\\d{6}' },
  action: 'block',
  description: 'Internal ticket numbers must not leave the company',
  examples: { positive: ['see TICKET-123456 now'], negative: ['a ticket for 12 people'] },
  ...overrides,
});

let orgId: string;
let other: TestOrg;

beforeAll(async () => {
  orgId = await bootstrapDefault();
  other = await createOrg('owner');
});

interface ScanAnswer {
  findings: Array<{
    ruleId: string;
    category: string;
    severity: string;
    action: string;
    start: number;
    end: number;
  }>;
  riskScore: number;
}

describe('scan', () => {
  it('returns findings with offsets and a risk score, never the matched text', async () => {
    const text = 'Reach me at jane.doe@example.com';
    const res = await call('POST', '/api/v1/detections/scan', { body: { text, where: 'prompt' } });
    const body = await expectJson<ScanAnswer>(res, 200);
    const email = body.findings.find((f) => f.ruleId === 'pii.email')!;
    expect(email).toMatchObject({ category: 'pii', action: 'redact' });
    expect(text.slice(email.start, email.end)).toBe('jane.doe@example.com');
    expect(JSON.stringify(body)).not.toContain('jane.doe');
    expect(body.riskScore).toBeGreaterThan(0);
  });

  it('scans with the named packs only, and refuses an unknown pack', async () => {
    const text = "1' UNION SELECT password FROM users--";
    const sql = await expectJson<ScanAnswer>(
      await call('POST', '/api/v1/detections/scan', {
        body: { text, where: 'args', packs: ['pii-default'] },
      }),
      200,
    );
    expect(sql).toEqual({ findings: [], riskScore: 0 });
    await expectApiError(
      await call('POST', '/api/v1/detections/scan', { body: { text, packs: ['no-such-pack'] } }),
      400,
      'validation_failed',
    );
  });
});

describe('built-in rules and packs', () => {
  it('lists at least 250 rules and the seven named packs', async () => {
    const { rules } = await expectJson<{ rules: Array<{ id: string; custom: boolean }> }>(
      await call('GET', '/api/v1/detections/rules'),
      200,
    );
    expect(rules.filter((r) => !r.custom).length).toBeGreaterThanOrEqual(250);
    const { packs } = await expectJson<{ packs: Array<{ name: string }> }>(
      await call('GET', '/api/v1/detections/packs'),
      200,
    );
    expect(packs.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        'mcp-advanced-security',
        'mcp-encoding-detection-security',
        'llm-critical-security',
        'llm-standard-security',
        'llm-compliance-gdpr',
        'pii-default',
        'secrets-default',
      ]),
    );
  });
});

describe('custom rules and packs', () => {
  it('refuses a pattern that could backtrack catastrophically, or matches the empty string, with the reason', async () => {
    const nested = await expectApiError(
      await call('POST', '/api/v1/detections/rules', {
        body: customRule({ detection: { pattern: '(a+)+b' } }),
      }),
      400,
      'validation_failed',
    );
    expect(nested.details).toMatchObject({ path: 'detection.pattern' });
    expect(JSON.stringify(nested.details)).toContain('nested_quantifier');
    const empty = await expectApiError(
      await call('POST', '/api/v1/detections/rules', { body: customRule({ detection: { pattern: 'x?' } }) }),
      400,
      'validation_failed',
    );
    expect(JSON.stringify(empty.details)).toMatch(/empty_match|nullable/);
    const examples = await expectApiError(
      await call('POST', '/api/v1/detections/rules', {
        body: customRule({ examples: { positive: ['nothing here'], negative: ['x'] } }),
      }),
      400,
      'validation_failed',
    );
    expect(JSON.stringify(examples.details)).toContain('example_not_detected');
  });

  it('saves a custom rule and pack, audited, visible to its organization only', async () => {
    const rule = await expectJson(
      await call('POST', '/api/v1/detections/rules', { body: customRule() }),
      201,
    );
    expect(rule).toMatchObject({ id: RULE_ID, custom: true });
    await expectApiError(
      await call('POST', '/api/v1/detections/rules', { body: customRule() }),
      409,
      'conflict',
    );
    const pack = await expectJson(
      await call('POST', '/api/v1/detections/packs', {
        body: { name: PACK, description: 'Tickets', rules: [RULE_ID], categories: ['sql_injection'] },
      }),
      201,
    );
    expect(pack).toMatchObject({ name: PACK, custom: true });
    await expectApiError(
      await call('POST', '/api/v1/detections/packs', {
        body: { name: 'pii-default', description: 'Shadow', categories: ['pii'] },
      }),
      409,
      'conflict',
    );
    expect((await adminAuditRows(orgId, 'detection_rule.create')).length).toBeGreaterThanOrEqual(1);

    // Another organization sees neither, cannot use or delete them.
    const theirRules = await expectJson<{ rules: Array<{ id: string }> }>(
      await call('GET', '/api/v1/detections/rules', { key: other.key }),
      200,
    );
    expect(theirRules.rules.map((r) => r.id)).not.toContain(RULE_ID);
    await expectApiError(
      await call('POST', '/api/v1/detections/scan', { key: other.key, body: { text: 'x', packs: [PACK] } }),
      400,
      'validation_failed',
    );
    await expectApiError(
      await call('DELETE', `/api/v1/detections/rules/${RULE_ID}`, { key: other.key }),
      404,
      'not_found',
    );
    await expectApiError(
      await call('DELETE', `/api/v1/detections/packs/${PACK}`, { key: other.key }),
      404,
      'not_found',
    );

    const scanned = await expectJson<ScanAnswer>(
      await call('POST', '/api/v1/detections/scan', { body: { text: 'see TICKET-654321', packs: [PACK] } }),
      200,
    );
    expect(scanned.findings.map((f) => f.ruleId)).toEqual([RULE_ID]);
  });

  it('applies a custom pack on a connection; an unknown pack or rule override is refused at save', async () => {
    const slug = `det-custom-${RUN}`;
    await createConnection(slug, { authType: 'none' });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }]);
    const patch = (inspection: unknown) =>
      call('PATCH', `/api/v1/connections/${slug}`, { body: { settings: { inspection } } });
    const unknownPack = await expectApiError(await patch({ packs: ['nope-pack'] }), 400, 'validation_failed');
    expect(unknownPack.details).toMatchObject({ path: 'settings.inspection.packs' });
    await expectApiError(
      await patch({ packs: ['pii-default'], overrides: { rules: { 'no.such_rule': 'off' } } }),
      400,
      'validation_failed',
    );
    await expectApiError(await patch({ packs: ['Bad Name'] }), 400, 'validation_failed');
    expect((await patch({ packs: [PACK] })).status).toBe(200);

    const blocked = await call('POST', `/v1/mcp/${slug}`, {
      headers: { Accept: ACCEPT_BOTH },
      body: {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'about TICKET-111222' } },
      },
    });
    const body = (await blocked.json()) as { error?: { data: { details: { ruleId: string } } } };
    expect(body.error?.data.details.ruleId).toBe(RULE_ID);

    // An applied pack cannot be deleted; once the connection drops it, it can.
    await expectApiError(await call('DELETE', `/api/v1/detections/packs/${PACK}`), 409, 'conflict');
    // An override turns the rule off for this connection.
    expect((await patch({ packs: [PACK], overrides: { rules: { [RULE_ID]: 'off' } } })).status).toBe(200);
    const passed = await call('POST', `/v1/mcp/${slug}`, {
      headers: { Accept: ACCEPT_BOTH },
      body: {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'about TICKET-111222' } },
      },
    });
    expect(await passed.text()).toContain('TICKET-111222');
    expect((await patch({ packs: [] })).status).toBe(200);
    expect((await call('DELETE', `/api/v1/detections/packs/${PACK}`)).status).toBe(200);
    expect((await call('DELETE', `/api/v1/detections/rules/${RULE_ID}`)).status).toBe(200);
  });
});

describe('custom rules stay in their own packs and organization', () => {
  const mcpCall = (slug: string, key?: string) =>
    call('POST', `/v1/mcp/${slug}`, {
      ...(key ? { key } : {}),
      headers: { Accept: ACCEPT_BOTH },
      body: {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'see TICKET-123456' } },
      },
    });
  const inspectedConnection = async (slug: string, packs: string[], key?: string) => {
    await createConnection(slug, { authType: 'none', key });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], key);
    const patched = await call('PATCH', `/api/v1/connections/${slug}`, {
      key,
      body: { settings: { inspection: { packs } } },
    });
    expect(patched.status).toBe(200);
  };
  const ruleIdOf = async (res: Response) =>
    ((await res.json()) as { error?: { data: { details: { ruleId: string } } } }).error?.data.details.ruleId;

  it("a custom rule of a built-in pack's category does not join the built-in pack", async () => {
    // Two custom secret rules with the same literal, each in its own pack; the connection applies
    // a built-in pack that selects the secret category, and the second custom pack only.
    const [first, second] = [`custom.a_${RUN}`, `custom.b_${RUN}`];
    for (const id of [first, second]) {
      await expectJson(await call('POST', '/api/v1/detections/rules', { body: customRule({ id }) }), 201);
      await expectJson(
        await call('POST', '/api/v1/detections/packs', {
          body: { name: `only-${id.slice(7).replace('_', '-')}`, description: 'one rule', rules: [id] },
        }),
        201,
      );
    }
    const slug = `det-own-${RUN}`;
    await inspectedConnection(slug, ['mcp-advanced-security', `only-b-${RUN}`]);
    expect(await ruleIdOf(await mcpCall(slug))).toBe(second);
  });

  it("two organizations' custom packs of one name and identical content never share an engine", async () => {
    // Same pack name and rule content in both organizations; only the rule's action differs in
    // what each organization then edits. Each call is decided by its own organization's rules.
    const rule = `custom.shared_${RUN}`;
    const pack = `shared-${RUN}`;
    const slug = `det-shared-${RUN}`;
    for (const key of [undefined, other.key]) {
      const as = key ? { key } : {};
      await expectJson(
        await call('POST', '/api/v1/detections/rules', { ...as, body: customRule({ id: rule }) }),
        201,
      );
      await expectJson(
        await call('POST', '/api/v1/detections/packs', {
          ...as,
          body: { name: pack, description: 'x', rules: [rule] },
        }),
        201,
      );
    }
    await inspectedConnection(slug, [pack]);
    expect(await ruleIdOf(await mcpCall(slug))).toBe(rule);
    // The other organization turns its copy to alert: its calls pass, this organization's do not.
    await expectJson(
      await call('PUT', `/api/v1/detections/rules/${rule}`, {
        key: other.key,
        body: customRule({ id: rule, action: 'alert' }),
      }),
      200,
    );
    const theirSlug = `det-shared-b-${RUN}`;
    await inspectedConnection(theirSlug, [pack], other.key);
    expect(await (await mcpCall(theirSlug, other.key)).text()).toContain('TICKET-123456');
    expect(await ruleIdOf(await mcpCall(slug))).toBe(rule);
  });
});

describe('editing custom rules and packs', () => {
  const EDIT_RULE = `custom.edit_${RUN}`;
  const EDIT_PACK = `edits-${RUN}`;
  const editRule = (overrides: Record<string, unknown> = {}) =>
    customRule({
      id: EDIT_RULE,
      detection: { literals: ['EDIT-'], pattern: 'EDIT-\\d{4}' },
      examples: { positive: ['ref EDIT-1234'], negative: ['edit this'] },
      ...overrides,
    });

  it('replaces a custom rule, validated like a new one, and shows it whole to its organization', async () => {
    await expectJson(await call('POST', '/api/v1/detections/rules', { body: editRule() }), 201);
    const put = (body: unknown, key?: string) =>
      call('PUT', `/api/v1/detections/rules/${EDIT_RULE}`, { body, ...(key ? { key } : {}) });

    // A pattern that no longer finds its own positive example: refused, naming the example.
    const broken = await expectApiError(
      await put(editRule({ detection: { literals: ['EDIT-'], pattern: 'EDIT-[a-z]{4}' } })),
      400,
      'validation_failed',
    );
    expect(broken.details).toMatchObject({ path: 'examples.positive[0]' });
    const catastrophic = await expectApiError(
      await put(editRule({ detection: { literals: ['EDIT-'], pattern: '(a+)+EDIT' } })),
      400,
      'validation_failed',
    );
    expect(catastrophic.details).toMatchObject({ path: 'detection.pattern' });
    const renamed = await expectApiError(
      await put(editRule({ id: `${EDIT_RULE}_x` })),
      400,
      'validation_failed',
    );
    expect(renamed.details).toMatchObject({ path: 'id' });
    await expectApiError(await put(editRule(), other.key), 404, 'not_found');

    const updated = await expectJson(
      await put(
        editRule({
          severity: 'critical',
          detection: { literals: ['EDIT-'], pattern: 'EDIT-\\d{4,6}' },
          examples: { positive: ['ref EDIT-123456'], negative: ['edit this'] },
        }),
      ),
      200,
    );
    expect(updated).toMatchObject({ id: EDIT_RULE, severity: 'critical', custom: true });
    const listed = await expectJson<{ rules: Array<{ id: string; definition?: { detection: unknown } }> }>(
      await call('GET', '/api/v1/detections/rules'),
      200,
    );
    expect(listed.rules.find((r) => r.id === EDIT_RULE)?.definition?.detection).toEqual({
      literals: ['EDIT-'],
      pattern: 'EDIT-\\d{4,6}',
    });
    // Built-in rules keep their detection to themselves.
    expect(listed.rules.find((r) => r.id === 'pii.email')?.definition).toBeUndefined();
    const scanned = await expectJson<ScanAnswer>(
      await call('POST', '/api/v1/detections/scan', { body: { text: 'see EDIT-123456' } }),
      200,
    );
    expect(scanned.findings.find((f) => f.ruleId === EDIT_RULE)?.severity).toBe('critical');
    expect((await adminAuditRows(orgId, 'detection_rule.update')).length).toBeGreaterThanOrEqual(1);
  });

  it('replaces a custom pack; an unknown rule, a new name or another organization is refused', async () => {
    await expectJson(
      await call('POST', '/api/v1/detections/packs', {
        body: { name: EDIT_PACK, description: 'Edits', rules: [EDIT_RULE], categories: [] },
      }),
      201,
    );
    const put = (body: unknown, key?: string) =>
      call('PUT', `/api/v1/detections/packs/${EDIT_PACK}`, { body, ...(key ? { key } : {}) });
    const unknown = await expectApiError(
      await put({ name: EDIT_PACK, description: 'Edits', rules: ['no.such_rule'], categories: [] }),
      400,
      'validation_failed',
    );
    expect(unknown.details).toMatchObject({ path: 'rules' });
    const renamed = await expectApiError(
      await put({ name: `${EDIT_PACK}-x`, description: 'Edits', rules: [EDIT_RULE], categories: [] }),
      400,
      'validation_failed',
    );
    expect(renamed.details).toMatchObject({ path: 'name' });
    await expectApiError(
      await put({ name: EDIT_PACK, description: 'Edits', rules: [EDIT_RULE], categories: [] }, other.key),
      404,
      'not_found',
    );
    const updated = await expectJson(
      await put({
        name: EDIT_PACK,
        description: 'Edits and SQL',
        rules: [EDIT_RULE],
        categories: ['sql_injection'],
        minSeverity: 'high',
      }),
      200,
    );
    expect(updated).toMatchObject({ name: EDIT_PACK, categories: ['sql_injection'], minSeverity: 'high' });
    const scanned = await expectJson<ScanAnswer>(
      await call('POST', '/api/v1/detections/scan', {
        body: { text: "id=1' UNION SELECT password FROM users--", where: 'args', packs: [EDIT_PACK] },
      }),
      200,
    );
    expect(scanned.findings.some((f) => f.category === 'sql_injection')).toBe(true);
    expect((await call('DELETE', `/api/v1/detections/packs/${EDIT_PACK}`)).status).toBe(200);
    expect((await call('DELETE', `/api/v1/detections/rules/${EDIT_RULE}`)).status).toBe(200);
  });
});
