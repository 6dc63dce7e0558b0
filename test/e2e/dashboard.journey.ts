/**
 * What the dashboard journey files share (dashboard.e2e.test.ts: account → API key → connection →
 * policy; dashboard.observe.e2e.test.ts: an agent's calls on Observe, the kill switch, Audit;
 * dashboard.org.e2e.test.ts: LLM usage, members, settings, teams): the organization they act in,
 * the page helpers, and the set-up that gives a later file the state the first one builds in the
 * browser — a signed-in owner of a fresh "Acme Security", an admin API key, the `payments`
 * connection — through the product's own sign-up and API, then the real sign-in form.
 *
 * Each file signs up its own owner, so its organization (and `payments`, a slug per organization)
 * is its own: the files pass alone, in any order, and side by side. Other dashboard files
 * (oauth.upstream.dashboard) sign their people up and in through the same helpers.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { inject } from 'vitest';
import { type Browser, launchBrowser } from './browser';
import { type connectClient, gatewayUrl } from './helpers';
import { clientAddress, signUp } from './sign-up.fixtures';

export const org = 'Acme Security';
export const slug = 'payments';
export const agentUser = 'agent@acme.test';
/**
 * expect.poll gives up after 1 s unless told otherwise; what these polls wait for (a live event
 * rendered, a page's fetch answered) is waited for as long as a locator's default (browser.ts: 20 s)
 * — Chromium, the runtime and the test share two loaded cores in CI.
 */
export const UI_SETTLES = { timeout: 20_000 };

/**
 * The policy the first file writes in the editor and ends the policy test with (v1, rolled back
 * to): what the agent's calls on Observe are decided by.
 */
export const PAYMENTS_POLICY = [
  { tool: 'delete_*', action: 'deny', reason: 'Deletes need a human' },
  {
    tool: 'echo',
    action: 'allow',
    conditions: { 'metadata.role': { in: ['analyst', 'admin'] } },
    rateLimit: { limit: 60, windowSeconds: 60, by: 'user' },
  },
  { tool: '*', action: 'alert', reason: 'Unreviewed tool' },
];

export interface Owner {
  name: string;
  email: string;
  password: string;
}

/** A new address per file and run (signing up an address that has an account is a 409). */
export function newOwner(): Owner {
  return {
    name: 'Ada Lovelace',
    email: `ada-${randomBytes(4).toString('hex')}@example.com`,
    password: 'correct horse battery staple',
  };
}

export const url = (path: string) => `${gatewayUrl()}${path}`;

/**
 * A fresh Chromium whose pages may use the clipboard (the copy buttons are checked), its requests
 * from the file's own client address (sign-up.fixtures.ts: the first file signs up in it).
 */
export async function openBrowser(): Promise<Browser> {
  const browser = await launchBrowser({ clientAddress: clientAddress() });
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gatewayUrl() });
  return browser;
}

/** The helpers every step uses, on whatever page `current` returns when they are called. */
export function pageHelpers(current: () => Page) {
  return {
    async open(path: string): Promise<void> {
      await current().goto(url(path));
    },
    async heading(name: string): Promise<void> {
      await current().getByRole('heading', { level: 1, name }).waitFor();
    },
    /** A link of the main navigation. */
    nav(name: string): Locator {
      return current().getByRole('navigation', { name: 'Primary' }).getByRole('link', { name, exact: true });
    },
    card(name: string): Locator {
      return current().getByRole('region', { name });
    },
    async toast(text: string | RegExp): Promise<void> {
      await current().locator('.toast', { hasText: text }).first().waitFor();
    },
    async downloadOf(click: () => Promise<void>): Promise<string> {
      const [download] = await Promise.all([current().waitForEvent('download'), click()]);
      return readFileSync(await download.path(), 'utf8');
    },
  };
}

type McpSession = Awaited<ReturnType<typeof connectClient>>;

/**
 * The journey's agent: one MCP session (the official SDK client), opened on first use and kept, so
 * the dashboard sees one session with a last caller; closed to make the next call open a new one.
 */
export function agentSession(connect: () => Promise<McpSession>) {
  let mcp: McpSession | null = null;
  return {
    async agent() {
      mcp ??= await connect();
      return mcp.client;
    },
    async closeAgent(): Promise<void> {
      if (!mcp) return;
      await mcp.client.close().catch(() => undefined);
      mcp = null;
    },
  };
}

/** The text of an MCP tool result. */
export function text(result: unknown): string {
  return ((result as { content: Array<{ text: string }> }).content[0] ?? { text: '' }).text;
}

async function must<T>(res: Response, status: number, what: string): Promise<T> {
  const body = await res.text();
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${body}`);
  return JSON.parse(body) as T;
}

/** The dashboard session as the browser holds it: cookie and CSRF token (docs/auth.md). */
export interface Session {
  cookie: string;
  csrf: string;
}

/**
 * Signs `owner` up from the running file's own address (sign-up.fixtures.ts): into a new
 * organization (the journey's, unless another name is given) or, with an invitation's token, into
 * the organization that invited them.
 */
export async function signUpOwner(
  owner: Owner,
  joining: { organizationName: string } | { invitationToken: string } = { organizationName: org },
): Promise<Session> {
  const { cookie, csrf } = await signUp({
    name: owner.name,
    email: owner.email,
    password: owner.password,
    ...joining,
  });
  return { cookie, csrf };
}

/** A request to `/api/v1<path>` as the signed-in owner, as the dashboard makes it (cookie, Origin, CSRF token). */
export async function asOwner<T>(
  session: Session,
  method: string,
  path: string,
  body: unknown,
  status: number,
): Promise<T> {
  return asSession<T>(session, method, `/api/v1${path}`, body, status);
}

/** Any `/api` request (`/api/auth/invitations` too) in a session, answered with `status`. */
export async function asSession<T>(
  session: Session,
  method: string,
  path: string,
  body: unknown,
  status: number,
): Promise<T> {
  const res = await fetch(url(path), {
    method,
    headers: {
      Cookie: session.cookie,
      Origin: new URL(gatewayUrl()).origin,
      'X-CSRF-Token': session.csrf,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  return must<T>(res, status, `${method} ${path}`);
}

/**
 * A fresh organization as the first file leaves it after its API key and connection steps: the
 * owner signed up, the "payments agent" admin key, the `payments` connection to the demo server
 * (with `policy` published, if given), and a browser signed in through the sign-in form, on Observe.
 */
export async function signedInOwner(options: { policy?: unknown[] } = {}): Promise<{
  owner: Owner;
  apiKey: string;
  browser: Browser;
}> {
  const owner = newOwner();
  const session: Session = await signUp({
    name: owner.name,
    email: owner.email,
    password: owner.password,
    organizationName: org,
  });
  const { key } = await asOwner<{ key: string }>(
    session,
    'POST',
    '/api-keys',
    { name: 'payments agent', role: 'admin' },
    201,
  );
  await asOwner(
    session,
    'POST',
    '/connections',
    {
      slug,
      name: 'Payments API',
      upstreamUrl: `${inject('upstreamUrl')}/mcp`,
      authType: 'bearer',
      credential: 'sk_live_payments_upstream',
    },
    201,
  );
  if (options.policy)
    await asOwner(session, 'PUT', `/connections/${slug}/policy`, { rules: options.policy }, 200);

  return { owner, apiKey: key, browser: await signedInAs(owner) };
}

/** A fresh browser signed in as `owner` through the real sign-in form, on Observe. */
export async function signedInAs(owner: Owner): Promise<Browser> {
  const browser = await openBrowser();
  const { page } = browser;
  await page.goto(url('/'));
  await page.getByLabel('Email').fill(owner.email);
  await page.getByLabel('Password').fill(owner.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Observe' }).waitFor();
  return browser;
}
