/**
 * Count limits, continued (workers/shared/count.limits.ts), in real D1: the creates that replace a
 * row when it is already there (an XAA issuer, a model price, a scan suppression, an invitation to
 * the same address) are refused at the cap only for a new row; scraper tokens count while not
 * revoked; a person's organizations. Each is filled up to its cap with rows written straight to
 * D1, then the API is asked for one more: 409 `limit_reached`, nothing written, and another
 * organization (or connection, or person) at the same moment is unaffected.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { COUNT_LIMITS, type CountLimit } from '../../workers/shared/count.limits';
import { Browser, uniqueEmail } from './auth.helpers';
import { call, createConnection, createOrg, expectApiError, json, putPolicy, type TestOrg } from './helpers';

const RUN = Date.now().toString(36);

async function seed(table: string, columns: string, values: string, n: number, binds: unknown[]) {
  await env.DB.prepare(
    `INSERT INTO ${table} (${columns})
     WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
     SELECT ${values} FROM seq`,
  )
    .bind(n, ...binds)
    .run();
}

async function count(sql: string, ...binds: unknown[]): Promise<number> {
  return (await env.DB.prepare(`SELECT count(*) AS n FROM ${sql}`)
    .bind(...binds)
    .first<{ n: number }>())!.n;
}

async function refused(res: Response, limit: CountLimit) {
  const error = await expectApiError(res, 409, 'limit_reached');
  expect(error.message).toContain(`already has ${limit.cap} ${limit.noun}, the most it may have`);
  expect(error.details).toEqual({ location: 'body', limit: limit.noun, max: limit.cap });
}

const api = (method: string, org: TestOrg, path: string, body?: unknown) =>
  call(method, `/api/v1${path}`, { key: org.key, ...(body === undefined ? {} : { body }) });

describe('count limits on replacing creates, tokens and organizations', () => {
  it('trusted XAA issuers: at the cap a new issuer is refused, an existing one is still replaced', async () => {
    const limit = COUNT_LIMITS.xaaIssuers;
    const [org, other] = [await createOrg('owner'), await createOrg('owner')];
    const issuer = (n: string) => ({
      issuer: `https://idp-${n}-${RUN}.example.com`,
      jwksUri: `https://idp-${n}-${RUN}.example.com/jwks`,
      clients: ['client-a'],
    });
    expect((await api('POST', org, '/xaa/issuers', issuer('kept'))).status).toBe(201);
    await seed(
      'xaa_issuers',
      'id, org_id, issuer, jwks_uri, algorithms, clients',
      `'seed-' || ?2 || '-' || i, ?2, 'https://seed-' || i || '.example.com', 'https://seed.example.com/jwks', '["RS256"]', '["c"]'`,
      limit.cap - 1,
      [org.orgId],
    );
    const [over, elsewhere] = await Promise.all([
      api('POST', org, '/xaa/issuers', issuer('new')),
      api('POST', other, '/xaa/issuers', issuer('new')),
    ]);
    await refused(over, limit);
    expect(elsewhere.status).toBe(201);
    expect(await count('xaa_issuers WHERE org_id = ?', org.orgId)).toBe(limit.cap);
    expect(await count("audit_events WHERE org_id = ? AND action = 'auth.xaa_issuer_put'", org.orgId)).toBe(
      1,
    );
    const replaced = await api('POST', org, '/xaa/issuers', { ...issuer('kept'), clients: ['client-b'] });
    expect(await json(replaced)).toMatchObject({ clients: ['client-b'] });
  });

  it('metrics scraper tokens: active ones count, a revoked one frees its place', async () => {
    const limit = COUNT_LIMITS.metricsTokens;
    const [org, other] = [await createOrg('owner'), await createOrg('owner')];
    await seed(
      'metrics_tokens',
      'id, org_id, name, prefix, hash',
      `'seed-' || ?2 || '-' || i, ?2, 'seed', 'igm_seed', 'seed-' || ?2 || '-' || i`,
      limit.cap,
      [org.orgId],
    );
    const [over, elsewhere] = await Promise.all([
      api('POST', org, '/metrics/tokens', { name: 'one more' }),
      api('POST', other, '/metrics/tokens', { name: 'one more' }),
    ]);
    await refused(over, limit);
    expect(elsewhere.status).toBe(201);
    expect(await count('metrics_tokens WHERE org_id = ?', org.orgId)).toBe(limit.cap);
    expect((await api('DELETE', org, `/metrics/tokens/seed-${org.orgId}-1`)).status).toBeLessThan(300);
    expect((await api('POST', org, '/metrics/tokens', { name: 'one more' })).status).toBe(201);
  });

  it('model price overrides: at the cap a new model is refused, an existing one is still changed', async () => {
    const limit = COUNT_LIMITS.llmPrices;
    const [org, other] = [await createOrg('owner'), await createOrg('owner')];
    const price = (model: string, inputPerMTok = 1) => ({
      provider: 'openai-compatible',
      model,
      inputPerMTok,
      outputPerMTok: 2,
    });
    expect((await api('PUT', org, '/llm/prices', price('kept'))).status).toBe(200);
    await seed(
      'llm_prices',
      'id, org_id, provider, model, input_per_mtok, output_per_mtok, updated_at',
      `'seed-' || ?2 || '-' || i, ?2, 'openai-compatible', 'seed-' || i, 1, 1, 0`,
      limit.cap - 1,
      [org.orgId],
    );
    const audited = await count("audit_events WHERE org_id = ? AND action = 'llm_price.set'", org.orgId);
    const [over, elsewhere] = await Promise.all([
      api('PUT', org, '/llm/prices', price('new')),
      api('PUT', other, '/llm/prices', price('new')),
    ]);
    await refused(over, limit);
    expect(elsewhere.status).toBe(200);
    expect(await count('llm_prices WHERE org_id = ?', org.orgId)).toBe(limit.cap);
    expect(await count("audit_events WHERE org_id = ? AND action = 'llm_price.set'", org.orgId)).toBe(
      audited,
    );
    expect(await json(await api('PUT', org, '/llm/prices', price('kept', 7)))).toMatchObject({
      inputPerMTok: 7,
    });
  });

  it('scan suppressions, per connection: a new finding is refused at the cap, a suppressed one re-suppressed', async () => {
    const limit = COUNT_LIMITS.scanSuppressions;
    const org = await createOrg('owner');
    const [full, free] = [`cl-sup-a-${RUN}`, `cl-sup-b-${RUN}`];
    const { id: fullId } = await createConnection(full, { key: org.key, upstreamPath: '/vulnerable' });
    await createConnection(free, { key: org.key, upstreamPath: '/vulnerable' });
    for (const slug of [full, free]) await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
    const scan = async (slug: string) =>
      json<{ id: string; findings: Array<{ id: string }> }>(
        await api('POST', org, '/scans', { connection: slug }),
      );
    const [a, b] = [await scan(full), await scan(free)];
    expect(a.findings.length).toBeGreaterThan(1);
    const suppress = (scanId: string, finding: string) =>
      api('POST', org, `/scans/${scanId}/suppressions`, { finding, reason: 'accepted: limits test' });
    expect((await suppress(a.id, a.findings[0]!.id)).status).toBe(201);
    await seed(
      'scan_suppressions',
      'id, org_id, connection_id, fingerprint, kind, item, reason, created_by',
      `'seed-' || ?3 || '-' || i, ?2, ?3, 'seed-' || i, 'seed', 'seed', 'seed', 'seed'`,
      limit.cap - 1,
      [org.orgId, fullId],
    );
    const [over, elsewhere] = await Promise.all([
      suppress(a.id, a.findings[1]!.id),
      suppress(b.id, b.findings[1]!.id),
    ]);
    const error = await expectApiError(over, 409, 'limit_reached');
    expect(error.message).toBe(
      `This connection already has ${limit.cap} ${limit.noun}, the most it may have: delete one first`,
    );
    expect(elsewhere.status).toBe(201);
    expect(await count('scan_suppressions WHERE connection_id = ?', fullId)).toBe(limit.cap);
    expect((await suppress(a.id, a.findings[0]!.id)).status).toBe(201);
  });

  it('pending invitations: a new address is refused at the cap, the same address re-invited', async () => {
    const limit = COUNT_LIMITS.invitations;
    const [owner, another] = [new Browser(), new Browser()];
    const me = await owner.signUp();
    await another.signUp();
    const orgId = me.activeOrganization!.id;
    const kept = uniqueEmail('kept');
    const invite = (browser: Browser, email: string) =>
      browser.fetch('POST', '/api/auth/invitations', { body: { email, role: 'developer' } });
    expect((await invite(owner, kept)).status).toBe(201);
    await seed(
      'invitations',
      'id, org_id, email, role, token_hash, expires_at',
      `'seed-' || ?2 || '-' || i, ?2, 'seed-' || i || '@example.com', 'developer', 'seed-' || ?2 || '-' || i, ?3`,
      limit.cap - 1,
      [orgId, Date.now() + 86_400_000],
    );
    const live = 'invitations WHERE org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL';
    const [over, elsewhere] = await Promise.all([
      invite(owner, uniqueEmail('new')),
      invite(another, uniqueEmail('new')),
    ]);
    const error = await expectApiError(over, 409, 'limit_reached');
    expect(error.message).toBe(
      `This organization already has ${limit.cap} ${limit.noun}, the most it may have: ${limit.remedy}`,
    );
    expect(elsewhere.status).toBe(201);
    expect(await count(live, orgId)).toBe(limit.cap);
    // The same address again replaces its invitation: still one live invitation for it.
    expect((await invite(owner, kept)).status).toBe(201);
    expect(await count(`${live} AND email = ?`, orgId, kept)).toBe(1);
    expect(await count(live, orgId)).toBe(limit.cap);
  });

  it('a person belongs to at most so many organizations before creating another is refused', async () => {
    const limit = COUNT_LIMITS.organizationsPerPerson;
    const [person, someone] = [new Browser(), new Browser()];
    const me = await person.signUp();
    await someone.signUp();
    await seed(
      'organizations',
      'id, slug, name',
      `'seed-' || ?2 || '-' || i, 'seed-' || ?2 || '-' || i, 'seed'`,
      limit.cap - 1,
      [me.user.id],
    );
    await seed(
      'members',
      'id, org_id, user_id, role',
      `'seed-' || ?2 || '-' || i, 'seed-' || ?2 || '-' || i, ?2, 'owner'`,
      limit.cap - 1,
      [me.user.id],
    );
    const create = (browser: Browser) =>
      browser.fetch('POST', '/api/auth/organizations', {
        body: { name: 'One more', slug: `more-${Math.random().toString(36).slice(2, 10)}` },
      });
    const [over, elsewhere] = await Promise.all([create(person), create(someone)]);
    const error = await expectApiError(over, 409, 'limit_reached');
    expect(error.message).toBe(
      `This account already has ${limit.cap} ${limit.noun}, the most it may have: ${limit.remedy}`,
    );
    expect(elsewhere.status).toBe(201);
    expect(await count('members WHERE user_id = ?', me.user.id)).toBe(limit.cap);
  });
});
