import { describe, expect, it } from 'vitest';
import { skillOf, skillRefusal } from './a2a.stages.js';

describe('A2A skill id cap (the governed-name cap, 512 UTF-8 bytes)', () => {
  it('lets a skill id of up to 512 bytes (and no skill) through', () => {
    expect(skillRefusal(null)).toBeNull();
    expect(skillRefusal('search')).toBeNull();
    expect(skillRefusal('s'.repeat(512))).toBeNull();
    expect(skillRefusal('é'.repeat(256))).toBeNull();
  });

  it.each([
    ['513 bytes', 's'.repeat(513)],
    ['257 two-byte characters', 'é'.repeat(257)],
    ['300,000 characters', 's'.repeat(300_000)],
  ])('refuses %s with validation_failed (JSON-RPC -32602), without the id', (_label, skill) => {
    const err = skillRefusal(skill)!;
    expect(err.code).toBe('validation_failed');
    expect(err.rpcCode).toBe(-32602);
    expect(err.status).toBe(400);
    expect(err.message).toBe('metadata.skillId is longer than 512 bytes: no skill is named like that');
    expect(err.details).toEqual({ location: 'body', path: 'params.metadata.skillId' });
  });

  it('refuses hidden characters with the same error shape', () => {
    expect(skillRefusal('echo ')!.message).toBe(
      'metadata.skillId contains whitespace, control or invisible characters: no skill is named like that',
    );
  });

  it('is judged on the id skillOf reads, from the params or the message', () => {
    const long = 's'.repeat(513);
    expect(skillRefusal(skillOf({ metadata: { skillId: long } }))).not.toBeNull();
    expect(skillRefusal(skillOf({ message: { metadata: { skillId: long } } }))).not.toBeNull();
  });
});
