import { describe, expect, it } from 'vitest';
import { HeldKills, PUSH_TRUST_MS } from './kill.held.ts';
import type { KillRecord } from './kill.match.ts';

const guard = { orgId: 'org_a', connectionId: 'con_1', sessionId: 'ses_1' };
const caller = { apiKeyId: 'key_1', user: 'alice@example.com' };
const orgWide: KillRecord = {
  id: 'ks_org',
  scope: 'organization',
  target: 'org_a',
  reason: null,
  createdAt: 1,
};

describe('HeldKills: a pushed switch and a D1 re-read that does not list it yet', () => {
  it('keeps a switch pushed moments ago when a re-read started after the push misses its record', () => {
    const held = new HeldKills();
    held.push(orgWide, guard, 1_000);
    // The organization-wide record is written in parallel with the push: the read saw no row.
    held.replace([], guard, 1_000 + 50);
    expect(held.matching(guard, caller)?.id).toBe('ks_org');
  });

  it('drops it once D1 still does not list it after the trust window (its record failed)', () => {
    const held = new HeldKills();
    held.push(orgWide, guard, 1_000);
    held.replace([], guard, 1_000 + PUSH_TRUST_MS);
    expect(held.matching(guard, caller)).toBeNull();
  });

  it('a lift drops it at once, trust window or not', () => {
    const held = new HeldKills();
    held.push(orgWide, guard, 1_000);
    held.lift('ks_org');
    held.replace([], guard, 1_001);
    expect(held.matching(guard, caller)).toBeNull();
  });

  it('a switch pushed before the first load is trusted the same way after the load', () => {
    const held = new HeldKills();
    held.pushedBeforeLoad.set(orgWide.id, orgWide);
    held.replace([], guard, 1_000);
    held.loaded(guard, 1_000);
    held.replace([], guard, 2_000);
    expect(held.matching(guard, caller)?.id).toBe('ks_org');
  });

  it('a switch only ever read from D1 is dropped by the next read that does not list it', () => {
    const held = new HeldKills();
    held.replace([orgWide], guard, 1_000);
    held.replace([], guard, 1_001);
    expect(held.matching(guard, caller)).toBeNull();
  });

  it('drops a switch in its trust window at once when the re-read says it is lifted (a lift not pushed here)', () => {
    const held = new HeldKills();
    held.push(orgWide, guard, 1_000);
    expect(held.pushedIds()).toEqual(['ks_org']);
    held.replace([], guard, 1_000 + 50, ['ks_org']);
    expect(held.matching(guard, caller)).toBeNull();
    expect(held.pushedIds()).toEqual([]);
  });

  it('does not hold at the first load a switch pushed before it that D1 says is lifted', () => {
    const held = new HeldKills();
    held.pushedBeforeLoad.set(orgWide.id, orgWide);
    expect(held.pushedIds()).toEqual(['ks_org']);
    held.replace([], guard, 1_000, ['ks_org']);
    held.loaded(guard, 1_000, ['ks_org']);
    expect(held.matching(guard, caller)).toBeNull();
  });
});
