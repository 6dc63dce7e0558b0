/**
 * LoginLimiter — brute-force windows for sign-in. One object per key, sharded by name:
 * `loginLimiterFor(env, 'acct:<sha256(email)>')` for an account, `'ip:<address>'` for a
 * client address (IPv6 by /64), `'reset:<sha256(email)>'` for password-reset mail. Each object
 * only ever sees its own key, so a credential-stuffing run against many accounts is spread over
 * many objects and none of them becomes a hot spot.
 *
 * The window: failures inside the last `windowSeconds` are counted; the `limit`-th failure locks
 * the key for `lockSeconds`, after which it starts from zero. A success clears an account key
 * (never an address key: one valid account must not buy an attacker fresh guesses elsewhere).
 *
 * Failure mode: fail-CLOSED. The caller (workers/auth/auth.limiter.ts) refuses the sign-in with
 * 503 when this object cannot be reached, because a limiter that silently lets everything through
 * when it is down is exactly what an attacker would aim for.
 *
 * Storage is removed by an alarm once nothing is counted any more, so idle keys cost nothing.
 */
import { DurableObject } from 'cloudflare:workers';

export interface LimitRule {
  /** Failures within the window that lock the key. */
  limit: number;
  windowSeconds: number;
  /** How long the key stays locked after the limit is reached. */
  lockSeconds: number;
}

export interface LimitVerdict {
  allowed: boolean;
  /** Seconds until the key unlocks (0 when allowed). */
  retryAfterSeconds: number;
  /** Failures left before the key locks (0 when locked). */
  remaining: number;
}

interface LimitState {
  /** Times (ms) of the failures still inside the window, oldest first. */
  failures: number[];
  /** When the current lock ends (ms), 0 when not locked. */
  lockedUntil: number;
  /** When nothing stored here counts any more (ms): the cleanup alarm's time. */
  expiresAt: number;
}

const STATE_KEY = 'state';

export class LoginLimiter extends DurableObject<Env> {
  /** Is the key usable right now? Counts nothing. */
  async check(rule: LimitRule): Promise<LimitVerdict> {
    const now = Date.now();
    return this.#verdict(await this.#load(rule, now), rule, now);
  }

  /** Counts one failure (or, for reset mail, one request) and answers whether the key is now locked. */
  async fail(rule: LimitRule): Promise<LimitVerdict> {
    const now = Date.now();
    const state = await this.#load(rule, now);
    if (state.lockedUntil <= now) {
      state.failures.push(now);
      if (state.failures.length >= rule.limit) {
        state.lockedUntil = now + rule.lockSeconds * 1000;
        state.failures = [];
      }
    }
    const lastFailure = state.failures.at(-1) ?? 0;
    state.expiresAt = Math.max(state.lockedUntil, lastFailure + rule.windowSeconds * 1000);
    await this.ctx.storage.put(STATE_KEY, state);
    await this.ctx.storage.setAlarm(state.expiresAt);
    return this.#verdict(state, rule, now);
  }

  /** Forgets the key (a successful sign-in of the account, or a completed password reset). */
  async clear(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  override async alarm(): Promise<void> {
    const state = await this.ctx.storage.get<LimitState>(STATE_KEY);
    const expiresAt = state?.expiresAt ?? 0;
    if (Date.now() >= expiresAt) await this.ctx.storage.deleteAll();
    else await this.ctx.storage.setAlarm(expiresAt);
  }

  async #load(rule: LimitRule, now: number): Promise<LimitState> {
    const stored = await this.ctx.storage.get<LimitState>(STATE_KEY);
    const windowStart = now - rule.windowSeconds * 1000;
    return {
      failures: (stored?.failures ?? []).filter((t) => t > windowStart),
      lockedUntil: stored && stored.lockedUntil > now ? stored.lockedUntil : 0,
      expiresAt: stored?.expiresAt ?? 0,
    };
  }

  #verdict(state: LimitState, rule: LimitRule, now: number): LimitVerdict {
    if (state.lockedUntil > now) {
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil((state.lockedUntil - now) / 1000)),
        remaining: 0,
      };
    }
    return {
      allowed: true,
      retryAfterSeconds: 0,
      remaining: Math.max(0, rule.limit - state.failures.length),
    };
  }
}
