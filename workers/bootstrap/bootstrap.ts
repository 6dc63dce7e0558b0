/**
 * First start of a fresh instance: when no organization exists, create organization `default`
 * with an owner and an owner API key.
 *
 * - `ADMIN_API_KEY` set (a secret: `.dev.vars` locally, `wrangler secret put` in production):
 *   that value becomes the owner key, as LiteLLM's master key does. It must look like `ig_…`.
 * - Not set: a key is generated and written once to the Worker log. It is not recoverable later;
 *   create another through the API with the first one if it is lost.
 *
 * Runs once per isolate (the promise is memoized); concurrent isolates race safely because the
 * whole bootstrap is one D1 batch (a transaction) and the organization slug is unique.
 */
import { generateApiKey, hashApiKey, looksLikeApiKey } from '../auth/api-key.crypto';
import { randomId } from '../lib/ids';
import { log } from '../lib/log';

let bootstrapped: Promise<void> | null = null;

export function ensureBootstrapped(env: Pick<Env, 'DB' | 'ADMIN_API_KEY'>): Promise<void> {
  if (!bootstrapped) {
    bootstrapped = bootstrap(env).then(
      () => undefined,
      (err: unknown) => {
        bootstrapped = null; // try again on the next request rather than stay broken
        throw err;
      },
    );
  }
  return bootstrapped;
}

export async function bootstrap(env: Pick<Env, 'DB' | 'ADMIN_API_KEY'>): Promise<{ created: boolean }> {
  const existing = await env.DB.prepare('SELECT id FROM organizations LIMIT 1').first();
  if (existing) return { created: false };

  const configured = env.ADMIN_API_KEY?.trim() || null;
  if (configured && !looksLikeApiKey(configured)) {
    throw new Error('ADMIN_API_KEY must look like ig_ followed by 20+ URL-safe characters');
  }
  const key = configured ?? generateApiKey().key;
  const orgId = randomId('org');
  const userId = randomId('usr');
  const keyId = randomId('key');
  const now = Date.now();
  try {
    await env.DB.batch([
      env.DB.prepare(
        'INSERT INTO organizations (id, slug, name, settings, created_at) VALUES (?, ?, ?, ?, ?)',
      ).bind(orgId, 'default', 'Default organization', '{}', now),
      env.DB.prepare('INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?)').bind(
        userId,
        'owner@igris.local',
        'Owner',
        now,
      ),
      env.DB.prepare(
        'INSERT INTO members (id, org_id, user_id, role, created_at) VALUES (?, ?, ?, ?, ?)',
      ).bind(randomId('mem'), orgId, userId, 'owner', now),
      env.DB.prepare(
        'INSERT INTO api_keys (id, org_id, created_by, name, role, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).bind(
        keyId,
        orgId,
        userId,
        configured ? 'ADMIN_API_KEY' : 'bootstrap owner key',
        'owner',
        key.slice(0, 10),
        await hashApiKey(key),
        now,
      ),
    ]);
  } catch (err) {
    // Another isolate bootstrapped first (unique slug/email): that one's key is the owner key.
    const raced = await env.DB.prepare('SELECT id FROM organizations LIMIT 1').first();
    if (raced) return { created: false };
    throw err;
  }
  if (configured) {
    log('info', 'bootstrap: created organization "default"; the owner key is ADMIN_API_KEY', { orgId });
  } else {
    // The one and only time this key is shown. It is written raw on purpose (it bypasses the
    // log redaction) because otherwise nobody could ever use the fresh instance.
    console.log(
      `[igris] bootstrap: created organization "default" with owner API key ${key}\n[igris] Store it now: it will not be shown again.`,
    );
  }
  return { created: true };
}
