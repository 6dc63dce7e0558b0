/**
 * A person of the OAuth end-to-end tests, through the real runtime: signs up (dashboard session
 * cookie and CSRF token), makes an organization with MCP connections, and consents on the
 * authorization page as the browser would.
 */
import { expect, inject } from 'vitest';
import { gatewayUrl } from './helpers';
import { signUp as signUpFromFile } from './sign-up.fixtures';

export const REDIRECT_URL = 'http://127.0.0.1:3999/oauth/callback';

/** A person signed in to the dashboard: cookie and CSRF token, as the browser would hold them. */
export interface Person {
  cookie: string;
  csrf: string;
}

export function origin(): string {
  return new URL(gatewayUrl()).origin;
}

export async function signUp(): Promise<Person> {
  const email = `oauth-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const { cookie, csrf } = await signUpFromFile({ email, password: 'correct horse battery staple' });
  return { cookie, csrf };
}

export async function asPerson(
  person: Person,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${gatewayUrl()}${path}`, {
    method,
    headers: {
      Cookie: person.cookie,
      'X-CSRF-Token': person.csrf,
      Origin: origin(),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The person's own organization with two MCP connections (A and B) to the demo server. */
export async function setUp(person: Person, slugs: string[]): Promise<Record<string, string>> {
  const orgSlug = `oauth-${crypto.randomUUID().slice(0, 8)}`;
  const org = await asPerson(person, 'POST', '/api/auth/organizations', { name: orgSlug, slug: orgSlug });
  if (org.status !== 201) throw new Error(`org: ${org.status} ${await org.text()}`);
  await org.text();
  const ids: Record<string, string> = {};
  for (const slug of slugs) {
    const created = await asPerson(person, 'POST', '/api/v1/connections', {
      slug,
      name: slug,
      upstreamUrl: `${inject('upstreamUrl')}/stateless`,
      authType: 'none',
    });
    if (created.status !== 201) throw new Error(`connection: ${created.status} ${await created.text()}`);
    ids[slug] = ((await created.json()) as { id: string }).id;
    const policy = await asPerson(person, 'PUT', `/api/v1/connections/${slug}/policy`, {
      rules: [{ tool: '*', action: 'allow' }],
    });
    if (policy.status !== 200) throw new Error(`policy: ${policy.status} ${await policy.text()}`);
    await policy.text();
  }
  return ids;
}

/** The consent step: open the page with the session, pick the connection, allow. Returns the code. */
export async function consent(
  person: Person,
  authorizationUrl: URL,
  connectionId: string,
  clientName = 'igris-e2e OAuth client',
  redirectUrl = REDIRECT_URL,
): Promise<string> {
  const page = await fetch(authorizationUrl, { headers: { Cookie: person.cookie }, redirect: 'manual' });
  const html = await page.text();
  expect(page.status).toBe(200);
  expect(html).toContain(clientName);
  const handle = /name="handle" value="([^"]+)"/.exec(html)?.[1] ?? '';
  const bound = page.headers.getSetCookie().map((line) => line.split(';')[0]);
  const form = new URLSearchParams({ handle, decision: 'approve', connection: connectionId });
  form.append('scope', 'gateway:call');
  form.append('scope', 'offline_access');
  const approved = await fetch(`${gatewayUrl()}/api/oauth/authorize`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Cookie: [person.cookie, ...bound].join('; '),
      Origin: origin(),
    },
    body: form.toString(),
    redirect: 'manual',
  });
  expect(approved.status).toBe(302);
  const location = new URL(approved.headers.get('Location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe(redirectUrl);
  expect(location.searchParams.get('iss')).toBe(origin());
  return location.searchParams.get('code') ?? '';
}
