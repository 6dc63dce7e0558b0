import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  answerOf,
  CLOCK_SKEW_MS,
  type IdBinding,
  looksMinted,
  MAX_MINTED_ID_CHARS,
  MAX_ORIGINAL_ID_CHARS,
  MINTED_PREFIX,
  mintServerId,
  SERVER_ID_LIFETIME_MS,
  serverIdKeys,
  verifyServerId,
} from './mcp.server-ids';

const [key] = serverIdKeys({ ENCRYPTION_KEY: 'dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy0wMDA=' });
const [otherKey] = serverIdKeys({ ENCRYPTION_KEY: 'b3RoZXItZW5jcnlwdGlvbi1rZXktMzItYnl0ZXMtMDA=' });
const binding: IdBinding = { orgId: 'org_a', connectionId: 'conn_1', sessionId: 'sess-1', caller: 'key:k1' };

/** An id for `payload` MAC'd with the real key, as only the gateway could (the documented MAC input). */
function remac(payload: string, issued: string): string {
  const input = JSON.stringify([
    binding.orgId,
    binding.connectionId,
    binding.sessionId,
    binding.caller,
    payload,
    issued,
  ]);
  const mac = createHmac('sha256', key!).update(input).digest().subarray(0, 18).toString('base64url');
  return `${MINTED_PREFIX}${payload}.${issued}.${mac}`;
}

const PINNED_WITH_NONCE =
  'igsr2.WyJzYW1wbGluZy9jcmVhdGVNZXNzYWdlIiwic3J2LcO8bsOvLTEiLCJBQUVDQXdRRiJd.tpkmo0._YxfC02R1CRn9o-rvwm3gTjb';

function mint(method: string, id: unknown, where: IdBinding = binding): string {
  const minted = mintServerId(key!, where, method, id);
  if (minted === null) throw new Error('not minted');
  return minted;
}

describe('minted server-request ids', () => {
  it('round-trip the method and the original id, type kept', () => {
    for (const id of [0, 7, -3, 2.5, 9007199254740991, 'srv-1', '', 'ünïcødé "quoted"', null]) {
      const minted = mint('sampling/createMessage', id);
      expect(minted.startsWith(MINTED_PREFIX)).toBe(true);
      expect(verifyServerId([key!], binding, minted)).toEqual({
        ok: true,
        request: { method: 'sampling/createMessage', id },
      });
    }
  });

  it('carry a MAC of at least 128 bits', () => {
    const minted = mint('ping', 1);
    const mac = minted.slice(minted.lastIndexOf('.') + 1);
    expect(mac).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(mac.length * 6).toBeGreaterThanOrEqual(128);
  });

  it('are valid only for their organization, connection, session and caller', () => {
    const minted = mint('elicitation/create', 5);
    for (const other of [
      { ...binding, orgId: 'org_b' },
      { ...binding, connectionId: 'conn_2' },
      { ...binding, sessionId: 'sess-2' },
      { ...binding, sessionId: null },
      { ...binding, caller: 'key:k2' },
      { ...binding, caller: 'user:u1' },
      { ...binding, caller: null },
    ]) {
      expect(verifyServerId([key!], other, minted)).toEqual({ ok: false, reason: 'invalid' });
    }
    const sessionless = mint('roots/list', 5, { ...binding, sessionId: null });
    expect(verifyServerId([key!], binding, sessionless)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuse any altered character, a payload swapped between ids, and another key', () => {
    const minted = mint('sampling/createMessage', 42);
    for (let i = MINTED_PREFIX.length; i < minted.length; i++) {
      const c = minted[i] === 'A' ? 'B' : 'A';
      const altered = minted.slice(0, i) + c + minted.slice(i + 1);
      expect(verifyServerId([key!], binding, altered).ok, `position ${i}`).toBe(false);
    }
    const ping = mint('ping', 42);
    const swapped = `${ping.slice(0, ping.lastIndexOf('.'))}${minted.slice(minted.lastIndexOf('.'))}`;
    expect(verifyServerId([key!], binding, swapped)).toEqual({ ok: false, reason: 'invalid' });
    expect(verifyServerId([otherKey!], binding, minted)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('are stable: a pinned id still verifies (ids in flight across a deploy stay valid)', () => {
    // Minted when the MAC moved to node:crypto's createHmac and ids gained their issue time (igsr2),
    // before the nonce: a two-element payload still verifies until it expires.
    const issuedAt = Date.UTC(2026, 11, 5, 12);
    const pinned =
      'igsr2.WyJzYW1wbGluZy9jcmVhdGVNZXNzYWdlIiwic3J2LcO8bsOvLTEiXQ.tpkmo0.LUPsiJfG463Uw7erAAAVT_sc';
    expect(verifyServerId([key!], binding, pinned, issuedAt + 1_000)).toEqual({
      ok: true,
      request: { method: 'sampling/createMessage', id: 'srv-ünï-1' },
    });
    // With the nonce: the same inputs mint the same id (the MAC is unchanged apart from the payload).
    const withNonce = mintServerId(
      key!,
      binding,
      'sampling/createMessage',
      'srv-ünï-1',
      issuedAt,
      'AAECAwQF',
    );
    expect(withNonce).toBe(PINNED_WITH_NONCE);
    expect(verifyServerId([key!], binding, withNonce, issuedAt + 1_000)).toEqual({
      ok: true,
      request: { method: 'sampling/createMessage', id: 'srv-ünï-1' },
    });
  });

  it('differ on every mint: the same request minted twice in one second is two ids, each answerable once', () => {
    // A sessionless server numbers its server requests from 0 on every call; two such calls in the
    // same second used to mint one id, so the second answer was refused as already answered.
    const T = 1_800_000_000_000;
    const sessionless = { ...binding, sessionId: null };
    const ids = Array.from(
      { length: 50 },
      () => mintServerId(key!, sessionless, 'sampling/createMessage', 0, T)!,
    );
    expect(new Set(ids).size).toBe(50);
    expect(new Set(ids.map((id) => answerOf(id)!.key)).size).toBe(50);
    for (const id of ids)
      expect(verifyServerId([key!], sessionless, id, T)).toEqual({
        ok: true,
        request: { method: 'sampling/createMessage', id: 0 },
      });
  });

  it('refuse a payload of any other shape, even under a valid MAC', () => {
    const T = 1_800_000_000_000;
    const [, , issuedAt] = mintServerId(key!, binding, 'ping', 1, T, 'n')!.split('.');
    // The control: the documented shapes, re-MAC'd the same way, verify.
    for (const shape of [
      ['ping', 1],
      ['ping', 1, 'n'],
    ]) {
      const payload = Buffer.from(JSON.stringify(shape)).toString('base64url');
      expect(verifyServerId([key!], binding, remac(payload, issuedAt!), T)).toEqual({
        ok: true,
        request: { method: 'ping', id: 1 },
      });
    }
    for (const shape of [
      ['ping'],
      ['ping', 1, 7],
      ['ping', 1, 'n', 'extra'],
      [1, 1, 'n'],
      ['ping', {}, 'n'],
    ]) {
      const payload = Buffer.from(JSON.stringify(shape)).toString('base64url');
      const minted = mintServerId(key!, binding, 'ping', 1, T, 'n')!;
      const [, , issued] = minted.split('.');
      // Re-MAC the altered payload with the real key, as only the gateway could: still refused.
      const forged = remac(payload, issued!);
      expect(verifyServerId([key!], binding, forged, T)).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('refuse a MAC of another length in characters or in bytes, without throwing', () => {
    const minted = mint('ping', 3);
    const dot = minted.lastIndexOf('.');
    const given = minted.slice(dot + 1);
    for (const mac of [
      given.slice(0, -1),
      `${given}A`,
      '',
      `${given.slice(0, -1)}é`, // same length in characters, one byte longer in UTF-8
      `${given.slice(0, -2)}🙂`, // a surrogate pair: same length in characters, two bytes longer
    ]) {
      expect(verifyServerId([key!], binding, `${minted.slice(0, dot + 1)}${mac}`), mac).toEqual({
        ok: false,
        reason: 'invalid',
      });
    }
  });

  it('still verify under the previous key during a rotation', () => {
    const minted = mint('ping', 1);
    expect(verifyServerId([otherKey!, key!], binding, minted).ok).toBe(true);
  });

  it('tell an id the gateway never minted (unsolicited) from a forged one', () => {
    for (const id of [7, 'srv-1', null, undefined, {}, 'igsr1']) {
      expect(verifyServerId([key!], binding, id)).toEqual({ ok: false, reason: 'unsolicited' });
      expect(looksMinted(id)).toBe(false);
    }
    for (const id of ['igsr1.', 'igsr1.x', 'igsr1..', `igsr1.${'A'.repeat(MAX_MINTED_ID_CHARS)}.x`]) {
      expect(verifyServerId([key!], binding, id)).toEqual({ ok: false, reason: 'invalid' });
    }
    expect(verifyServerId([], binding, mint('ping', 1))).toEqual({ ok: false, reason: 'invalid' });
  });

  it('are not minted past the limits', () => {
    expect(mintServerId(key!, binding, 'ping', 'x'.repeat(MAX_ORIGINAL_ID_CHARS))).not.toBeNull();
    expect(mintServerId(key!, binding, 'ping', 'x'.repeat(MAX_ORIGINAL_ID_CHARS + 1))).toBeNull();
    expect(mintServerId(key!, binding, 'm'.repeat(129), 1)).toBeNull();
    // Escapes expand a short id past the minted id's cap.
    expect(mintServerId(key!, binding, 'ping', '\u0001'.repeat(MAX_ORIGINAL_ID_CHARS))).toBeNull();
    for (const id of [Number.POSITIVE_INFINITY, Number.NaN, {}, [], true, undefined]) {
      expect(mintServerId(key!, binding, 'ping', id)).toBeNull();
    }
  });

  it('derive the key from the secret with a label (not the secret itself), cached', () => {
    const again = serverIdKeys({ ENCRYPTION_KEY: 'dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy0wMDA=' });
    expect(again[0]).toBe(key);
    expect(key!.length).toBe(32);
    expect(Buffer.from(key!).toString('utf8')).not.toContain('dGVzdC1l');
    expect(serverIdKeys({})).toEqual([]);
    // Per env object, the keys are derived once (a call asks for them by a WeakMap lookup)…
    const env = { ENCRYPTION_KEY: 'dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy0wMDA=' };
    expect(serverIdKeys(env)).toBe(serverIdKeys(env));
    // …and again if its secrets are not the ones they were derived from.
    const before = serverIdKeys(env);
    env.ENCRYPTION_KEY = 'b3RoZXItZW5jcnlwdGlvbi1rZXktMzItYnl0ZXMtMDA=';
    expect(serverIdKeys(env)).not.toBe(before);
    expect(serverIdKeys(env)[0]).toBe(otherKey);
    expect(serverIdKeys({ ENCRYPTION_KEY: ' ', ENCRYPTION_KEY_PREVIOUS: '' })).toEqual([]);
  });

  it('carry their issue time under the MAC, and expire SERVER_ID_LIFETIME_MS after it', () => {
    const T = 1_800_000_000_000;
    const minted = mintServerId(key!, binding, 'sampling/createMessage', 7, T)!;
    const ok = { ok: true, request: { method: 'sampling/createMessage', id: 7 } };
    expect(verifyServerId([key!], binding, minted, T)).toEqual(ok);
    expect(verifyServerId([key!], binding, minted, T + SERVER_ID_LIFETIME_MS - 1001)).toEqual(ok);
    expect(verifyServerId([key!], binding, minted, T + SERVER_ID_LIFETIME_MS)).toEqual({
      ok: false,
      reason: 'expired',
    });
    // Issued in the future beyond the clock skew: refused too (a clock far ahead must not extend it).
    expect(verifyServerId([key!], binding, minted, T - CLOCK_SKEW_MS + 1000).ok).toBe(true);
    expect(verifyServerId([key!], binding, minted, T - CLOCK_SKEW_MS - 1000)).toEqual({
      ok: false,
      reason: 'expired',
    });
    // The issue time is MAC'd: a later one spliced in does not verify.
    const parts = minted.split('.');
    parts[2] = (Number.parseInt(parts[2]!, 36) + 3600).toString(36);
    expect(verifyServerId([key!], binding, parts.join('.'), T)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('answerOf names what the guard records: the MAC, and the expiry', () => {
    const T = 1_800_000_000_000;
    const minted = mintServerId(key!, binding, 'ping', 1, T)!;
    expect(answerOf(minted)).toEqual({
      key: minted.slice(minted.lastIndexOf('.') + 1),
      expiresAt: T + SERVER_ID_LIFETIME_MS,
    });
    expect(answerOf(mintServerId(key!, binding, 'ping', 1, T + 1000))!.key).not.toBe(answerOf(minted)!.key);
    for (const id of [7, null, 'igsr1.WyJwaW5nIiw3XQ.AAAAAAAAAAAAAAAAAAAAAAAA', 'igsr2.a.b']) {
      expect(answerOf(id)).toBeNull();
    }
  });

  it('refuse the previous version (igsr1: no issue time, so no lifetime) as invalid', () => {
    expect(verifyServerId([key!], binding, 'igsr1.WyJwaW5nIiw3XQ.AAAAAAAAAAAAAAAAAAAAAAAA')).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });
});
