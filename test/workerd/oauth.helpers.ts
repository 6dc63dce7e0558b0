/**
 * Drives the OAuth flow against the Worker the way an MCP client and a signed-in person would:
 * register (DCR), authorize with PKCE S256, consent with the dashboard session cookie, exchange
 * the code. HTTPS origin: the authorization server refuses plain http outside loopback.
 */
import { env, exports } from 'cloudflare:workers';
import { prepareSession } from '../../workers/auth/session.store';
import { UPSTREAM_OAUTH_CLIENT } from '../shared/upstream-oauth.fake';

export const OAUTH_BASE = 'https://gateway.test';
export const REDIRECT_URI = 'http://127.0.0.1:4567/callback';

export function b64url(bytes: ArrayBuffer | Uint8Array): string {
  const arr = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return btoa(String.fromCharCode(...arr))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

export async function pkce(): Promise<{ verifier: string; challenge: string }> {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  return { verifier, challenge };
}

export function fetchWorker(path: string, init: RequestInit = {}): Promise<Response> {
  const url = path.startsWith('http') ? path : `${OAUTH_BASE}${path}`;
  return exports.default.fetch(new Request(url, { redirect: 'manual', ...init }));
}

/** A cookie session for a user in an organization, as the dashboard's sign-in would leave it. */
export async function sessionCookie(userId: string, orgId: string): Promise<string> {
  const session = await prepareSession(env, userId, orgId, { userAgent: 'test', ip: null });
  await session.statement.run();
  return `igris.session_token=${session.token}`;
}

/** A fresh client address per registration: `/register` is limited per address (oauth.limits.ts). */
export function randomAddress(): string {
  const [a = 0, b = 0, c = 0] = crypto.getRandomValues(new Uint8Array(3));
  return `10.${a}.${b}.${c}`;
}

export async function registerClient(name = 'Test client', address = randomAddress()): Promise<string> {
  const res = await fetchWorker('/register', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': address },
    body: JSON.stringify({
      client_name: name,
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }),
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { client_id: string }).client_id;
}

export function resourceFor(slug: string): string {
  return `${OAUTH_BASE}/v1/mcp/${slug}`;
}

export function authorizeUrl(
  clientId: string,
  slug: string,
  challenge: string | null,
  extra: Record<string, string> = {},
): string {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    state: 'state-123',
    scope: 'gateway:call offline_access',
    resource: resourceFor(slug),
    ...(challenge ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
    ...extra,
  });
  return `/api/oauth/authorize?${q}`;
}

export interface ConsentPage {
  status: number;
  html: string;
  handle: string;
  cookies: string[];
  headers: Headers;
}

export async function openConsent(url: string, cookie: string | null): Promise<ConsentPage> {
  const res = await fetchWorker(url, { headers: cookie ? { Cookie: cookie } : {} });
  const html = await res.text();
  const handle = /name="handle" value="([^"]+)"/.exec(html)?.[1] ?? '';
  const cookies = res.headers.getSetCookie().map((line) => line.split(';')[0] ?? '');
  return { status: res.status, html, handle, cookies, headers: res.headers };
}

export async function submitConsent(
  page: ConsentPage,
  cookie: string,
  fields: Record<string, string | string[]>,
  origin: string | null = OAUTH_BASE,
): Promise<Response> {
  const form = new URLSearchParams({ handle: page.handle });
  for (const [name, value] of Object.entries(fields)) {
    for (const v of Array.isArray(value) ? value : [value]) form.append(name, v);
  }
  return fetchWorker('/api/oauth/authorize', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Cookie: [cookie, ...page.cookies].join('; '),
      ...(origin ? { Origin: origin } : {}),
    },
    body: form.toString(),
  });
}

export interface Tokens {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope?: string;
  resource?: string;
}

export async function tokenRequest(params: Record<string, string>): Promise<Response> {
  return fetchWorker('/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
}

/** The whole flow for one connection: register, consent (first choice), exchange. */
export async function obtainTokens(
  slug: string,
  cookie: string,
  connectionId: string,
  options: { resource?: string; scope?: string[] } = {},
): Promise<Tokens & { clientId: string }> {
  return obtainTokensWith(await registerClient(), slug, connectionId, { ...options, cookie });
}

/** The flow for an already registered client, consented by the person signed in with `options.cookie`. */
export async function obtainTokensWith(
  client: string,
  slug: string,
  connectionId: string,
  options: { cookie: string; resource?: string; scope?: string[] },
): Promise<Tokens & { clientId: string }> {
  const { cookie } = options;
  const resource = options.resource ?? resourceFor(slug);
  const { verifier, challenge } = await pkce();
  const page = await openConsent(authorizeUrl(client, slug, challenge, { resource }), cookie);
  if (page.status !== 200) throw new Error(`consent page: ${page.status} ${page.html}`);
  const approved = await submitConsent(page, cookie, {
    decision: 'approve',
    connection: connectionId,
    scope: options.scope ?? ['gateway:call', 'offline_access'],
  });
  const location = new URL(approved.headers.get('Location') ?? 'about:blank');
  const code = location.searchParams.get('code');
  if (approved.status !== 302 || !code) throw new Error(`consent: ${approved.status} ${location}`);
  const res = await tokenRequest({
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    client_id: client,
    code_verifier: verifier,
    resource,
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return { ...((await res.json()) as Tokens), clientId: client };
}

export function mcpWithToken(
  slug: string,
  token: string,
  method = 'tools/list',
  extraHeaders: Record<string, string> = {},
  params: Record<string, unknown> = {},
): Promise<Response> {
  return fetchWorker(`/v1/mcp/${slug}`, {
    method: 'POST',
    headers: {
      ...extraHeaders,
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
}

/**
 * The body that creates a connection in upstream OAuth mode against the fake provider: the stored
 * credential is the gateway's client secret at the provider. `settings` are added beside
 * `upstreamOAuth`.
 */
export function upstreamModeConnection(
  slug: string,
  { name = slug, settings = {} }: { name?: string; settings?: Record<string, unknown> } = {},
) {
  return {
    slug,
    name,
    upstreamUrl: `${env.UPSTREAM_OAUTH_URL}/mcp`,
    authType: 'bearer',
    credential: UPSTREAM_OAUTH_CLIENT.clientSecret,
    settings: {
      upstreamOAuth: {
        issuer: env.UPSTREAM_OAUTH_URL,
        clientId: UPSTREAM_OAUTH_CLIENT.clientId,
        scopes: ['mcp:tools'],
      },
      ...settings,
    },
  };
}
