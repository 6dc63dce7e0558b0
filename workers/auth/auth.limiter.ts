/**
 * Brute-force limits for sign-in, kept in LoginLimiter Durable Objects (one per key):
 *
 * - per account (`acct:<sha256(email)>`): 5 failed sign-ins in 15 minutes lock it for 15 minutes;
 * - per client address (`ip:<address>`, IPv6 by /64): 30 failures in 15 minutes lock it for 15 minutes;
 * - per email for reset mail (`reset:<sha256(email)>`): 5 requests an hour;
 * - sign-ups per address (`signup:ip:<address>`), organizations per address and per user
 *   (`orgs:ip:<address>`, `orgs:user:<id>`): 10 an hour (SIGN_UP_RULE, ORG_CREATE_RULE).
 *
 * Unknown accounts are counted exactly like known ones, so a lock says nothing about whether an
 * account exists. A locked key answers 429 `rate_limited` with Retry-After before any password
 * work is done.
 *
 * Fail mode: CLOSED. If a limiter object cannot be reached the sign-in is refused with 503
 * (`guard_unavailable`): availability of sign-in is traded for never running unlimited guesses.
 */
import { loginLimiterFor } from '../../durable-objects/do.client';
import type { LimitRule, LimitVerdict } from '../../durable-objects/login-limiter.do';
import { AppError } from '../lib/errors';
import { sha256Hex } from '../lib/hex';
import { log } from '../lib/log';

export const ACCOUNT_RULE: LimitRule = { limit: 5, windowSeconds: 15 * 60, lockSeconds: 15 * 60 };
export const ADDRESS_RULE: LimitRule = { limit: 30, windowSeconds: 15 * 60, lockSeconds: 15 * 60 };
export const RESET_MAIL_RULE: LimitRule = { limit: 5, windowSeconds: 60 * 60, lockSeconds: 60 * 60 };
/**
 * Account and organization creation (issue 12: each writes rows into the shared D1, and sign-up is
 * anonymous): 10 sign-ups an hour per client address; 10 new organizations an hour per address
 * and per user. Counted on every attempt that passes validation, so they bound writes, not abuse
 * of a password.
 */
export const SIGN_UP_RULE: LimitRule = { limit: 10, windowSeconds: 60 * 60, lockSeconds: 60 * 60 };
export const ORG_CREATE_RULE: LimitRule = { limit: 10, windowSeconds: 60 * 60, lockSeconds: 60 * 60 };

type LimiterEnv = Pick<Env, 'LOGIN_LIMITER'>;

export interface LimitKey {
  name: string;
  rule: LimitRule;
}

/** IPv6 clients usually own a whole /64, so the address key is the /64 prefix. */
export function addressKey(ip: string | null): string {
  const address = ip?.trim().toLowerCase();
  if (!address) return 'ip:unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return `ip:${mapped[1]}`;
  if (!address.includes(':')) return `ip:${address}`;
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  const prefix = groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, ''));
  return `ip:${prefix.join(':')}::/64`;
}

export async function signInKeys(email: string, ip: string | null): Promise<LimitKey[]> {
  return [
    { name: `acct:${await sha256Hex(email)}`, rule: ACCOUNT_RULE },
    { name: addressKey(ip), rule: ADDRESS_RULE },
  ];
}

export async function accountKey(email: string): Promise<LimitKey> {
  return { name: `acct:${await sha256Hex(email)}`, rule: ACCOUNT_RULE };
}

export async function resetMailKey(email: string): Promise<LimitKey> {
  return { name: `reset:${await sha256Hex(email)}`, rule: RESET_MAIL_RULE };
}

export function signUpKeys(ip: string | null): LimitKey[] {
  return [{ name: `signup:${addressKey(ip)}`, rule: SIGN_UP_RULE }];
}

export function orgCreateKeys(ip: string | null, userId: string): LimitKey[] {
  return [
    { name: `orgs:${addressKey(ip)}`, rule: ORG_CREATE_RULE },
    { name: `orgs:user:${userId}`, rule: ORG_CREATE_RULE },
  ];
}

function unavailable(err: unknown): AppError {
  return new AppError('guard_unavailable', {
    message: 'Sign-in is temporarily unavailable',
    internal: err,
  });
}

function tooMany(verdicts: LimitVerdict[], message = 'Too many failed attempts: try again later'): AppError {
  const retryAfterSeconds = Math.max(...verdicts.map((v) => v.retryAfterSeconds));
  return new AppError('rate_limited', {
    message,
    details: { retryAfterSeconds },
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });
}

async function each(env: LimiterEnv, keys: LimitKey[], op: 'check' | 'fail'): Promise<LimitVerdict[]> {
  try {
    return await Promise.all(keys.map((k) => loginLimiterFor(env, k.name)[op](k.rule)));
  } catch (err) {
    log('error', 'login limiter unreachable: refusing (fail closed)', { err, op });
    throw unavailable(err);
  }
}

/** Throws 429 when any key is locked; 503 when a limiter cannot be asked. */
export async function assertNotLocked(env: LimiterEnv, keys: LimitKey[], message?: string): Promise<void> {
  const verdicts = await each(env, keys, 'check');
  const blocked = verdicts.filter((v) => !v.allowed);
  if (blocked.length > 0) throw tooMany(blocked, message);
}

/**
 * Counts one creation (sign-up, new organization) on every key, refusing with 429 and Retry-After
 * when a key is already at its limit; fail-closed (503) like sign-in when a limiter is unreachable.
 */
export async function consumeCreation(env: LimiterEnv, keys: LimitKey[], what: string): Promise<void> {
  await assertNotLocked(env, keys, `Too many ${what} from this client: try again later`);
  await each(env, keys, 'fail');
}

/** Counts one failure on every key. */
export async function recordFailure(env: LimiterEnv, keys: LimitKey[]): Promise<void> {
  await each(env, keys, 'fail');
}

/**
 * Counts one use of a key that limits requests rather than failures (reset mail); throws 429 when
 * this use is over the limit.
 */
export async function consumeOrThrow(env: LimiterEnv, key: LimitKey): Promise<void> {
  await assertNotLocked(env, [key]);
  await each(env, [key], 'fail');
}

/** Clears an account's failures after it proved its password (best effort: a failure only logs). */
export async function clearKey(env: LimiterEnv, key: LimitKey): Promise<void> {
  try {
    await loginLimiterFor(env, key.name).clear();
  } catch (err) {
    log('warn', 'login limiter clear failed', { err });
  }
}
