import { describe, expect, it } from 'vitest';
import { isOverflowKey, overflowKey, rateOwner } from './rate.bound.ts';
import { RateWindows } from './rate.window.ts';
import { memorySql } from './sql.fixtures.ts';

const CAPS = { perCaller: 3, perGuard: 5 };
const user = (name: string, limit = 2) => ({
  ruleIndex: 0,
  key: `v1:r0:user=${name}`,
  limit,
  windowSeconds: 60,
});
const tokens = (name: string, limit: number) => ({
  ...user(name, limit),
  key: `tok:${user(name).key}`,
  unit: 'tokens' as const,
});

describe('rate windows are bounded per API key (or member) and per guard', () => {
  it('counts the new users of a key at its bound together, in its overflow window of the rule', () => {
    const w = new RateWindows(memorySql(), CAPS);
    for (let i = 0; i < 3; i++) expect(w.admit([user(`u${i}`)], 1_000, 'keyA').ok).toBe(true);
    expect(w.windowCount('keyA')).toBe(3);
    // Over the bound: u3 and u4 share one window of the rule's limit (2); u5 is refused.
    expect(w.admit([user('u3')], 1_001, 'keyA').ok).toBe(true);
    expect(w.admit([user('u4')], 1_002, 'keyA').ok).toBe(true);
    expect(w.admit([user('u5')], 1_003, 'keyA')).toMatchObject({ ok: false, ruleIndex: 0, limit: 2 });
    for (let i = 6; i < 200; i++) expect(w.admit([user(`u${i}`)], 1_004, 'keyA').ok).toBe(false);
    expect(w.windowCount('keyA')).toBe(3);
    expect(w.windowCount()).toBe(3);
    expect(w.count(overflowKey(user('u3').key, 'keyA'), 60, 1_004)).toBe(2);
    // A user counted before the bound keeps its own window.
    expect(w.admit([user('u0')], 1_005, 'keyA').ok).toBe(true);
    expect(w.admit([user('u0')], 1_006, 'keyA').ok).toBe(false);
  });

  it('leaves another key its own quota, and a key without one (null) its own', () => {
    const w = new RateWindows(memorySql(), CAPS);
    for (let i = 0; i < 10; i++) w.admit([user(`flood${i}`)], 1_000, 'keyA');
    expect(w.admit([user('bob')], 1_001, 'keyB').ok).toBe(true);
    expect(w.admit([user('bob')], 1_002, 'keyB').ok).toBe(true);
    expect(w.admit([user('bob')], 1_003, 'keyB').ok).toBe(false);
    expect(w.admit([user('carol')], 1_004, null).ok).toBe(true);
    expect(w.windowCount('keyB')).toBe(1);
    expect(w.windowCount('(none)')).toBe(1);
  });

  it('sends new windows to overflow once the guard holds its bound, whoever made them', () => {
    const w = new RateWindows(memorySql(), CAPS);
    for (let i = 0; i < 3; i++) w.admit([user(`a${i}`)], 1_000, 'keyA');
    for (let i = 0; i < 2; i++) w.admit([user(`b${i}`)], 1_000, 'keyB');
    expect(w.windowCount()).toBe(5);
    expect(w.admit([user('c0')], 1_001, 'keyC').ok).toBe(true);
    expect(w.windowCount()).toBe(5);
    expect(w.count(overflowKey(user('c0').key, 'keyC'), 60, 1_001)).toBe(1);
  });

  it('takes as many places as a call creates windows (a batch of new users at once)', () => {
    const w = new RateWindows(memorySql(), CAPS);
    const batch = ['x', 'y', 'z', 'w'].map((n) => user(n));
    expect(w.admit(batch, 1_000, 'keyA').ok).toBe(true);
    expect(w.windowCount('keyA')).toBe(3);
    expect(w.count(overflowKey(user('w').key, 'keyA'), 60, 1_000)).toBe(1);
  });

  it('frees the places of windows the alarm prunes, in memory and in SQLite', () => {
    const sql = memorySql();
    const w = new RateWindows(sql, CAPS);
    for (let i = 0; i < 6; i++) w.admit([user(`u${i}`)], 1_000, 'keyA');
    w.prune(61_001);
    expect(w.windowCount()).toBe(0);
    expect(sql.exec<{ n: number }>('SELECT count(*) AS n FROM rate_window_owners').one().n).toBe(0);
    expect(w.admit([user('fresh')], 61_002, 'keyA').ok).toBe(true);
    expect(w.count(user('fresh').key, 60, 61_002)).toBe(1);
  });

  it('reads the owners back when the guard starts, so a restart frees no place', () => {
    const sql = memorySql();
    const before = new RateWindows(sql, CAPS);
    for (let i = 0; i < 5; i++) before.admit([user(`u${i}`)], 1_000, 'keyA');
    const after = new RateWindows(sql, CAPS);
    expect(after.windowCount('keyA')).toBe(3);
    expect(after.admit([user('u9')], 1_001, 'keyA').ok).toBe(false);
    expect(after.admit([user('b')], 1_001, 'keyB').ok).toBe(true);
  });

  it('counts windows from before the owners table against the guard only', () => {
    const sql = memorySql();
    new RateWindows(sql, CAPS);
    sql.exec("INSERT INTO rate_hits (key, ts, expires_at) VALUES ('v1:r0:user=old', 1000, 61000)");
    const w = new RateWindows(sql, CAPS);
    expect(w.windowCount()).toBe(1);
    expect(w.windowCount('keyA')).toBe(0);
  });

  it('records the tokens of new users over the bound in the overflow window their admit checks', () => {
    const w = new RateWindows(memorySql(), CAPS);
    for (let i = 0; i < 3; i++) w.recordTokens(`e${i}`, [tokens(`u${i}`, 100)], 10, 1_000, 'keyA');
    expect(w.windowCount('keyA')).toBe(3);
    expect(w.admit([tokens('u3', 100)], 1_001, 'keyA').ok).toBe(true);
    w.recordTokens('e3', [tokens('u3', 100)], 100, 1_002, 'keyA');
    expect(w.windowCount('keyA')).toBe(3);
    // Another new user of the same key is checked against the same overflow window: full.
    expect(w.admit([tokens('u4', 100)], 1_003, 'keyA')).toMatchObject({ ok: false, limit: 100 });
    expect(w.admit([tokens('u4', 100)], 1_003, 'keyB').ok).toBe(true);
  });

  it('bounds key-less callers per member: one at its bound sends no other into its overflow window', () => {
    const w = new RateWindows(memorySql(), CAPS);
    // Two OAuth callers (no API key), as the guard names them: by the member each token acts as.
    // Both send the same X-Igris-User values: what a caller writes picks no owner.
    const alice = rateOwner({ apiKeyId: null, actor: 'user:alice' });
    const bob = rateOwner({ apiKeyId: null, actor: 'user:bob' });
    for (let i = 0; i < 3; i++) expect(w.admit([user(`u${i}`)], 1_000, alice).ok).toBe(true);
    // Alice at her bound: her new users fill her overflow window (limit 2), then are refused.
    expect(w.admit([user('u3')], 1_001, alice).ok).toBe(true);
    expect(w.admit([user('u4')], 1_001, alice).ok).toBe(true);
    expect(w.admit([user('u5')], 1_001, alice).ok).toBe(false);
    // Bob's new users get windows of their own, under his own quota.
    expect(w.admit([user('u6')], 1_002, bob).ok).toBe(true);
    expect(w.admit([user('u6')], 1_002, bob).ok).toBe(true);
    expect(w.admit([user('u7')], 1_002, bob).ok).toBe(true);
    expect(w.windowCount(alice)).toBe(3);
    expect(w.windowCount(bob)).toBe(2);
    expect(w.windowCount('(none)')).toBe(0);
    // The guard's bound still holds whoever fills it: its 6th window is Bob's overflow window.
    expect(w.admit([user('u8')], 1_003, bob).ok).toBe(true);
    expect(w.windowCount()).toBe(CAPS.perGuard);
    expect(w.count(overflowKey(user('u8').key, bob), 60, 1_003)).toBe(1);
  });

  it('names the owner by API key, else by the authenticated actor, never by X-Igris-User', () => {
    expect(rateOwner({ apiKeyId: 'key_1', actor: 'key:key_1' })).toBe('key_1');
    expect(rateOwner({ apiKeyId: null, actor: 'user:usr_1' })).toBe('user:usr_1');
    const fromHeader = { apiKeyId: null, actor: 'user:usr_1', user: 'anyone-the-caller-names' };
    expect(rateOwner(fromHeader)).toBe('user:usr_1');
    // A guard called by an older Worker (no actor): the shared owner, as before.
    expect(rateOwner({ apiKeyId: null })).toBe('(none)');
  });

  it('names overflow windows with a prefix no gateway key has', () => {
    const key = overflowKey('tok:v3:r2:metadata.team=a=b', 'k1');
    expect(key).toBe('ovf:k1:tok:v3:r2:metadata.team');
    expect(isOverflowKey(key)).toBe(true);
    expect(isOverflowKey(user('ovf:k1:v1:r0:user').key)).toBe(false);
  });
});
