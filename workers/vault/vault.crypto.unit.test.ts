import { beforeEach, describe, expect, it } from 'vitest';
import { clearVaultCache, createVault, getVault, type Vault, VaultError } from './vault.crypto.ts';

function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes));
}

const KEY_A = randomKey();
const KEY_B = randomKey();
const AAD = 'org_1:conn_1';
const SECRET = 'sk-live-upstream-token-value';

async function expectVaultError(promise: Promise<unknown>, code: VaultError['code']): Promise<VaultError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a VaultError');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VaultError);
  const vaultError = error as VaultError;
  expect(vaultError.code).toBe(code);
  expect(vaultError.name).toBe('VaultError');
  return vaultError;
}

function expectNoLeak(error: Error, ...values: string[]): void {
  for (const value of values) {
    expect(error.message).not.toContain(value);
    expect(String(error.stack ?? '')).not.toContain(value);
  }
}

/** Replaces part `index` of an envelope. */
function withPart(envelope: string, index: number, value: string): string {
  const parts = envelope.split('.');
  parts[index] = value;
  return parts.join('.');
}

/** Flips one bit in the decoded bytes of a base64url part. */
function flipBit(part: string, byteIndex: number): string {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (part.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  bytes[byteIndex] = (bytes[byteIndex] ?? 0) ^ 0x01;
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

async function keyIdFor(keyB64: string): Promise<string> {
  const raw = Uint8Array.from(atob(keyB64), (c) => c.charCodeAt(0));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', raw));
  return Array.from(digest.slice(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
}

describe('createVault: key validation', () => {
  it('accepts base64 of exactly 32 bytes, with surrounding whitespace', async () => {
    await expect(createVault({ current: `${KEY_A}\n` })).resolves.toBeDefined();
  });

  it('accepts the fixed test key used by the workerd project', async () => {
    await expect(
      createVault({ current: 'dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy0wMDA=' }),
    ).resolves.toBeDefined();
  });

  const badSecrets: Array<[string, string]> = [
    ['empty', ''],
    ['whitespace only', '   '],
    ['not base64', 'this is not base64 at all!!'],
    ['16 bytes', btoa('0123456789abcdef')],
    ['31 bytes', btoa('0123456789abcdef0123456789abcde')],
    ['33 bytes', btoa('0123456789abcdef0123456789abcdef0')],
    ['base64url alphabet', `${KEY_A.slice(0, 40)}-_-=`],
    ['missing padding', KEY_A.replace(/=+$/, '')],
    ['raw 32-char string', 'abcdefghijklmnopqrstuvwxyz012345'],
  ];

  for (const [label, secret] of badSecrets) {
    it(`refuses a current key that is ${label}, naming ENCRYPTION_KEY without echoing it`, async () => {
      const error = await createVault({ current: secret }).then(
        () => {
          throw new Error('expected createVault to reject');
        },
        (e: unknown) => e as Error,
      );
      expect(error.message).toContain('ENCRYPTION_KEY');
      expect(error.message).not.toContain('ENCRYPTION_KEY_PREVIOUS');
      if (secret.trim() !== '') expectNoLeak(error, secret.trim());
    });
  }

  it('refuses a bad previous key, naming ENCRYPTION_KEY_PREVIOUS without echoing it', async () => {
    const bad = btoa('too-short-key');
    const error = await createVault({ current: KEY_A, previous: bad }).then(
      () => {
        throw new Error('expected createVault to reject');
      },
      (e: unknown) => e as Error,
    );
    expect(error.message).toContain('ENCRYPTION_KEY_PREVIOUS');
    expectNoLeak(error, bad, KEY_A);
  });

  it('treats an empty previous key as absent', async () => {
    const vault = await createVault({ current: KEY_A, previous: '' });
    expect(vault.previousKeyId).toBeUndefined();
  });

  it('ignores a previous key identical to the current one', async () => {
    const vault = await createVault({ current: KEY_A, previous: KEY_A });
    expect(vault.previousKeyId).toBeUndefined();
    const envelope = await vault.encrypt(SECRET, AAD);
    await expect(vault.decrypt(envelope, AAD)).resolves.toBe(SECRET);
  });

  it('derives key ids from the first 8 hex chars of SHA-256 of the raw key', async () => {
    const vault = await createVault({ current: KEY_A, previous: KEY_B });
    expect(vault.currentKeyId).toBe(await keyIdFor(KEY_A));
    expect(vault.previousKeyId).toBe(await keyIdFor(KEY_B));
    expect(vault.currentKeyId).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe('encrypt / decrypt', () => {
  let vault: Vault;
  beforeEach(async () => {
    vault = await createVault({ current: KEY_A });
  });

  it('round-trips', async () => {
    const envelope = await vault.encrypt(SECRET, AAD);
    await expect(vault.decrypt(envelope, AAD)).resolves.toBe(SECRET);
  });

  it('round-trips empty, unicode, BOM-prefixed and long plaintexts', async () => {
    for (const plaintext of ['', '\uFEFFbom-first', 'héllo wörld 🔐 — 鍵', 'x'.repeat(100_000)]) {
      const envelope = await vault.encrypt(plaintext, AAD);
      await expect(vault.decrypt(envelope, AAD)).resolves.toBe(plaintext);
    }
  });

  it('produces a v1 envelope naming the current key, with a 12-byte IV', async () => {
    const envelope = await vault.encrypt(SECRET, AAD);
    const parts = envelope.split('.');
    expect(parts).toHaveLength(4);
    expect(parts[0]).toBe('v1');
    expect(parts[1]).toBe(vault.currentKeyId);
    expect(parts[2]).toMatch(/^[A-Za-z0-9_-]{16}$/); // 12 bytes = 16 unpadded base64url chars
    expect(parts[3]).toMatch(/^[A-Za-z0-9_-]+$/);
    // ciphertext + 16-byte tag
    expect(Math.floor(((parts[3] ?? '').length * 3) / 4)).toBe(SECRET.length + 16);
  });

  it('never contains the plaintext', async () => {
    const envelope = await vault.encrypt(SECRET, AAD);
    expect(envelope).not.toContain(SECRET);
    expect(envelope).not.toContain(btoa(SECRET).slice(0, 12));
  });

  it('uses a fresh IV every time, so equal plaintexts give different envelopes', async () => {
    const envelopes = await Promise.all(Array.from({ length: 50 }, () => vault.encrypt(SECRET, AAD)));
    expect(new Set(envelopes).size).toBe(50);
    expect(new Set(envelopes.map((e) => e.split('.')[2])).size).toBe(50);
  });

  it('fails with the wrong AAD (ciphertext copied to another row)', async () => {
    const envelope = await vault.encrypt(SECRET, 'org_1:conn_1');
    const error = await expectVaultError(vault.decrypt(envelope, 'org_1:conn_2'), 'vault_decrypt_failed');
    expectNoLeak(error, SECRET, KEY_A, envelope);
    await expectVaultError(vault.decrypt(envelope, 'org_2:conn_1'), 'vault_decrypt_failed');
  });

  it('refuses an empty AAD', async () => {
    await expect(vault.encrypt(SECRET, '')).rejects.toThrow(/aad/);
    const envelope = await vault.encrypt(SECRET, AAD);
    await expect(vault.decrypt(envelope, '')).rejects.toThrow(/aad/);
  });

  it('fails when the ciphertext is tampered with', async () => {
    const envelope = await vault.encrypt(SECRET, AAD);
    const ciphertext = envelope.split('.')[3] ?? '';
    for (const byteIndex of [0, 5, SECRET.length + 3]) {
      const tampered = withPart(envelope, 3, flipBit(ciphertext, byteIndex));
      const error = await expectVaultError(vault.decrypt(tampered, AAD), 'vault_decrypt_failed');
      expectNoLeak(error, SECRET);
    }
  });

  it('fails when the IV is tampered with', async () => {
    const envelope = await vault.encrypt(SECRET, AAD);
    const tampered = withPart(envelope, 2, flipBit(envelope.split('.')[2] ?? '', 0));
    await expectVaultError(vault.decrypt(tampered, AAD), 'vault_decrypt_failed');
  });

  it('fails when the tag is truncated', async () => {
    const envelope = await vault.encrypt(SECRET, AAD);
    const ciphertext = envelope.split('.')[3] ?? '';
    await expectVaultError(
      vault.decrypt(withPart(envelope, 3, ciphertext.slice(0, -4)), AAD),
      'vault_decrypt_failed',
    );
  });

  it('fails with vault_key_unknown for a key id it does not have', async () => {
    const other = await createVault({ current: KEY_B });
    const envelope = await other.encrypt(SECRET, AAD);
    const error = await expectVaultError(vault.decrypt(envelope, AAD), 'vault_key_unknown');
    expectNoLeak(error, SECRET, KEY_A, KEY_B);
    await expectVaultError(vault.decrypt(withPart(envelope, 1, 'deadbeef'), AAD), 'vault_key_unknown');
  });

  it('fails with vault_decrypt_failed when a foreign envelope is relabelled with our key id', async () => {
    const other = await createVault({ current: KEY_B });
    const envelope = await other.encrypt(SECRET, AAD);
    await expectVaultError(
      vault.decrypt(withPart(envelope, 1, vault.currentKeyId), AAD),
      'vault_decrypt_failed',
    );
  });

  it('fails with vault_malformed for envelopes that do not parse', async () => {
    const good = await vault.encrypt(SECRET, AAD);
    const [, keyId, iv, ct] = good.split('.') as [string, string, string, string];
    const malformed = [
      '',
      'garbage',
      SECRET,
      `v1.${keyId}.${iv}`,
      `${good}.extra`,
      `v2.${keyId}.${iv}.${ct}`,
      `V1.${keyId}.${iv}.${ct}`,
      `v1.A${keyId.slice(1).toUpperCase()}.${iv}.${ct}`, // upper case (forced: a key id may be all digits)
      `v1.abc.${iv}.${ct}`,
      `v1.${keyId}..${ct}`,
      `v1.${keyId}.${iv}.`,
      `v1.${keyId}.${iv.slice(0, 12)}.${ct}`, // 9-byte IV
      `v1.${keyId}.${iv}A.${ct}`, // 4n+1 length
      `v1.${keyId}.${iv}.${ct.slice(0, 20)}`, // shorter than a tag
      `v1.${keyId}.${iv.replace(/.$/, '+')}.${ct}`, // standard-base64 char
      `v1.${keyId}.${iv}.${ct}==`,
    ];
    for (const envelope of malformed) {
      await expectVaultError(vault.decrypt(envelope, AAD), 'vault_malformed');
    }
  });
});

describe('master key rotation', () => {
  it('old envelopes decrypt during rotation and re-encrypt under the new key', async () => {
    const before = await createVault({ current: KEY_A });
    const oldEnvelope = await before.encrypt(SECRET, AAD);
    expect(before.needsReencryption(oldEnvelope)).toBe(false);

    const during = await createVault({ current: KEY_B, previous: KEY_A });
    expect(during.needsReencryption(oldEnvelope)).toBe(true);
    await expect(during.decrypt(oldEnvelope, AAD)).resolves.toBe(SECRET);

    const newEnvelope = await during.reencrypt(oldEnvelope, AAD);
    expect(newEnvelope.split('.')[1]).toBe(during.currentKeyId);
    expect(during.needsReencryption(newEnvelope)).toBe(false);
    await expect(during.decrypt(newEnvelope, AAD)).resolves.toBe(SECRET);

    // New writes during rotation already use the new key.
    expect(during.needsReencryption(await during.encrypt('fresh', AAD))).toBe(false);

    // After dropping the previous key, re-encrypted rows still work and stragglers fail loudly.
    const after = await createVault({ current: KEY_B });
    await expect(after.decrypt(newEnvelope, AAD)).resolves.toBe(SECRET);
    await expectVaultError(after.decrypt(oldEnvelope, AAD), 'vault_key_unknown');
  });

  it('reencrypt keeps the row binding: the wrong AAD fails', async () => {
    const before = await createVault({ current: KEY_A });
    const oldEnvelope = await before.encrypt(SECRET, AAD);
    const during = await createVault({ current: KEY_B, previous: KEY_A });
    await expectVaultError(during.reencrypt(oldEnvelope, 'org_1:other'), 'vault_decrypt_failed');
    const reencrypted = await during.reencrypt(oldEnvelope, AAD);
    await expectVaultError(during.decrypt(reencrypted, 'org_1:other'), 'vault_decrypt_failed');
  });

  it('reencrypt of an envelope already under the current key rotates its IV', async () => {
    const vault = await createVault({ current: KEY_B, previous: KEY_A });
    const envelope = await vault.encrypt(SECRET, AAD);
    const again = await vault.reencrypt(envelope, AAD);
    expect(again).not.toBe(envelope);
    await expect(vault.decrypt(again, AAD)).resolves.toBe(SECRET);
  });

  it('needsReencryption is true for unknown keys and throws for malformed envelopes', async () => {
    const vault = await createVault({ current: KEY_A });
    const foreign = await (await createVault({ current: KEY_B })).encrypt(SECRET, AAD);
    expect(vault.needsReencryption(foreign)).toBe(true);
    expect(() => vault.needsReencryption('nope')).toThrow(VaultError);
  });
});

describe('getVault', () => {
  beforeEach(() => clearVaultCache());

  it('memoizes per (current, previous) pair', async () => {
    const first = getVault({ ENCRYPTION_KEY: KEY_A });
    expect(getVault({ ENCRYPTION_KEY: KEY_A })).toBe(first);
    const rotated = getVault({ ENCRYPTION_KEY: KEY_A, ENCRYPTION_KEY_PREVIOUS: KEY_B });
    expect(rotated).not.toBe(first);
    expect(getVault({ ENCRYPTION_KEY: KEY_A, ENCRYPTION_KEY_PREVIOUS: KEY_B })).toBe(rotated);
    expect(getVault({ ENCRYPTION_KEY: KEY_B })).not.toBe(first);
    expect((await rotated).previousKeyId).toBe(await keyIdFor(KEY_B));
  });

  it('vaults from the cache interoperate', async () => {
    const envelope = await (await getVault({ ENCRYPTION_KEY: KEY_A })).encrypt(SECRET, AAD);
    const rotated = await getVault({ ENCRYPTION_KEY: KEY_B, ENCRYPTION_KEY_PREVIOUS: KEY_A });
    await expect(rotated.decrypt(envelope, AAD)).resolves.toBe(SECRET);
  });

  it('rejects a missing key with a clear message and does not cache the failure', async () => {
    const failing = getVault({});
    await expect(failing).rejects.toThrow(/ENCRYPTION_KEY is not set/);
    // Let the cache eviction handler run.
    await Promise.resolve();
    expect(getVault({})).not.toBe(failing);
    await expect(getVault({})).rejects.toThrow(/ENCRYPTION_KEY/);
  });

  it('stays bounded when many key pairs are used', async () => {
    const keys = Array.from({ length: 6 }, randomKey);
    const vaults = keys.map((k) => getVault({ ENCRYPTION_KEY: k }));
    await Promise.all(vaults);
    // The oldest entry was evicted, the newest is still cached.
    expect(getVault({ ENCRYPTION_KEY: keys[0] ?? '' })).not.toBe(vaults[0]);
    expect(getVault({ ENCRYPTION_KEY: keys[5] ?? '' })).toBe(vaults[5]);
  });
});
