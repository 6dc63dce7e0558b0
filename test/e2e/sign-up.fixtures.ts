/**
 * Sign-ups in the end-to-end tests, each counted against its own file's client address.
 *
 * Sign-ups are limited to 10 an hour per client address (SIGN_UP_RULE, workers/auth/auth.limiter.ts;
 * docs/auth.md), and every client of the shared stack would otherwise be the same one: ten sign-ups
 * in the whole suite, and the eleventh anywhere is a 429. On Cloudflare the edge names the caller's
 * address in CF-Connecting-IP, overwriting whatever a client sent; the local runtime keeps the
 * header a client sends, so here the set-up plays the edge. Each e2e file, and each docs page
 * docs.e2e.test.ts runs, has a documentation address (RFC 5737) no other file has, so a file's
 * sign-ups count only against it: they pass alone, in any order, beside any other file.
 *
 * The sign-up endpoint is spelled here only (sign-up.addresses.unit.test.ts refuses it anywhere
 * else in test/), and every sign-up checks that the runtime opened its session from the file's
 * address: what the limiter counted it against.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { expect, inject } from 'vitest';
import { ROOT } from '../../scripts/local-stack';
import { gatewayUrl } from './helpers';
import { readLocalD1 } from './local-d1';

/** The people API's sign-up (docs/auth.md): spelled nowhere else in test/. */
export const SIGN_UP_PATH = '/api/auth/sign-up';

/** The documentation blocks (RFC 5737): 254 usable addresses each. */
const BLOCKS = ['192.0.2', '198.51.100', '203.0.113'];

/** Every file that may sign up, repository-relative, in a fixed order: the e2e files and the docs pages. */
export function addressedFiles(): string[] {
  const e2e = readdirSync(path.join(ROOT, 'test', 'e2e'))
    .filter((f) => f.endsWith('.e2e.test.ts'))
    .map((f) => `test/e2e/${f}`);
  const docs = readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return [...e2e, ...docs].sort();
}

/** The client address of `file` (repository-relative): distinct for every file of addressedFiles(). */
export function addressOf(file: string): string {
  const index = addressedFiles().indexOf(file);
  if (index < 0) throw new Error(`${file} is neither an e2e test file nor a docs page`);
  const block = BLOCKS[Math.floor(index / 254)];
  if (!block) throw new Error('more files than documentation addresses: give the e2e files a wider range');
  return `${block}.${(index % 254) + 1}`;
}

/** The running test file's client address. */
export function clientAddress(): string {
  const file = expect.getState().testPath;
  if (!file) throw new Error('clientAddress() is for code running in a test file');
  return addressOf(path.relative(ROOT, file).split(path.sep).join('/'));
}

/** What a sign-up sends (docs/auth.md): the address, the password; optionally a name, an organization. */
export interface SignUpBody {
  email: string;
  password: string;
  name?: string;
  organizationName?: string;
  invitationToken?: string;
}

/** A person signed in by their sign-up: cookie and CSRF token, as the browser holds them; the answer. */
export interface SignedUp {
  cookie: string;
  csrf: string;
  session: Record<string, unknown> & { csrfToken: string };
}

/**
 * Signs up from the running file's address (201 or throws) and checks the runtime saw that
 * address: the session the sign-up opened was recorded from it.
 */
export async function signUp(body: SignUpBody): Promise<SignedUp> {
  const address = clientAddress();
  const res = await fetch(`${gatewayUrl()}${SIGN_UP_PATH}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Origin: new URL(gatewayUrl()).origin,
      'CF-Connecting-IP': address,
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`sign-up: ${res.status} ${text}`);
  const cookie = res.headers
    .getSetCookie()
    .map((line) => line.split(';')[0] ?? '')
    .find((pair) => pair.startsWith('igris.session_token='));
  if (!cookie) throw new Error('sign-up set no session cookie');
  expect(signedUpFrom(body.email), 'the address the sign-up was counted against').toBe(address);
  const session = JSON.parse(text) as SignedUp['session'];
  return { cookie, csrf: session.csrfToken, session };
}

/**
 * The address `email`'s account was made from: that of its first session (a sign-up opens one), as
 * the runtime recorded it from CF-Connecting-IP; undefined when there is none.
 */
export function signedUpFrom(email: string): string | null | undefined {
  return readLocalD1(inject('persistTo'), 'auth_sessions', (db) => {
    const row = db
      .prepare(
        `SELECT s.ip AS ip FROM auth_sessions s JOIN users u ON u.id = s.user_id
          WHERE u.email = ? ORDER BY s.created_at, s.rowid LIMIT 1`,
      )
      .get(email) as { ip: string | null } | undefined;
    return row?.ip;
  });
}

/** How many accounts were made from `address` (their first session opened from it). */
export function signUpsFrom(address: string): number {
  return (
    readLocalD1(inject('persistTo'), 'auth_sessions', (db) => {
      const row = db
        .prepare(
          `SELECT COUNT(*) AS n FROM auth_sessions s
            WHERE s.ip = ? AND s.rowid = (SELECT f.rowid FROM auth_sessions f WHERE f.user_id = s.user_id
                                          ORDER BY f.created_at, f.rowid LIMIT 1)`,
        )
        .get(address) as { n: number };
      return row.n;
    }) ?? 0
  );
}
