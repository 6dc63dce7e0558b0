import { describe, expect, it } from 'vitest';
import { base36Char, byteHex, sha256Hex, toHex } from './hex.ts';

describe('hex', () => {
  it('writes two lowercase digits per byte, from a Uint8Array or an ArrayBuffer', () => {
    expect(toHex(new Uint8Array([0, 1, 15, 16, 171, 255]))).toBe('00010f10abff');
    expect(toHex(new Uint8Array([222, 173]).buffer)).toBe('dead');
    expect(byteHex(10)).toBe('0a');
  });

  it('hashes the UTF-8 bytes of the text with SHA-256', async () => {
    await expect(sha256Hex('abc')).resolves.toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    // "é" is two UTF-8 bytes (c3 a9).
    await expect(sha256Hex('é')).resolves.toBe(
      toHex(await crypto.subtle.digest('SHA-256', new Uint8Array([0xc3, 0xa9]))),
    );
  });

  it('maps bytes below 252 onto [0-9a-z] evenly and skips the rest', () => {
    expect(base36Char(0)).toBe('0');
    expect(base36Char(35)).toBe('z');
    expect(base36Char(36)).toBe('0');
    expect(base36Char(251)).toBe('z');
    expect(base36Char(252)).toBe('');
    expect(base36Char(255)).toBe('');
  });
});
