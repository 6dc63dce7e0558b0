import { describe, expect, it } from 'vitest';
import {
  DUMMY_PASSWORD_HASH,
  hashPassword,
  PASSWORD_ITERATIONS,
  parsePasswordHash,
  verifyPassword,
  WORKERS_PBKDF2_MAX_ITERATIONS,
} from './password.hash.ts';

describe('password hashing', () => {
  it('never asks the runtime for more iterations than production Workers accept', () => {
    // Local workerd and Node have no cap; Cloudflare's runtime refuses > 100,000 (see the file header).
    expect(WORKERS_PBKDF2_MAX_ITERATIONS).toBe(100_000);
    expect(PASSWORD_ITERATIONS).toBeLessThanOrEqual(WORKERS_PBKDF2_MAX_ITERATIONS);
    expect(PASSWORD_ITERATIONS).toBe(WORKERS_PBKDF2_MAX_ITERATIONS);
  });

  it('stores pbkdf2-sha256$<iter>$<salt>$<hash> with a fresh salt each time', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(parsePasswordHash(a)?.iterations).toBe(100_000);
  });

  it('accepts the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(await verifyPassword('correct horse battery', stored)).toEqual({ ok: true, needsRehash: false });
    expect((await verifyPassword('correct horse batterY', stored)).ok).toBe(false);
    expect((await verifyPassword('', stored)).ok).toBe(false);
  });

  it('flags hashes made with fewer iterations for an upgrade', async () => {
    const stored = await hashPassword('old password here', 1000);
    expect(await verifyPassword('old password here', stored)).toEqual({ ok: true, needsRehash: true });
  });

  it('never accepts anything for a missing hash or the dummy, and refuses malformed or over-cap hashes', async () => {
    expect((await verifyPassword('anything', null)).ok).toBe(false);
    expect((await verifyPassword('anything', DUMMY_PASSWORD_HASH)).ok).toBe(false);
    expect(parsePasswordHash(DUMMY_PASSWORD_HASH)).not.toBeNull();
    const over = (await hashPassword('pw', 10)).replace('$10$', '$100001$');
    expect(parsePasswordHash(over)).toBeNull();
    expect((await verifyPassword('pw', over)).ok).toBe(false);
    expect(parsePasswordHash('bcrypt$12$abc$def')).toBeNull();
    expect(parsePasswordHash('pbkdf2-sha256$abc$AAAAAAAAAAA$AAAA')).toBeNull();
    expect((await verifyPassword('pw', 'garbage')).ok).toBe(false);
  });
});
