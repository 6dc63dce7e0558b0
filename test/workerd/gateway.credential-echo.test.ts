/**
 * An upstream that echoes the credential the gateway injected (test/workerd/upstream.echo.ts: in
 * its error body, in debug headers, in the URL it quotes) must not deliver it to the caller: every
 * form of it is `[REDACTED]` in the answer's headers and non-2xx body (gateway.redact.ts), while the
 * rest of the error still reaches the caller. Through MCP (bearer and query-parameter credentials)
 * and the LLM route, against a real local upstream.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createOrg, mcp, type TestOrg } from './helpers';

const RUN = crypto.randomUUID().slice(0, 8);
const ECHO = `${env.UPSTREAM_RECORDER_URL}/__echo`;
const BEARER_SECRET = `echo-bearer-${crypto.randomUUID()}`;
// Characters that URL and form encoding change, so the echo of the query URL is not the raw value.
const QUERY_SECRET = `echo q+s/t=u ${crypto.randomUUID()}`;
const LLM_SECRET = `sk-echo-${crypto.randomUUID()}`;

let org: TestOrg;

async function connection(slug: string, body: Record<string, unknown>): Promise<void> {
  const res = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: { slug, name: slug, ...body },
  });
  if (res.status !== 201) throw new Error(`connection ${slug}: ${res.status} ${await res.text()}`);
}

/** Everything the caller received: status line, every header, the body. */
async function received(res: Response): Promise<string> {
  return [`${res.status} ${res.statusText}`, JSON.stringify([...res.headers]), await res.text()].join('\n');
}

function formsOf(secret: string): string[] {
  return [
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ c: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
  ];
}

function expectNone(text: string, secret: string): void {
  for (const form of formsOf(secret)) expect(text).not.toContain(form);
}

beforeAll(async () => {
  org = await createOrg('owner');
  await connection(`echo-bearer-${RUN}`, {
    upstreamUrl: `${ECHO}/mcp`,
    authType: 'bearer',
    credential: BEARER_SECRET,
  });
  await connection(`echo-query-${RUN}`, {
    upstreamUrl: `${ECHO}/503`,
    authType: 'query',
    authQueryParam: 'api_key',
    credential: QUERY_SECRET,
  });
  await connection(`echo-llm-${RUN}`, {
    type: 'llm',
    upstreamUrl: `${ECHO}/v1`,
    credential: LLM_SECRET,
    settings: { provider: 'openai-compatible' },
  });
  for (const slug of [`echo-bearer-${RUN}`, `echo-query-${RUN}`, `echo-llm-${RUN}`]) {
    const res = await call('PUT', `/api/v1/connections/${slug}/policy`, {
      key: org.key,
      body: { rules: [{ tool: '*', action: 'allow' }] },
    });
    expect(res.status).toBe(200);
  }
});

describe('an upstream echoing the injected credential', () => {
  it('MCP, bearer: the 401 body and the debug header reach the caller with the credential redacted', async () => {
    const res = await mcp(`echo-bearer-${RUN}`, 'tools/list', {}, { key: org.key });
    expect(res.status).toBe(401);
    expect(res.headers.get('X-Debug-Auth')).toBe('Bearer [REDACTED]');
    const text = await received(res);
    expectNone(text, BEARER_SECRET);
    expect(text).toContain('invalid key: Bearer [REDACTED]');
  });

  it('MCP, query parameter: the encoded credential in the quoted URL is redacted from body and header', async () => {
    const res = await mcp(`echo-query-${RUN}`, 'tools/list', {}, { key: org.key });
    expect(res.status).toBe(503);
    expect(res.headers.get('X-Debug-Url')).toMatch(/\?api_key=\[REDACTED\]$/);
    const text = await received(res);
    expectNone(text, QUERY_SECRET);
    expect(text).toContain('api_key=[REDACTED]');
  });

  it('LLM route: the provider-shaped 401 keeps its message, without the key', async () => {
    const res = await call('POST', `/llm/echo-llm-${RUN}/v1/chat/completions`, {
      key: org.key,
      body: { model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('X-Debug-Auth')).toBe('Bearer [REDACTED]');
    const text = await received(res);
    expectNone(text, LLM_SECRET);
    expect(text).toContain('"type":"invalid_request_error"');
    expect(text).toContain('invalid key: Bearer [REDACTED]');
  });
});
