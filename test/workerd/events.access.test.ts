/**
 * Live event streams do not outlive their access (issue 12, item 5): a revoked key, a signed-out
 * session, a demoted or removed member loses the stream at once (the API pushes a close to the
 * hub); the hub's periodic re-check ends streams whose access ended without a push; and every
 * stream ends after EVENTS_MAX_STREAM_SECONDS. Real SSE reads through the Worker.
 */
import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../workers/index';
import { Browser, PASSWORD } from './auth.helpers';
import {
  addMember,
  apiKeyIdOf,
  BASE,
  call,
  createOrg,
  expectApiError,
  expectJson,
  memberIdOf,
} from './helpers';

/** An open SSE response, read as text; `ended()` resolves with everything once the server ends it. */
class Stream {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  text = '';

  constructor(res: Response) {
    if (res.status !== 200 || !res.body) throw new Error(`subscribe failed: ${res.status}`);
    this.#reader = res.body.getReader();
  }

  /** Reads until `text` contains `needle`; throws if the stream ends first. */
  async until(needle: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.text.includes(needle)) {
      const chunk = await this.#read(deadline);
      if (chunk === null) throw new Error(`stream ended before ${JSON.stringify(needle)}: ${this.text}`);
    }
  }

  /** Reads to the end of the stream (the server closed it); throws if it is still open at the deadline. */
  async ended(timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.#read(deadline)) !== null);
    return this.text;
  }

  async #read(deadline: number): Promise<string | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const chunk = await Promise.race([
      this.#reader.read(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`stream still open: ${this.text}`)),
          Math.max(0, deadline - Date.now()),
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (chunk.done) return null;
    const text = this.#decoder.decode(chunk.value, { stream: true });
    this.text += text;
    return text;
  }

  cancel(): Promise<void> {
    return this.#reader.cancel().catch(() => {});
  }
}

async function subscribe(key: string, headers: Record<string, string> = {}): Promise<Stream> {
  const stream = new Stream(await call('GET', '/api/v1/events', { key, headers }));
  await stream.until(': connected');
  return stream;
}

/** The Worker called with some vars overridden (the bindings a deployment would set). */
async function subscribeWithVars(
  key: string,
  vars: Partial<Record<'EVENTS_RECHECK_SECONDS' | 'EVENTS_MAX_STREAM_SECONDS', string>>,
  headers: Record<string, string> = {},
): Promise<Stream> {
  const request = new Request(`${BASE}/api/v1/events`, {
    headers: { Authorization: `Bearer ${key}`, ...headers },
  });
  const res = await worker.fetch(request, { ...env, ...vars }, createExecutionContext());
  const stream = new Stream(res);
  await stream.until(': connected');
  return stream;
}

async function liveSubscribers(orgId: string): Promise<number> {
  return env.EVENT_HUB.getByName(orgId).subscriberCount();
}

describe('a pushed close on revocation', () => {
  it('ends the stream of a revoked API key, and only that one', async () => {
    const org = await createOrg('owner');
    const member = await addMember(org.orgId, 'admin');
    const revoked = await subscribe(member.key);
    const bystander = await subscribe(org.key);
    expect(await liveSubscribers(org.orgId)).toBe(2);

    const id = await apiKeyIdOf(member.key);
    await expectJson(await call('DELETE', `/api/v1/api-keys/${id}`, { key: org.key }), 200);
    // The close was pushed before the revoke answered.
    expect(await liveSubscribers(org.orgId)).toBe(1);
    expect(await revoked.ended()).toContain(': closed access-revoked');

    // The owner's stream is still live: it receives the next event.
    await env.EVENT_HUB.getByName(org.orgId).publish({
      type: 'connection_update',
      serverId: 'con_x',
      slug: 'x',
      change: 'after-revoke',
      timestamp: new Date().toISOString(),
    });
    await bystander.until('after-revoke');
    await bystander.cancel();
    // And the revoked key cannot subscribe again.
    await expectApiError(await call('GET', '/api/v1/events', { key: member.key }), 401, 'unauthorized');
  });

  it('ends the streams of a demoted member; they reconnect with the new role', async () => {
    const org = await createOrg('owner');
    const member = await addMember(org.orgId, 'admin');
    const stream = await subscribe(member.key);
    const memberId = await memberIdOf(org.orgId, member.userId);
    await expectJson(
      await call('PATCH', `/api/v1/members/${memberId}`, { key: org.key, body: { role: 'developer' } }),
      200,
    );
    expect(await stream.ended()).toContain(': closed access-revoked');
    // Authorized afresh: the key now acts as a developer (a stream limited to their connections).
    const again = await subscribe(member.key);
    await again.cancel();
  });

  it('ends the streams of a removed member', async () => {
    const org = await createOrg('owner');
    const member = await addMember(org.orgId, 'auditor');
    const stream = await subscribe(member.key);
    const memberId = await memberIdOf(org.orgId, member.userId);
    await expectJson(await call('DELETE', `/api/v1/members/${memberId}`, { key: org.key }), 200);
    expect(await liveSubscribers(org.orgId)).toBe(0);
    expect(await stream.ended()).toContain(': closed access-revoked');
    await expectApiError(await call('GET', '/api/v1/events', { key: member.key }), 401, 'unauthorized');
  });

  it('ends the stream of a cookie session that signs out', async () => {
    const browser = new Browser();
    const { activeOrganization } = await browser.signUp();
    const orgId = activeOrganization!.id;
    const stream = new Stream(await browser.fetch('GET', '/api/v1/events'));
    await stream.until(': connected');
    expect(await liveSubscribers(orgId)).toBe(1);

    const out = await browser.fetch('POST', '/api/auth/sign-out');
    expect(out.status).toBeLessThan(300);
    await out.text();
    expect(await liveSubscribers(orgId)).toBe(0);
    expect(await stream.ended()).toContain(': closed access-revoked');
  });

  it("a password change ends the user's other sessions' streams and keeps this one's", async () => {
    const here = new Browser();
    const { user, activeOrganization } = await here.signUp();
    const orgId = activeOrganization!.id;
    const elsewhere = new Browser();
    await elsewhere.signIn(user.email);
    const mine = new Stream(await here.fetch('GET', '/api/v1/events'));
    const other = new Stream(await elsewhere.fetch('GET', '/api/v1/events'));
    await mine.until(': connected');
    await other.until(': connected');
    expect(await liveSubscribers(orgId)).toBe(2);

    const changed = await here.fetch('POST', '/api/auth/password', {
      body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase 42' },
    });
    await expectJson(changed, 200);
    expect(await liveSubscribers(orgId)).toBe(1);
    expect(await other.ended()).toContain(': closed access-revoked');
    await mine.cancel();
  });
});

describe('kill switches on callers', () => {
  it('an apiKey switch ends that key’s stream at once, and only that one', async () => {
    const org = await createOrg('owner');
    const member = await addMember(org.orgId, 'admin');
    const killed = await subscribe(member.key);
    const bystander = await subscribe(org.key);
    const target = await apiKeyIdOf(member.key);
    await expectJson(
      await call('POST', '/api/v1/kill-switch', { key: org.key, body: { scope: 'apiKey', target } }),
      201,
    );
    expect(await liveSubscribers(org.orgId)).toBe(1);
    expect(await killed.ended()).toContain(': closed access-revoked');
    await bystander.cancel();
  });

  it('a user switch naming a member (by email) ends their streams', async () => {
    const org = await createOrg('owner');
    const member = await addMember(org.orgId, 'admin');
    const killed = await subscribe(member.key);
    await expectJson(
      await call('POST', '/api/v1/kill-switch', {
        key: org.key,
        body: { scope: 'user', target: `${member.userId}@test.local`.toUpperCase() },
      }),
      201,
    );
    expect(await killed.ended()).toContain(': closed access-revoked');
  });

  it('the re-check ends a stream whose key a switch holds, even when the push was missed', async () => {
    const org = await createOrg('owner');
    const member = await addMember(org.orgId, 'admin');
    const stream = await subscribe(member.key);
    const hub = env.EVENT_HUB.getByName(org.orgId);
    expect(await hub.recheck()).toBe(0);
    await env.DB.prepare(
      "INSERT INTO kill_switches (id, org_id, scope, target, reason, created_by, created_at) VALUES (?, ?, 'apiKey', ?, NULL, 'test', ?)",
    )
      .bind(`ks_ev_${Date.now().toString(36)}`, org.orgId, await apiKeyIdOf(member.key), Date.now())
      .run();
    expect(await hub.recheck()).toBe(1);
    expect(await stream.ended()).toContain(': closed access-revoked');
  });
});

describe('the periodic re-check', () => {
  it('ends a stream whose key was revoked without a push', async () => {
    const org = await createOrg('owner');
    const member = await addMember(org.orgId, 'admin');
    const stream = await subscribe(member.key);
    const bystander = await subscribe(org.key);
    const hub = env.EVENT_HUB.getByName(org.orgId);
    // Nothing changed: a re-check keeps both.
    expect(await hub.recheck()).toBe(0);

    // Revoked behind the API's back (no push): the next re-check finds it.
    await env.DB.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?')
      .bind(Date.now(), await apiKeyIdOf(member.key))
      .run();
    expect(await hub.recheck()).toBe(1);
    expect(await stream.ended()).toContain(': closed access-revoked');
    expect(await hub.subscriberCount()).toBe(1);
    await bystander.cancel();
  });

  it('ends a session stream when the session moves to another organization or is revoked', async () => {
    const browser = new Browser();
    const { activeOrganization } = await browser.signUp();
    const orgId = activeOrganization!.id;
    const stream = new Stream(await browser.fetch('GET', '/api/v1/events'));
    await stream.until(': connected');
    const hub = env.EVENT_HUB.getByName(orgId);
    expect(await hub.recheck()).toBe(0);
    await env.DB.prepare(
      'UPDATE auth_sessions SET org_id = NULL WHERE user_id = (SELECT user_id FROM members WHERE org_id = ?)',
    )
      .bind(orgId)
      .run();
    expect(await hub.recheck()).toBe(1);
    expect(await stream.ended()).toContain(': closed access-revoked');
  });

  it('runs on its own timer (EVENTS_RECHECK_SECONDS)', async () => {
    const org = await createOrg('owner');
    const member = await addMember(org.orgId, 'developer');
    const stream = await subscribeWithVars(member.key, { EVENTS_RECHECK_SECONDS: '1' });
    await env.DB.prepare('DELETE FROM members WHERE org_id = ? AND user_id = ?')
      .bind(org.orgId, member.userId)
      .run();
    // No push and no explicit re-check: the hub's timer ends it.
    expect(await stream.ended()).toContain(': closed access-revoked');
  });

  it('refuses a subscription the hub could not re-check', async () => {
    const org = await createOrg('owner');
    const res = await env.EVENT_HUB.getByName(org.orgId).fetch('https://event-hub/subscribe');
    expect(res.status).toBe(400);
    await res.text();
    const forged = new URL('https://event-hub/subscribe');
    forged.searchParams.set('org', 'org_someone_else');
    forged.searchParams.set(
      'principal',
      JSON.stringify({ kind: 'api_key', apiKeyId: 'key_x', userId: null, role: 'owner' }),
    );
    forged.searchParams.set('recheckSeconds', '10');
    forged.searchParams.set('maxLifetimeSeconds', '60');
    const wrongHub = await env.EVENT_HUB.getByName(org.orgId).fetch(forged.toString());
    expect(wrongHub.status).toBe(400);
    await wrongHub.text();
  });
});

describe('maximum stream lifetime', () => {
  it('ends every stream after EVENTS_MAX_STREAM_SECONDS; the client resumes with Last-Event-ID', async () => {
    const org = await createOrg('owner');
    const hub = env.EVENT_HUB.getByName(org.orgId);
    const stream = await subscribeWithVars(org.key, { EVENTS_MAX_STREAM_SECONDS: '1' });
    const id = await hub.publish({
      type: 'connection_update',
      serverId: 'con_x',
      slug: 'x',
      change: 'before-end',
      timestamp: new Date().toISOString(),
    });
    const text = await stream.ended();
    expect(text).toContain(`id: ${id}\n`);
    expect(text).toContain(': closed max-lifetime');

    await hub.publish({
      type: 'connection_update',
      serverId: 'con_x',
      slug: 'x',
      change: 'while-away',
      timestamp: new Date().toISOString(),
    });
    const resumed = await subscribe(org.key, { 'Last-Event-ID': String(id) });
    await resumed.until('while-away');
    expect(resumed.text).not.toContain('before-end');
    await resumed.cancel();
  });
});
