/**
 * Brute-force protection: failed sign-ins are counted per account and per client address in
 * LoginLimiter Durable Objects; a locked key answers 429 with Retry-After before any password is
 * checked. The limiter fails closed.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_RULE,
  ADDRESS_RULE,
  addressKey,
  assertNotLocked,
  signInKeys,
} from '../../workers/auth/auth.limiter';
import { AppError } from '../../workers/lib/errors';
import { randomId } from '../../workers/lib/ids';
import { Browser, PASSWORD, randomIp, uniqueEmail } from './auth.helpers';
import { expectApiError, expectJson } from './helpers';

async function failSignIn(email: string, ip: string): Promise<Response> {
  return new Browser(ip).fetch('POST', '/api/auth/sign-in', {
    body: { email, password: 'definitely wrong' },
  });
}

describe('per-account lockout', () => {
  it(`locks an account after ${ACCOUNT_RULE.limit} failures: even the right password then gets 429 + Retry-After`, async () => {
    const email = uniqueEmail('locked');
    await new Browser().signUp(email);
    for (let i = 0; i < ACCOUNT_RULE.limit; i++) {
      await expectApiError(await failSignIn(email, randomIp()), 401, 'unauthorized');
    }
    const locked = await new Browser(randomIp()).fetch('POST', '/api/auth/sign-in', {
      body: { email, password: PASSWORD },
    });
    const err = await expectApiError(locked, 429, 'rate_limited');
    expect(err.message).toBe('Too many failed attempts: try again later');
    const retryAfter = Number(locked.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(ACCOUNT_RULE.lockSeconds);
    expect(err.details).toEqual({ retryAfterSeconds: retryAfter });
    expect(locked.headers.getSetCookie()).toEqual([]);
    // Other accounts are unaffected.
    const other = uniqueEmail('free');
    await new Browser().signUp(other);
    await new Browser().signIn(other);
  });

  it('locks unknown accounts the same way, so a lock reveals nothing about who has an account', async () => {
    const ghost = uniqueEmail('ghost');
    for (let i = 0; i < ACCOUNT_RULE.limit; i++) await failSignIn(ghost, randomIp());
    await expectApiError(await failSignIn(ghost, randomIp()), 429, 'rate_limited');
  });

  it('a successful sign-in clears the account window', async () => {
    const email = uniqueEmail('clears');
    await new Browser().signUp(email);
    for (let i = 0; i < ACCOUNT_RULE.limit - 1; i++) await failSignIn(email, randomIp());
    await new Browser().signIn(email);
    for (let i = 0; i < ACCOUNT_RULE.limit - 1; i++) {
      await expectApiError(await failSignIn(email, randomIp()), 401, 'unauthorized');
    }
    await new Browser().signIn(email);
  });

  it('wrong current passwords on password change count against the account too', async () => {
    const email = uniqueEmail('oracle');
    const browser = new Browser();
    await browser.signUp(email);
    for (let i = 0; i < ACCOUNT_RULE.limit; i++) {
      const res = await browser.fetch('POST', '/api/auth/password', {
        body: { currentPassword: `guess ${i}`, newPassword: 'a brand new password' },
      });
      await expectApiError(res, 403, 'forbidden');
    }
    const next = await browser.fetch('POST', '/api/auth/password', {
      body: { currentPassword: PASSWORD, newPassword: 'a brand new password' },
    });
    await expectApiError(next, 429, 'rate_limited');
  });

  it('a completed password reset unlocks the account', async () => {
    const email = uniqueEmail('unlock');
    await new Browser().signUp(email);
    for (let i = 0; i < ACCOUNT_RULE.limit; i++) await failSignIn(email, randomIp());
    await expectApiError(await failSignIn(email, randomIp()), 429, 'rate_limited');
    await new Browser().fetch('POST', '/api/auth/password/reset', { body: { email } });
    const mail = await env.DB.prepare(
      'SELECT body FROM email_outbox WHERE "to" = ? ORDER BY created_at DESC LIMIT 1',
    )
      .bind(email)
      .first<{ body: string }>();
    const token = /token=([A-Za-z0-9_-]+)/.exec(mail!.body)![1]!;
    const reset = await new Browser().fetch('POST', '/api/auth/password/reset/confirm', {
      body: { token, newPassword: 'after the lockout' },
    });
    await expectJson(reset, 200);
    await new Browser().signIn(email, 'after the lockout');
  });
});

describe('per-address lockout', () => {
  it(`locks a client address after ${ADDRESS_RULE.limit} failures across accounts; other addresses still sign in`, async () => {
    const ip = randomIp();
    for (let i = 0; i < ADDRESS_RULE.limit; i++) {
      await expectApiError(await failSignIn(uniqueEmail(`spray${i}`), ip), 401, 'unauthorized');
    }
    const email = uniqueEmail('victim');
    await new Browser().signUp(email);
    const fromBadIp = await new Browser(ip).fetch('POST', '/api/auth/sign-in', {
      body: { email, password: PASSWORD },
    });
    await expectApiError(fromBadIp, 429, 'rate_limited');
    expect(Number(fromBadIp.headers.get('Retry-After'))).toBeGreaterThan(0);
    await new Browser(randomIp()).signIn(email);
  });

  it('keys IPv6 clients by their /64', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('ip:2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('ip:2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('ip:2001:db8:0:0::/64');
    expect(addressKey('::ffff:192.0.2.7')).toBe('ip:192.0.2.7');
    expect(addressKey('192.0.2.7')).toBe('ip:192.0.2.7');
    expect(addressKey(null)).toBe('ip:unknown');
  });
});

describe('LoginLimiter object', () => {
  it('locks at the limit, reports Retry-After, unlocks after the lock, and cleans up by alarm', async () => {
    const stub = env.LOGIN_LIMITER.getByName(`test:${randomId('k')}`);
    const rule = { limit: 3, windowSeconds: 60, lockSeconds: 120 };
    expect(await stub.check(rule)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 3 });
    expect((await stub.fail(rule)).remaining).toBe(2);
    expect((await stub.fail(rule)).remaining).toBe(1);
    const locked = await stub.fail(rule);
    expect(locked.allowed).toBe(false);
    expect(locked.retryAfterSeconds).toBeGreaterThan(100);
    expect(locked.retryAfterSeconds).toBeLessThanOrEqual(120);
    expect((await stub.check(rule)).allowed).toBe(false);

    // Move the lock into the past: the key is usable again and counts from zero.
    await runInDurableObject(stub, async (_instance, state) => {
      const stored = (await state.storage.get<{ lockedUntil: number; failures: number[]; expiresAt: number }>(
        'state',
      ))!;
      await state.storage.put('state', { ...stored, lockedUntil: Date.now() - 1, expiresAt: Date.now() - 1 });
    });
    expect(await stub.check(rule)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 3 });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const left = await runInDurableObject(stub, (_instance, state) => state.storage.list());
    expect(left.size).toBe(0);
  });

  it('forgets failures that fell out of the window', async () => {
    const stub = env.LOGIN_LIMITER.getByName(`test:${randomId('k')}`);
    const rule = { limit: 2, windowSeconds: 60, lockSeconds: 60 };
    await stub.fail(rule);
    await runInDurableObject(stub, async (_instance, state) => {
      const stored = (await state.storage.get<{ failures: number[] }>('state'))!;
      await state.storage.put('state', { ...stored, failures: stored.failures.map((t) => t - 61_000) });
    });
    expect((await stub.fail(rule)).allowed).toBe(true);
  });
});

describe('fail mode', () => {
  it('is closed: when the limiter cannot be reached, sign-in is refused with 503', async () => {
    const broken = {
      getByName: () => {
        throw new Error('Durable Object unreachable');
      },
    } as unknown as Env['LOGIN_LIMITER'];
    const keys = await signInKeys('someone@example.test', '192.0.2.1');
    const refusal = await assertNotLocked({ LOGIN_LIMITER: broken }, keys).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refusal).toBeInstanceOf(AppError);
    expect((refusal as AppError).code).toBe('guard_unavailable');
    expect((refusal as AppError).status).toBe(503);
  });
});
