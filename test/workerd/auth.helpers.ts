/**
 * Helpers for the people sign-in tests: a tiny cookie-keeping "browser" that talks to the Worker
 * the way the dashboard does (cookie + Origin + X-CSRF-Token), and readers for the dev outbox.
 */
import { env, exports } from 'cloudflare:workers';
import { randomId } from '../../workers/lib/ids';
import { BASE } from './helpers';

export const OWN_ORIGIN = BASE;
export const DASHBOARD_ORIGIN = 'https://dashboard.test';
export const SESSION_COOKIE = 'igris.session_token';
export const PASSWORD = 'correct horse battery staple';

export function uniqueEmail(label = 'user'): string {
  return `${randomId(label).toLowerCase()}@example.test`;
}

/** A random client address, so each test's sign-in failures land in their own address window. */
export function randomIp(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  return `10.${bytes[0]}.${bytes[1]}.${bytes[2]}`;
}

export interface SessionBody {
  user: { id: string; email: string; name: string; emailVerified: boolean };
  activeOrganization: { id: string; slug: string; name: string; role: string } | null;
  organizations: Array<{ id: string; slug: string; name: string; role: string }>;
  csrfToken: string;
  expiresAt: string;
}

export interface BrowserRequest {
  body?: unknown;
  headers?: Record<string, string>;
  /** Origin header to send; null sends none. Default: the Worker's own origin. */
  origin?: string | null;
  /** Send the remembered X-CSRF-Token (default true). */
  csrf?: boolean;
}

/** Keeps cookies like a browser (ignoring paths: every cookie goes everywhere), plus the CSRF token. */
export class Browser {
  readonly cookies = new Map<string, string>();
  csrf: string | null = null;
  readonly setCookies: string[] = [];

  constructor(readonly ip: string = randomIp()) {}

  get sessionToken(): string | undefined {
    return this.cookies.get(SESSION_COOKIE);
  }

  async fetch(method: string, path: string, options: BrowserRequest = {}): Promise<Response> {
    const headers = new Headers(options.headers);
    if (this.cookies.size > 0 && !headers.has('Cookie')) {
      headers.set('Cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const origin = options.origin === undefined ? OWN_ORIGIN : options.origin;
    if (origin) headers.set('Origin', origin);
    if ((options.csrf ?? true) && this.csrf && !headers.has('X-CSRF-Token'))
      headers.set('X-CSRF-Token', this.csrf);
    headers.set('CF-Connecting-IP', this.ip);
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers.set('Content-Type', 'application/json');
    }
    const url = path.startsWith('http') ? path : `${BASE}${path}`;
    const res = await exports.default.fetch(new Request(url, { method, headers, body, redirect: 'manual' }));
    this.absorb(res);
    return res;
  }

  absorb(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /;\s*max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async signUp(
    email = uniqueEmail(),
    password = PASSWORD,
    extra: Record<string, unknown> = {},
  ): Promise<SessionBody> {
    const res = await this.fetch('POST', '/api/auth/sign-up', { body: { email, password, ...extra } });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`sign-up ${email}: ${res.status} ${text}`);
    const session = JSON.parse(text) as SessionBody;
    this.csrf = session.csrfToken;
    return session;
  }

  async signIn(email: string, password = PASSWORD): Promise<SessionBody> {
    const res = await this.fetch('POST', '/api/auth/sign-in', { body: { email, password } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`sign-in ${email}: ${res.status} ${text}`);
    const session = JSON.parse(text) as SessionBody;
    this.csrf = session.csrfToken;
    return session;
  }

  async session(): Promise<SessionBody> {
    const res = await this.fetch('GET', '/api/auth/session');
    const text = await res.text();
    if (res.status !== 200) throw new Error(`session: ${res.status} ${text}`);
    return JSON.parse(text) as SessionBody;
  }
}

/** The newest mail to an address in the development outbox. */
export async function latestMail(to: string): Promise<{ subject: string; body: string } | null> {
  return env.DB.prepare(
    'SELECT subject, body FROM email_outbox WHERE "to" = ? ORDER BY created_at DESC, id DESC LIMIT 1',
  )
    .bind(to)
    .first<{ subject: string; body: string }>();
}

export async function mailCount(to: string): Promise<number> {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM email_outbox WHERE "to" = ?')
    .bind(to)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The token in the newest mail's link (`?token=…`). */
export async function tokenFromMail(to: string): Promise<string> {
  const mail = await latestMail(to);
  const match = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail?.body ?? '');
  if (!match) throw new Error(`no token in the latest mail to ${to}: ${mail?.body}`);
  return match[1]!;
}
