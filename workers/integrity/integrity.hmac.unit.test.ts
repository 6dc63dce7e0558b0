import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSha256 } from './integrity.hmac';
import { sha256 } from './integrity.sha256';

const bytes = (text: string) => new TextEncoder().encode(text);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const reference = (key: Uint8Array, message: Uint8Array) =>
  createHmac('sha256', key).update(message).digest('hex');

describe('sha256 (bytes)', () => {
  it('equals node:crypto on lengths around the block boundaries', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000]) {
      const input = randomBytes(n);
      expect(hex(sha256(input))).toBe(createHash('sha256').update(input).digest('hex'));
    }
  });
});

describe('hmacSha256', () => {
  it('matches RFC 4231 test case 2 ("Jefe")', () => {
    expect(hex(hmacSha256(bytes('Jefe'), bytes('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('equals node:crypto createHmac for short, block-sized and long keys and messages', () => {
    for (const keyLength of [0, 1, 20, 32, 63, 64, 65, 131, 200]) {
      for (const messageLength of [0, 1, 55, 56, 64, 100, 1000]) {
        const key = randomBytes(keyLength);
        const message = randomBytes(messageLength);
        expect(hex(hmacSha256(key, message)), `key ${keyLength}, message ${messageLength}`).toBe(
          reference(key, message),
        );
      }
    }
  });

  it('changes with every key and message bit', () => {
    const key = randomBytes(32);
    const message = randomBytes(40);
    const mac = hex(hmacSha256(key, message));
    const flippedKey = Uint8Array.from(key);
    flippedKey[31]! ^= 1;
    const flippedMessage = Uint8Array.from(message);
    flippedMessage[0]! ^= 0x80;
    expect(hex(hmacSha256(flippedKey, message))).not.toBe(mac);
    expect(hex(hmacSha256(key, flippedMessage))).not.toBe(mac);
  });
});
