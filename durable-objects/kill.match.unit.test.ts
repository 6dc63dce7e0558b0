import { describe, expect, it } from 'vitest';
import {
  concernsGuard,
  holdsWholeSession,
  type KillRecord,
  type KillScope,
  killApplies,
  matchingKill,
} from './kill.match.ts';

const guard = { orgId: 'org_a', connectionId: 'con_1', sessionId: 'ses_1' };
const alice = { apiKeyId: 'key_1', user: 'alice@example.com' };
const anonymous = { apiKeyId: 'key_2', user: null };
let n = 0;
const kill = (scope: KillScope, target: string, createdAt = ++n): KillRecord => ({
  id: `ks_${scope}_${target}_${createdAt}`,
  scope,
  target,
  reason: null,
  createdAt,
});

describe('killApplies', () => {
  it.each([
    [kill('organization', 'org_a'), alice, true],
    [kill('organization', 'org_b'), alice, false],
    [kill('connection', 'con_1'), alice, true],
    [kill('connection', 'con_2'), alice, false],
    [kill('session', 'ses_1'), alice, true],
    [kill('session', 'ses_2'), alice, false],
    [kill('apiKey', 'key_1'), alice, true],
    [kill('apiKey', 'key_1'), anonymous, false],
    [kill('user', 'alice@example.com'), alice, true],
    [kill('user', 'Alice@example.com'), alice, false],
    [kill('user', 'alice@example.com'), anonymous, false],
  ])('%o for %o → %s', (k, caller, expected) => {
    expect(killApplies(k, guard, caller)).toBe(expected);
  });
});

describe('concernsGuard / holdsWholeSession', () => {
  it('keeps user and apiKey switches on every guard, but they hold only some callers', () => {
    expect(concernsGuard(kill('user', 'x'), guard)).toBe(true);
    expect(concernsGuard(kill('apiKey', 'x'), guard)).toBe(true);
    expect(holdsWholeSession(kill('user', 'x'), guard)).toBe(false);
    expect(holdsWholeSession(kill('connection', 'con_1'), guard)).toBe(true);
    expect(holdsWholeSession(kill('connection', 'con_2'), guard)).toBe(false);
  });
});

describe('matchingKill', () => {
  it('returns null when nothing holds', () => {
    expect(matchingKill([kill('connection', 'con_2'), kill('user', 'bob')], guard, alice)).toBeNull();
  });

  it('reports the broadest switch that holds, the oldest among equals', () => {
    const user = kill('user', 'alice@example.com', 1);
    const conn = kill('connection', 'con_1', 5);
    const conn2 = kill('connection', 'con_1', 3);
    const org = kill('organization', 'org_a', 9);
    expect(matchingKill([user], guard, alice)).toBe(user);
    expect(matchingKill([user, conn], guard, alice)).toBe(conn);
    expect(matchingKill([user, conn, conn2], guard, alice)).toBe(conn2);
    expect(matchingKill([conn, user, org], guard, alice)).toBe(org);
  });
});
