/**
 * LLM connections (`type: "llm"`) through the connections API inside workerd, with real D1: the
 * provider from the catalog, the effective base URL stored, the credential style derived from the
 * provider, the same SSRF rules as MCP upstreams, model allowlist validation, provider changes,
 * the `/llm/<slug>/v1` gateway URL, and tenancy (another organization's llm connection is 404).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../workers/app.types';
import { createConnection } from '../../workers/connections/connections.service';
import { call, createOrg, expectApiError, expectJson, type FieldIssue, type TestOrg } from './helpers';

interface ConnectionDto {
  id: string;
  slug: string;
  type: string;
  upstreamUrl: string;
  authType: string;
  authHeaderName: string | null;
  authQueryParam: string | null;
  hasCredential: boolean;
  settings: {
    provider?: string;
    allowedModels?: string[];
    sharedProviderObjects?: boolean;
    streamIdleTimeoutMs?: number;
    heldStreamTimeoutMs?: number;
  };
  gatewayUrl: string;
}

let owner: TestOrg;
let other: TestOrg;

function create(body: Record<string, unknown>, key = owner.key) {
  return call('POST', '/api/v1/connections', { key, body: { name: String(body.slug), ...body } });
}

function llm(slug: string, provider: string, extra: Record<string, unknown> = {}) {
  return create({ slug, type: 'llm', credential: `sk-${slug}-secret`, settings: { provider }, ...extra });
}

async function issues(res: Response): Promise<FieldIssue[]> {
  return (await expectApiError(res, 400, 'validation_failed')).details!.issues!;
}

beforeAll(async () => {
  owner = await createOrg('owner');
  other = await createOrg('owner');
});

describe('creating an llm connection', () => {
  it('takes the base URL and bearer auth from the catalog, and shows the /llm/<slug>/v1 gateway URL', async () => {
    const dto = await expectJson<ConnectionDto>(await llm('llm-openai', 'openai'), 201);
    expect(dto).toMatchObject({
      type: 'llm',
      upstreamUrl: 'https://api.openai.com/v1',
      authType: 'bearer',
      authHeaderName: null,
      hasCredential: true,
      settings: { provider: 'openai' },
      gatewayUrl: 'http://gateway.test/llm/llm-openai/v1',
    });
    expect(JSON.stringify(dto)).not.toContain('sk-llm-openai-secret');
    const row = await env.DB.prepare('SELECT upstream_url, auth_type FROM connections WHERE id = ?')
      .bind(dto.id)
      .first();
    expect(row).toEqual({ upstream_url: 'https://api.openai.com/v1', auth_type: 'bearer' });
  });

  it("derives each provider's credential style: x-api-key, api-key header, ?key=, none", async () => {
    const anthropic = await expectJson<ConnectionDto>(await llm('llm-anthropic', 'anthropic'), 201);
    expect(anthropic).toMatchObject({
      upstreamUrl: 'https://api.anthropic.com/v1',
      authType: 'header',
      authHeaderName: 'x-api-key',
    });
    const azure = await expectJson<ConnectionDto>(
      await llm('llm-azure', 'azure-openai', { upstreamUrl: 'https://acme.openai.azure.com/openai/v1/' }),
      201,
    );
    // Trailing slashes are dropped: the gateway appends "/chat/completions" to what is stored.
    expect(azure).toMatchObject({
      upstreamUrl: 'https://acme.openai.azure.com/openai/v1',
      authType: 'header',
      authHeaderName: 'api-key',
    });
    const google = await expectJson<ConnectionDto>(await llm('llm-google', 'google'), 201);
    expect(google).toMatchObject({ authType: 'query', authQueryParam: 'key', authHeaderName: null });
    const ollama = await expectJson<ConnectionDto>(
      await create({
        slug: 'llm-ollama',
        type: 'llm',
        upstreamUrl: 'http://127.0.0.1:11434/v1',
        settings: { provider: 'ollama' },
      }),
      201,
    );
    expect(ollama).toMatchObject({ authType: 'none', hasCredential: false });
  });

  it('lets an explicit authType win over the provider style', async () => {
    const dto = await expectJson<ConnectionDto>(
      await llm('llm-compat-header', 'openai-compatible', {
        upstreamUrl: 'https://llm.example.com/v1',
        authType: 'header',
        authHeaderName: 'x-api-key',
      }),
      201,
    );
    expect(dto).toMatchObject({ authType: 'header', authHeaderName: 'x-api-key' });
  });

  it('requires settings.provider from the catalog (400 naming settings.provider)', async () => {
    const missing = await issues(await create({ slug: 'llm-noprov', type: 'llm', credential: 'x' }));
    expect(missing[0]).toMatchObject({ location: 'body', path: 'settings.provider' });
    const unknown = await issues(await llm('llm-badprov', 'no-such-provider'));
    expect(unknown[0]).toMatchObject({ path: 'settings.provider', rule: 'unknown_provider' });
    expect(JSON.stringify(unknown)).not.toContain('no-such-provider');
  });

  it('requires upstreamUrl for providers without a base URL', async () => {
    for (const provider of ['azure-openai', 'ollama', 'openai-compatible']) {
      const found = await issues(await llm(`llm-nourl-${provider}`, provider));
      expect(found[0]).toMatchObject({ path: 'upstreamUrl' });
      expect(found[0]!.message).toContain(provider);
    }
  });

  it('applies the MCP upstream URL rules to a custom base URL', async () => {
    const creds = await issues(
      await llm('llm-url-creds', 'openai', { upstreamUrl: 'https://u:pw-9@llm.example.com/v1' }),
    );
    expect(creds[0]).toMatchObject({ path: 'upstreamUrl', rule: 'credentials' });
    expect(JSON.stringify(creds)).not.toContain('pw-9');
    const scheme = await issues(
      await llm('llm-url-ftp', 'openai', { upstreamUrl: 'ftp://llm.example.com/v1' }),
    );
    expect(scheme[0]).toMatchObject({ path: 'upstreamUrl', rule: 'scheme' });
  });

  it('refuses private and metadata hosts when ALLOW_PRIVATE_UPSTREAMS is off', async () => {
    const production = { ...env, ALLOW_PRIVATE_UPSTREAMS: 'false' };
    const principal: Principal = {
      kind: 'api_key',
      orgId: owner.orgId,
      role: 'owner',
      userId: owner.userId,
      apiKeyId: null,
      sessionId: null,
      actor: `user:${owner.userId}`,
    };
    const input = {
      slug: 'llm-private',
      name: 'private',
      type: 'llm' as const,
      credential: 'x',
      settings: { provider: 'openai-compatible' },
    };
    for (const [upstreamUrl, rule] of [
      ['https://127.0.0.1/v1', 'loopback'],
      ['https://169.254.169.254/v1', 'link-local'],
      ['http://llm.example.com/v1', 'scheme'],
    ] as const) {
      const err = await createConnection(production, principal, { ...input, upstreamUrl }, 'http://x').catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({
        code: 'validation_failed',
        details: { issues: [expect.objectContaining({ path: 'upstreamUrl' })] },
      });
      const issue = (err as { details: { issues: FieldIssue[] } }).details.issues[0]!;
      expect([rule, 'cloud-metadata']).toContain(issue.rule);
    }
  });

  it('validates allowedModels globs (length, count, characters)', async () => {
    const long = await issues(
      await llm('llm-glob-long', 'openai', {
        settings: { provider: 'openai', allowedModels: ['a'.repeat(201)] },
      }),
    );
    expect(long[0]).toMatchObject({ path: 'settings.allowedModels[0]' });
    const many = await issues(
      await llm('llm-glob-many', 'openai', {
        settings: { provider: 'openai', allowedModels: Array.from({ length: 101 }, (_, i) => `m${i}`) },
      }),
    );
    expect(many[0]).toMatchObject({ path: 'settings.allowedModels' });
    const space = await issues(
      await llm('llm-glob-space', 'openai', { settings: { provider: 'openai', allowedModels: ['gpt 4o'] } }),
    );
    expect(space[0]).toMatchObject({ path: 'settings.allowedModels[0]' });
    const ok = await expectJson<ConnectionDto>(
      await llm('llm-glob-ok', 'openai', {
        settings: { provider: 'openai', allowedModels: ['gpt-4o*', 'o?-mini'] },
      }),
      201,
    );
    expect(ok.settings.allowedModels).toEqual(['gpt-4o*', 'o?-mini']);
  });

  it('refuses provider and allowedModels on an mcp connection (create and update)', async () => {
    const base = { slug: 'mcp-with-provider', upstreamUrl: `${env.UPSTREAM_URL}/stateless`, credential: 'x' };
    const provider = await issues(await create({ ...base, settings: { provider: 'openai' } }));
    expect(provider[0]).toMatchObject({ path: 'settings.provider' });
    await expectJson(await create(base), 201);
    const patch = await call('PATCH', '/api/v1/connections/mcp-with-provider', {
      key: owner.key,
      body: { settings: { allowedModels: ['gpt-*'] } },
    });
    expect((await issues(patch))[0]).toMatchObject({ path: 'settings.allowedModels' });
    // An mcp connection still requires its upstreamUrl.
    const noUrl = await issues(await create({ slug: 'mcp-no-url', credential: 'x' }));
    expect(noUrl[0]).toMatchObject({ path: 'upstreamUrl' });
  });
});

describe('updating an llm connection', () => {
  it('moves to a new provider: its default URL and auth style, and the new origin needs the credential', async () => {
    await expectJson(await llm('llm-switch', 'openai'), 201);
    const patch = (body: Record<string, unknown>) =>
      call('PATCH', '/api/v1/connections/llm-switch', { key: owner.key, body });
    const refused = await issues(await patch({ settings: { provider: 'anthropic' } }));
    expect(refused[0]).toMatchObject({ path: 'credential', rule: 'credential_required_for_new_origin' });
    const moved = await expectJson<ConnectionDto>(
      await patch({ settings: { provider: 'anthropic' }, credential: 'sk-ant-new' }),
      200,
    );
    expect(moved).toMatchObject({
      upstreamUrl: 'https://api.anthropic.com/v1',
      authType: 'header',
      authHeaderName: 'x-api-key',
      settings: { provider: 'anthropic' },
      gatewayUrl: 'http://gateway.test/llm/llm-switch/v1',
    });
    const unknown = await issues(await patch({ settings: { provider: 'nope' } }));
    expect(unknown[0]).toMatchObject({ path: 'settings.provider' });
    const toAzure = await issues(await patch({ settings: { provider: 'azure-openai' }, credential: 'k' }));
    expect(toAzure[0]).toMatchObject({ path: 'upstreamUrl' });
  });

  it('keeps a custom base URL when only the models change', async () => {
    await expectJson(
      await llm('llm-custom', 'openai-compatible', { upstreamUrl: 'https://vllm.example.com/v1' }),
      201,
    );
    const dto = await expectJson<ConnectionDto>(
      await call('PATCH', '/api/v1/connections/llm-custom', {
        key: owner.key,
        body: { settings: { allowedModels: ['llama-*'] } },
      }),
      200,
    );
    expect(dto).toMatchObject({
      upstreamUrl: 'https://vllm.example.com/v1',
      settings: { provider: 'openai-compatible', allowedModels: ['llama-*'] },
    });
  });

  it('takes the Provider settings card’s keys one at a time, keeps the others, and refuses them out of range', async () => {
    await expectJson(
      await llm('llm-card', 'openai', { settings: { provider: 'openai', allowedModels: ['gpt-4o*'] } }),
      201,
    );
    const patch = (settings: Record<string, unknown>) =>
      call('PATCH', '/api/v1/connections/llm-card', { key: owner.key, body: { settings } });
    const shared = await expectJson<ConnectionDto>(await patch({ sharedProviderObjects: true }), 200);
    expect(shared.settings).toMatchObject({
      provider: 'openai',
      allowedModels: ['gpt-4o*'],
      sharedProviderObjects: true,
      streamIdleTimeoutMs: 300_000,
      heldStreamTimeoutMs: 570_000,
    });
    const bounds = await expectJson<ConnectionDto>(
      await patch({ streamIdleTimeoutMs: 1000, heldStreamTimeoutMs: 3_600_000 }),
      200,
    );
    expect(bounds.settings).toMatchObject({
      allowedModels: ['gpt-4o*'],
      sharedProviderObjects: true,
      streamIdleTimeoutMs: 1000,
      heldStreamTimeoutMs: 3_600_000,
    });
    for (const [settings, path] of [
      [{ sharedProviderObjects: 'yes' }, 'settings.sharedProviderObjects'],
      [{ streamIdleTimeoutMs: 999 }, 'settings.streamIdleTimeoutMs'],
      [{ heldStreamTimeoutMs: 3_600_001 }, 'settings.heldStreamTimeoutMs'],
      [{ streamIdleTimeoutMs: 1500.5 }, 'settings.streamIdleTimeoutMs'],
      [{ allowedModels: ['gpt-4o', 'gpt 5'] }, 'settings.allowedModels[1]'],
    ] as const) {
      expect((await issues(await patch(settings)))[0], JSON.stringify(settings)).toMatchObject({ path });
    }
    // An empty list lifts the restriction; the refusals above changed nothing.
    const cleared = await expectJson<ConnectionDto>(await patch({ allowedModels: [] }), 200);
    expect(cleared.settings).toMatchObject({
      allowedModels: [],
      sharedProviderObjects: true,
      streamIdleTimeoutMs: 1000,
      heldStreamTimeoutMs: 3_600_000,
    });
  });
});

describe('tenancy', () => {
  it("answers 404 for another organization's llm connection", async () => {
    await expectJson(await llm('llm-tenant', 'openai', {}), 201);
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { settings: { allowedModels: ['x'] } }],
      ['DELETE', undefined],
    ] as const) {
      const res = await call(method, '/api/v1/connections/llm-tenant', { key: other.key, body });
      await expectApiError(res, 404, 'not_found');
    }
    const list = await expectJson<{ connections: ConnectionDto[] }>(
      await call('GET', '/api/v1/connections', { key: other.key }),
      200,
    );
    expect(list.connections.map((c) => c.slug)).not.toContain('llm-tenant');
  });
});
