/**
 * Dynamic client registration (RFC 7591) is bounded (workers/oauth/oauth.registration.ts): a
 * registration over a bound is refused in RFC 7591's error shape and stores no client; one at the
 * bounds registers.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { randomId } from '../../workers/lib/ids';
import { TOKEN_BODY_BYTES } from '../../workers/oauth/oauth.body';
import {
  MAX_LIST_ENTRIES,
  MAX_LOCALIZED_FIELDS,
  MAX_NAME_CHARS,
  MAX_REDIRECT_URIS,
  MAX_URI_CHARS,
} from '../../workers/oauth/oauth.registration';
import { createConnection, createOrg } from './helpers';
import {
  authorizeUrl,
  fetchWorker,
  openConsent,
  pkce,
  REDIRECT_URI,
  randomAddress,
  registerClient,
  sessionCookie,
  submitConsent,
} from './oauth.helpers';

function register(metadata: Record<string, unknown>): Promise<Response> {
  return fetchWorker('/register', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': randomAddress() },
    body: JSON.stringify({
      client_name: 'Bounded client',
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'none',
      ...metadata,
    }),
  });
}

async function storedClients(): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await env.OAUTH_KV.list({ prefix: 'client:', cursor });
    count += page.keys.length;
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return count;
}

const uris = (n: number) => Array.from({ length: n }, (_, i) => `http://127.0.0.1:${4000 + i}/callback`);
const longUri = (chars: number) => `https://client.test/${'p'.repeat(chars - 'https://client.test/'.length)}`;

describe('dynamic client registration bounds', () => {
  it('registers a client at every bound', async () => {
    const res = await register({
      client_name: 'n'.repeat(MAX_NAME_CHARS),
      redirect_uris: [...uris(MAX_REDIRECT_URIS - 1), longUri(MAX_URI_CHARS)],
      contacts: Array.from({ length: MAX_LIST_ENTRIES }, (_, i) => `ops${i}@client.test`),
      client_uri: longUri(MAX_URI_CHARS),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const body = (await res.json()) as { redirect_uris: string[] };
    expect(body.redirect_uris).toHaveLength(MAX_REDIRECT_URIS);
  });

  const refusals: Array<[string, Record<string, unknown>, string]> = [
    ['too many redirect URIs', { redirect_uris: uris(MAX_REDIRECT_URIS + 1) }, 'invalid_redirect_uri'],
    ['one thousand redirect URIs', { redirect_uris: uris(1000) }, 'invalid_redirect_uri'],
    [
      'a redirect URI too long',
      { redirect_uris: [REDIRECT_URI, longUri(MAX_URI_CHARS + 1)] },
      'invalid_redirect_uri',
    ],
    [
      'too many contacts',
      { contacts: Array.from({ length: MAX_LIST_ENTRIES + 1 }, (_, i) => `c${i}@client.test`) },
      'invalid_client_metadata',
    ],
    [
      'a contact too long',
      { contacts: [`${'x'.repeat(MAX_NAME_CHARS)}@client.test`] },
      'invalid_client_metadata',
    ],
    [
      'too many response types',
      { response_types: Array.from({ length: MAX_LIST_ENTRIES + 1 }, () => 'code') },
      'invalid_client_metadata',
    ],
    ['a client_name too long', { client_name: 'n'.repeat(MAX_NAME_CHARS + 1) }, 'invalid_client_metadata'],
    ['a logo_uri too long', { logo_uri: longUri(MAX_URI_CHARS + 1) }, 'invalid_client_metadata'],
    [
      'too many localized names',
      Object.fromEntries(
        Array.from({ length: MAX_LOCALIZED_FIELDS + 1 }, (_, i) => [`client_name#l${i}`, 'Name']),
      ),
      'invalid_client_metadata',
    ],
  ];

  it.each(refusals)('refuses %s (RFC 7591 error shape) and stores no client', async (_, metadata, code) => {
    const before = await storedClients();
    const res = await register(metadata);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; error_description: string };
    expect(body.error).toBe(code);
    expect(body.error_description).toMatch(/at most \d+/);
    expect(await storedClients()).toBe(before);
  });
});

describe('the token endpoint body cap (workers/oauth/oauth.body.ts)', () => {
  const form = (size: number) => {
    const base = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: 'x:y:z',
      client_id: 'c',
    }).toString();
    return `${base}&pad=${'a'.repeat(size - base.length - 5)}`;
  };

  it('refuses a form one byte over TOKEN_BODY_BYTES, declared or chunked, with 413 invalid_request', async () => {
    const text = form(TOKEN_BODY_BYTES + 1);
    expect(new TextEncoder().encode(text).byteLength).toBe(TOKEN_BODY_BYTES + 1);
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(bytes);
        c.close();
      },
    });
    for (const body of [text, stream]) {
      const res = await fetchWorker('/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body,
        ...(typeof body === 'string' ? {} : { duplex: 'half' }),
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    }
  });

  it('answers a form at the cap as the OAuth server does (an unknown client: invalid_client, not 413)', async () => {
    const res = await fetchWorker('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form(TOKEN_BODY_BYTES),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
  });
});

describe('the consent form body cap (the same 64 KiB, oauth.body.ts)', () => {
  it('refuses a consent submission over the cap with 413 and issues no code; one within it is answered', async () => {
    const owner = await createOrg('owner');
    const cookie = await sessionCookie(owner.userId, owner.orgId);
    const slug = `cap-${randomId('c').slice(-8).toLowerCase()}`;
    const connectionId = (await createConnection(slug, { key: owner.key })).id;
    const client = await registerClient();
    const page = await openConsent(authorizeUrl(client, slug, (await pkce()).challenge), cookie);
    expect(page.status).toBe(200);
    const fields = { decision: 'approve', connection: connectionId, scope: 'gateway:call' };
    const over = await submitConsent(page, cookie, { ...fields, pad: 'a'.repeat(TOKEN_BODY_BYTES) });
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject({ error: 'invalid_request' });
    const approved = await submitConsent(page, cookie, fields);
    expect(approved.status).toBe(302);
    expect(new URL(approved.headers.get('Location')!).searchParams.get('code')).toBeTruthy();
  });
});
