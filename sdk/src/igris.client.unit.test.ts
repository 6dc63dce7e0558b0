import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { StreamableHTTPClientTransport as V2Transport } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Igris } from './igris.client.ts';
import { DEFAULT_BASE_URL, readEnv } from './igris.config.ts';
import { IgrisConfigError, IgrisIdentityError, IgrisMetadataError } from './igris.errors.ts';
import { gatewayHeaders, mcpTransport } from './igris.transport.ts';

const KEY = 'ig_unit_test_key_0123456789';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
});

describe('new Igris — settings', () => {
  it('takes apiKey and baseUrl from options, normalising the URL', () => {
    const igris = new Igris({ apiKey: KEY, baseUrl: 'https://igris.example.com/' });
    expect(igris.baseUrl).toBe('https://igris.example.com');
    expect(new Igris({ apiKey: KEY, baseUrl: 'https://example.com/igris//' }).baseUrl).toBe(
      'https://example.com/igris',
    );
  });

  it('falls back to IGRIS_BASE_URL, then to the local gateway default', () => {
    vi.stubEnv('IGRIS_BASE_URL', '');
    expect(new Igris({ apiKey: KEY }).baseUrl).toBe(DEFAULT_BASE_URL);
    expect(DEFAULT_BASE_URL).toBe('http://localhost:8787');
    vi.stubEnv('IGRIS_BASE_URL', 'https://from-env.example.com');
    expect(new Igris({ apiKey: KEY }).baseUrl).toBe('https://from-env.example.com');
    expect(new Igris({ apiKey: KEY, baseUrl: 'https://explicit.example.com' }).baseUrl).toBe(
      'https://explicit.example.com',
    );
  });

  it('falls back to IGRIS_API_KEY, and refuses to start without a key', () => {
    vi.stubEnv('IGRIS_API_KEY', KEY);
    expect(new Igris().getMcpConfig('github-prod').apiKey).toBe(KEY);
    vi.stubEnv('IGRIS_API_KEY', '');
    expect(() => new Igris()).toThrow(IgrisConfigError);
    expect(() => new Igris()).toThrow(/no API key/);
  });

  it('refuses something that is not an ig_ key (e.g. the upstream credential by mistake)', () => {
    for (const apiKey of ['ghp_abc', 'ig_', 'ig_with space', 'ig_new\nline']) {
      expect(() => new Igris({ apiKey }), apiKey).toThrow(IgrisConfigError);
    }
  });

  it('refuses unusable base URLs', () => {
    for (const baseUrl of [
      'not a url',
      'ftp://example.com',
      'https://user:pass@example.com',
      'https://example.com/?x=1',
      'https://example.com/#frag',
    ]) {
      const attempt = () => new Igris({ apiKey: KEY, baseUrl });
      expect(attempt, baseUrl).toThrow(IgrisConfigError);
    }
  });

  it('reads Deno.env where there is no process.env entry, and survives a throwing one', () => {
    vi.stubEnv('IGRIS_DENO_ONLY', '');
    vi.stubGlobal('Deno', {
      env: { get: (name: string) => (name === 'IGRIS_DENO_ONLY' ? 'from-deno' : undefined) },
    });
    expect(readEnv('IGRIS_DENO_ONLY')).toBe('from-deno');
    vi.stubGlobal('Deno', {
      env: {
        get: () => {
          throw new Error('PermissionDenied');
        },
      },
    });
    expect(readEnv('IGRIS_DENO_ONLY')).toBeUndefined();
  });

  it('does not show the API key when the client is logged or serialised', () => {
    const igris = new Igris({ apiKey: KEY, baseUrl: 'https://igris.example.com' });
    expect(JSON.stringify(igris)).not.toContain(KEY);
    expect(Object.values(igris).map(String).join(' ')).not.toContain(KEY);
  });
});

describe('getMcpConfig / connectHttp — seed 001 and 002', () => {
  const igris = new Igris({ apiKey: KEY, baseUrl: 'https://api.example.com' });

  it('returns { baseUrl, apiKey, headers } with the three identity headers', () => {
    const config = igris.connectHttp('github-prod', {
      user: 'alice@company.com',
      metadata: { role: 'developer' },
    });
    expect(config).toEqual({
      baseUrl: 'https://api.example.com/v1/mcp/github-prod',
      apiKey: KEY,
      headers: {
        'X-Igris-Trace-Id': expect.stringMatching(/^ig_trace_[0-9a-f]{32}$/),
        'X-Igris-User': 'alice@company.com',
        'X-Igris-Metadata': '{"role":"developer"}',
      },
    });
  });

  it('uses a given trace id, and getMcpConfig gives the same config as connectHttp', () => {
    const options = {
      user: 'alice@company.com',
      traceId: 'req_abc123',
      metadata: { role: 'developer', team: 'engineering', environment: 'production' },
    };
    expect(igris.getMcpConfig('vk_github_prod', options)).toEqual(
      igris.connectHttp('vk_github_prod', options),
    );
    expect(igris.getMcpConfig('vk_github_prod', options).headers['X-Igris-Trace-Id']).toBe('req_abc123');
  });

  it('sends only the trace id when nothing else is given, and a new one per call', () => {
    const first = igris.getMcpConfig('github-prod');
    const second = igris.getMcpConfig('github-prod');
    expect(Object.keys(first.headers)).toEqual(['X-Igris-Trace-Id']);
    expect(first.headers['X-Igris-Trace-Id']).not.toBe(second.headers['X-Igris-Trace-Id']);
  });

  it('refuses invalid identity with typed errors instead of sending what the gateway would drop', () => {
    expect(() => igris.getMcpConfig('github-prod', { metadata: { 'a.b': 'x' } })).toThrow(IgrisMetadataError);
    expect(() => igris.getMcpConfig('github-prod', { user: '' })).toThrow(IgrisIdentityError);
    expect(() => igris.getMcpConfig('github-prod', { traceId: 'has space' })).toThrow(IgrisIdentityError);
  });

  it('refuses slugs the API would refuse — and anything that could escape the path', () => {
    for (const slug of ['', 'ab', 'GitHub', '-lead', '../api/v1/connections', 'a/b', 'a?b', 'x'.repeat(65)]) {
      expect(() => igris.getMcpConfig(slug), slug).toThrow(IgrisConfigError);
    }
    expect(igris.getMcpConfig('a'.repeat(64)).baseUrl).toBe(
      `https://api.example.com/v1/mcp/${'a'.repeat(64)}`,
    );
  });

  it('gatewayHeaders adds Authorization: Bearer <apiKey> to the identity headers', () => {
    const config = igris.getMcpConfig('github-prod', { user: 'alice', traceId: 't1' });
    expect(gatewayHeaders(config)).toEqual({
      Authorization: `Bearer ${KEY}`,
      'X-Igris-Trace-Id': 't1',
      'X-Igris-User': 'alice',
    });
  });
});

describe('mcpTransport — the official SDK transports, configured from the config', () => {
  const igris = new Igris({ apiKey: KEY, baseUrl: 'https://api.example.com' });
  const config = igris.getMcpConfig('github-prod', {
    user: 'alice',
    traceId: 't1',
    metadata: { role: 'dev' },
  });

  it('constructs the given class with the gateway URL and headers, keeping other options', () => {
    const calls: Array<{ url: URL; options: unknown }> = [];
    class FakeTransport {
      constructor(url: URL, options?: { requestInit?: RequestInit; sessionId?: string }) {
        calls.push({ url, options });
      }
    }
    const transport = mcpTransport(FakeTransport, config, {
      sessionId: 'abc',
      requestInit: { credentials: 'omit', headers: { 'X-Extra': '1', authorization: 'Bearer overridden' } },
    });
    expect(transport).toBeInstanceOf(FakeTransport);
    expect(calls).toEqual([
      {
        url: new URL('https://api.example.com/v1/mcp/github-prod'),
        options: {
          sessionId: 'abc',
          requestInit: {
            credentials: 'omit',
            headers: {
              'x-extra': '1',
              Authorization: `Bearer ${KEY}`,
              'X-Igris-Trace-Id': 't1',
              'X-Igris-User': 'alice',
              'X-Igris-Metadata': '{"role":"dev"}',
            },
          },
        },
      },
    ]);
  });

  type TransportLike = { start(): Promise<void>; send(m: unknown): Promise<void>; close(): Promise<void> };

  /** Sends one JSON-RPC message through a real transport and returns the request it made. */
  async function firstRequest(make: (fetchImpl: typeof fetch) => TransportLike | Promise<TransportLike>) {
    const seen: Request[] = [];
    const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Request(input, init));
      return new Response(null, { status: 202 });
    }) as typeof fetch;
    const transport = await make(fetchImpl);
    await transport.start();
    await transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await transport.close();
    // (the transport may also open a GET stream after `initialized`; the POST carries the message)
    const post = seen.find((r) => r.method === 'POST');
    expect(post).toBeDefined();
    return post!;
  }

  for (const [label, Transport] of [
    ['v1 @modelcontextprotocol/sdk', StreamableHTTPClientTransport],
    ['v2 @modelcontextprotocol/client', V2Transport],
  ] as const) {
    it(`${label}: the requests it sends carry the key and identity headers`, async () => {
      const request = await firstRequest(
        (fetchImpl) =>
          mcpTransport(Transport as typeof StreamableHTTPClientTransport, config, {
            fetch: fetchImpl,
          }) as never,
      );
      expect(request.url).toBe('https://api.example.com/v1/mcp/github-prod');
      expect(request.headers.get('authorization')).toBe(`Bearer ${KEY}`);
      expect(request.headers.get('x-igris-trace-id')).toBe('t1');
      expect(request.headers.get('x-igris-user')).toBe('alice');
      expect(request.headers.get('x-igris-metadata')).toBe('{"role":"dev"}');
    });
  }

  it('igris.transport() loads the v1 class itself and builds the same transport', async () => {
    const transport = await igris.transport('github-prod', { user: 'bob' });
    expect(transport).toBeInstanceOf(StreamableHTTPClientTransport);
    const request = await firstRequest((fetchImpl) =>
      igris.transport('github-prod', { user: 'bob', traceId: 't2' }, { fetch: fetchImpl }),
    );
    expect(request.url).toBe('https://api.example.com/v1/mcp/github-prod');
    expect(request.headers.get('authorization')).toBe(`Bearer ${KEY}`);
    expect(request.headers.get('x-igris-user')).toBe('bob');
    expect(request.headers.get('x-igris-trace-id')).toBe('t2');
  });
});

describe('portability', () => {
  it('the SDK source uses no Node-only API (its build has no Node types, so these would not compile either)', () => {
    const dir = import.meta.dirname;
    const sources = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(sources).toContain('igris.client.ts');
    for (const file of sources) {
      const text = readFileSync(path.join(dir, file), 'utf8');
      expect(text, file).not.toMatch(/from ['"]node:|require\(|\bBuffer\b|\b__dirname\b/);
      // The only runtime import outside the package is the optional peer, and only as a variable.
      for (const [, specifier] of text.matchAll(/^import (?!type)[^;]*from '([^']+)'/gm)) {
        expect(specifier, file).toMatch(/^\.\//);
      }
    }
  });
});
