/**
 * nodejs_compat (wrangler.toml) gives the Worker node:crypto — and, by default, a global
 * `process.env` holding every var and secret (ENCRYPTION_KEY, SESSION_SECRET, the OAuth client
 * secrets…), readable by any dependency without being handed `env`. The Worker reads its
 * configuration from `env` only, so nodejs_compat_do_not_populate_process_env keeps that copy empty.
 */
import { env } from 'cloudflare:workers';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';

describe('the runtime the Worker is configured with', () => {
  it('has node:crypto, and a process.env without the Worker’s vars or secrets', () => {
    expect(createHmac('sha256', 'k').update('m').digest('hex')).toHaveLength(64);
    expect(env.ENCRYPTION_KEY).toBeTruthy();
    const bindings = Object.keys(env);
    expect(bindings).toEqual(expect.arrayContaining(['ENCRYPTION_KEY', 'SESSION_SECRET', 'ADMIN_API_KEY']));
    // (The test runner adds its own VITEST_* and Vite keys; the Worker's are what must be absent.)
    expect(Object.keys(process.env).filter((name) => bindings.includes(name))).toEqual([]);
  });
});
