/**
 * Issue 18, Cross App Access (experimental) through the real runtime: an ID-JAG signed by a local
 * enterprise IdP (test/shared/xaa-idp.fake.ts: JWKS over HTTPS with a self-signed certificate the
 * runtime trusts through NODE_EXTRA_CA_CERTS) is exchanged at `/token` (RFC 7523 jwt-bearer grant)
 * for a gateway access token acting as the member it names, and the official MCP SDK client lists
 * tools with it. A bad signature, a wrong audience, an expired, replayed or revoked assertion is
 * refused with the reason in the audit row; revoking by `jti` or by subject stops tokens already
 * issued; an unknown `kid` makes the library fetch the JWKS again (key rotation); the stats
 * endpoint counts it all. Its own stack: CROSS_APP_ACCESS=on and the IdP's certificate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureDemoConnection,
  freePort,
  newApiKey,
  newEncryptionKey,
  type RunningStack,
  startStack,
} from '../../scripts/local-stack';
import { startXaaIdp } from '../shared/xaa-idp.fake';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** The bootstrap owner of a fresh stack (workers/bootstrap/bootstrap.ts): the member the IdP names. */
const OWNER_EMAIL = 'owner@igris.local';
const SUBJECT = 'idp-subject-owner';

let idp: Awaited<ReturnType<typeof startXaaIdp>>;
let stack: RunningStack;
let base = '';
const adminApiKey = newApiKey();
const persistTo = mkdtempSync(path.join(os.tmpdir(), 'igris-xaa-'));
const slug = 'demo';
let client: { id: string; secret: string };

async function api<T>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}/api/v1${route}`, {
    method,
    headers: {
      Authorization: `Bearer ${adminApiKey}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

const resource = () => `${base}/v1/mcp/${slug}`;

async function registerConfidentialClient(): Promise<{ id: string; secret: string }> {
  const res = await fetch(`${base}/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      client_name: 'XAA app',
      redirect_uris: ['https://app.example/callback'],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { client_id: string; client_secret: string };
  return { id: body.client_id, secret: body.client_secret };
}

interface Assertion {
  kid?: 'k1' | 'k2';
  signWith?: 'k1' | 'k2';
  claims?: Record<string, unknown>;
}

/** An ID-JAG as the IdP issues it after its own token exchange (RFC 8693) for our client. */
async function idJag({ kid = 'k1', signWith = kid, claims = {} }: Assertion = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  // Registered claims in the payload, so a test can override any of them (aud, iat, exp…).
  return new SignJWT({
    iss: idp.url,
    sub: SUBJECT,
    aud: base,
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 240,
    client_id: client.id,
    resource: resource(),
    scope: 'gateway:call',
    email: OWNER_EMAIL,
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'oauth-id-jag+jwt' })
    .sign(await importJWK(idp.keys[signWith], 'RS256'));
}

async function exchange(assertion: string, as = client): Promise<Response> {
  return fetch(`${base}/token`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${btoa(`${as.id}:${as.secret}`)}`,
    },
    body: new URLSearchParams({ grant_type: JWT_BEARER, assertion, resource: resource() }).toString(),
  });
}

async function tokenOf(
  assertion: string,
): Promise<{ access_token: string; scope: string; refresh_token?: string }> {
  const res = await exchange(assertion);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text);
}

interface AuditRow {
  action: string;
  actor: string | null;
  user: string | null;
  details: Record<string, unknown>;
}

/** The newest Cross App Access row (the audit spool flushes within about a second). */
async function lastXaaRow(predicate: (row: AuditRow) => boolean): Promise<AuditRow> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { body } = await api<{ events: AuditRow[] }>('GET', '/audit-events?type=auth&limit=100');
    const hit = body.events?.find((row) => row.action.startsWith('auth.xaa_') && predicate(row));
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('no matching auth.xaa_* audit row');
}

function jtiOf(jwt: string): string {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')).jti;
}

async function expectRefused(assertion: string, reason: string, as = client) {
  const res = await exchange(assertion, as);
  const text = await res.text();
  expect(res.status, text).toBe(400);
  expect(JSON.parse(text).error).toBe('invalid_grant');
  const jti = jtiOf(assertion);
  const row = await lastXaaRow((r) => r.action === 'auth.xaa_refused' && r.details.jti === jti);
  expect(row).toMatchObject({ action: 'auth.xaa_refused', details: { reason, issuer: idp.url } });
  expect(JSON.stringify(row)).not.toContain(assertion);
}

/** The official MCP SDK client with an access token: lists the connection's tools. */
async function listTools(token: string): Promise<string[]> {
  const transport = new StreamableHTTPClientTransport(new URL(resource()), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const mcp = new Client({ name: 'xaa-e2e', version: '1.0.0' });
  await mcp.connect(transport);
  try {
    return (await mcp.listTools()).tools.map((t) => t.name);
  } finally {
    await mcp.close();
  }
}

async function callStatus(token: string): Promise<number> {
  const res = await fetch(resource(), {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    }),
  });
  await res.body?.cancel();
  return res.status;
}

beforeAll(async () => {
  idp = await startXaaIdp();
  stack = await startStack({
    port: await freePort(),
    persistTo,
    adminApiKey,
    encryptionKey: newEncryptionKey(),
    vars: { CROSS_APP_ACCESS: 'on' },
    // Miniflare gives workerd the certificates in NODE_EXTRA_CA_CERTS as trusted ones.
    env: { NODE_EXTRA_CA_CERTS: idp.certFile },
  });
  base = stack.gatewayUrl;
  await ensureDemoConnection(base, adminApiKey, `${stack.upstream!.url}/mcp`);
  client = await registerConfidentialClient();
  const res = await api('POST', '/xaa/issuers', {
    issuer: idp.url,
    jwksUri: `${idp.url}/jwks`,
    clients: [client.id],
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  await idp?.close();
  rmSync(persistTo, { recursive: true, force: true });
});

describe('Cross App Access: exchanging an ID-JAG', () => {
  it('advertises the jwt-bearer grant in the RFC 8414 metadata', async () => {
    const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as {
      grant_types_supported: string[];
    };
    expect(metadata.grant_types_supported).toContain(JWT_BEARER);
  });

  it('exchanges a valid assertion for a token the MCP SDK client uses as the member it names', async () => {
    const assertion = await idJag();
    const tokens = await tokenOf(assertion);
    expect(tokens.scope).toBe('gateway:call');
    expect(tokens.refresh_token).toBeUndefined();
    expect(await listTools(tokens.access_token)).not.toHaveLength(0);
    const jti = jtiOf(assertion);
    expect(await lastXaaRow((r) => r.action === 'auth.xaa_exchange' && r.details.jti === jti)).toMatchObject({
      action: 'auth.xaa_exchange',
      user: OWNER_EMAIL,
      details: { issuer: idp.url, subject: SUBJECT, clientId: client.id, connectionSlug: slug },
    });
    // The same assertion twice is a replay.
    await expectRefused(assertion, 'replayed');
    // Like any OAuth token of ours, it is bound to its connection.
    const other = await api('POST', '/connections', {
      slug: 'xaa-other',
      name: 'xaa-other',
      upstreamUrl: `${stack.upstream!.url}/mcp`,
      authType: 'none',
    });
    expect(other.status).toBe(201);
    const elsewhere = await fetch(`${base}/v1/mcp/xaa-other`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens.access_token}`, 'Content-Type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
    expect(elsewhere.status).toBe(401);
  });

  it('refuses a bad signature, a wrong audience and an expired assertion, saying why in the audit row', async () => {
    // Signed with k2 while naming k1: the published k1 does not verify it.
    await expectRefused(await idJag({ kid: 'k1', signWith: 'k2' }), 'signature_failed');
    await expectRefused(await idJag({ claims: { aud: 'https://elsewhere.example' } }), 'aud_mismatch');
    const past = Math.floor(Date.now() / 1000) - 3600;
    await expectRefused(await idJag({ claims: { iat: past, exp: past + 120 } }), 'expired');
  });

  it('refuses a subject that is not a member, and a client the organization did not allow', async () => {
    await expectRefused(await idJag({ claims: { email: 'stranger@example.com' } }), 'not_a_member');
    const outsider = await registerConfidentialClient();
    await expectRefused(await idJag({ claims: { client_id: outsider.id } }), 'client_not_allowed', outsider);
  });

  it('fetches the JWKS again for an unknown kid (the IdP rotated its keys)', async () => {
    await expectRefused(await idJag({ kid: 'k2' }), 'no_matching_key');
    idp.rotate();
    const tokens = await tokenOf(await idJag({ kid: 'k2' }));
    expect(await callStatus(tokens.access_token)).toBe(200);
  });
});

describe('Cross App Access: revocation and stats', () => {
  it('revokes by jti: the token issued from it stops at once', async () => {
    const assertion = await idJag();
    const tokens = await tokenOf(assertion);
    expect(await callStatus(tokens.access_token)).toBe(200);
    const revoked = await api<{ revokedGrants: number }>('POST', '/xaa/revocations', {
      issuer: idp.url,
      jti: jtiOf(assertion),
    });
    expect(revoked).toEqual({ status: 201, body: { revokedGrants: 1 } });
    expect(await callStatus(tokens.access_token)).toBe(401);
  });

  it('revokes by subject: live tokens stop and new assertions about the person are refused', async () => {
    const tokens = await tokenOf(await idJag());
    expect((await api('POST', '/xaa/revocations', { issuer: idp.url, subject: SUBJECT })).status).toBe(201);
    expect(await callStatus(tokens.access_token)).toBe(401);
    await expectRefused(await idJag(), 'revoked_subject');
    const list = await api<{ revocations: Array<{ kind: string; value: string }> }>(
      'GET',
      '/xaa/revocations',
    );
    expect(list.body.revocations).toContainEqual(
      expect.objectContaining({ kind: 'subject', value: SUBJECT }),
    );
  });

  it('counts exchanges and refusals by reason and issuer', async () => {
    const { status, body: stats } = await api<{
      exchanges: number;
      refused: number;
      refusedByReason: Record<string, number>;
      byIssuer: Record<string, { exchanges: number; refused: number }>;
    }>('GET', '/xaa/stats');
    expect(status).toBe(200);
    expect(stats.exchanges).toBe(4);
    expect(stats.refusedByReason).toMatchObject({
      replayed: 1,
      signature_failed: 1,
      aud_mismatch: 1,
      expired: 1,
      not_a_member: 1,
      client_not_allowed: 1,
      no_matching_key: 1,
      revoked_subject: 1,
    });
    expect(stats.byIssuer[idp.url]).toEqual({ exchanges: 4, refused: stats.refused });
  });
});
