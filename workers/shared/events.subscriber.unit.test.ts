import { describe, expect, it } from 'vitest';
import { matchesStream, principalKey, type StreamPrincipal, stillEntitled } from './events.subscriber';

const key: StreamPrincipal = { kind: 'api_key', apiKeyId: 'key_a', userId: 'usr_1', role: 'admin' };
const systemKey: StreamPrincipal = { kind: 'api_key', apiKeyId: 'key_s', userId: null, role: 'owner' };
const session: StreamPrincipal = { kind: 'session', sessionId: 'ses_a', userId: 'usr_1', role: 'admin' };

describe('matchesStream', () => {
  it('matches a key by id, a session by id, and a member by user across both', () => {
    expect(matchesStream(key, { apiKeyId: 'key_a' })).toBe(true);
    expect(matchesStream(key, { apiKeyId: 'key_b' })).toBe(false);
    expect(matchesStream(session, { apiKeyId: 'key_a' })).toBe(false);
    expect(matchesStream(session, { sessionId: 'ses_a' })).toBe(true);
    expect(matchesStream(key, { sessionId: 'ses_a' })).toBe(false);
    expect(matchesStream(key, { userId: 'usr_1' })).toBe(true);
    expect(matchesStream(session, { userId: 'usr_1' })).toBe(true);
    expect(matchesStream(systemKey, { userId: 'usr_1' })).toBe(false);
  });

  it('narrows by kind and spares the session that made the change', () => {
    expect(matchesStream(key, { kind: 'session', userId: 'usr_1' })).toBe(false);
    expect(matchesStream(session, { kind: 'session', userId: 'usr_1' })).toBe(true);
    expect(matchesStream(session, { kind: 'session', userId: 'usr_1', exceptSessionId: 'ses_a' })).toBe(
      false,
    );
    expect(matchesStream(session, { kind: 'session', userId: 'usr_1', exceptSessionId: 'ses_b' })).toBe(true);
  });
});

describe('stillEntitled', () => {
  it('keeps a stream only while the role is the one it subscribed with', () => {
    expect(stillEntitled(key, 'admin')).toBe(true);
    expect(stillEntitled(key, 'developer')).toBe(false);
    expect(stillEntitled(key, 'owner')).toBe(false);
    expect(stillEntitled(key, null)).toBe(false);
    // Not found in D1 at all (deleted key, session of another organization): closed.
    expect(stillEntitled(key, undefined)).toBe(false);
  });

  it('names principals apart by kind', () => {
    expect(principalKey(key)).toBe('key:key_a');
    expect(principalKey(session)).toBe('session:ses_a');
  });
});
