import { describe, expect, it } from 'vitest';
import { messageMetadata } from './a2a.stages.js';

describe('A2A args: the message metadata', () => {
  it('reads params.message.metadata, with params.metadata keys taking precedence', () => {
    expect(messageMetadata({ message: { metadata: { a: 1, b: 1 } }, metadata: { b: 2 } })).toEqual({
      a: 1,
      b: 2,
    });
    expect(messageMetadata({ message: { metadata: { a: 1 } } })).toEqual({ a: 1 });
    expect(messageMetadata({ metadata: { b: 2 } })).toEqual({ b: 2 });
    expect(messageMetadata({ message: { metadata: [1] } })).toBeNull();
    expect(messageMetadata(null)).toBeNull();
  });
});
