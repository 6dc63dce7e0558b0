import { describe, expect, it } from 'vitest';
import {
  listIssues,
  MAX_LISTED_ISSUES,
  MAX_LISTED_KEYS,
  MAX_QUOTED_CHARS,
  quoted,
  unknownKeysMessage,
} from './issues.list';

describe('bounded issue listings', () => {
  it('lists every issue up to the bound, without a count', () => {
    const issues = Array.from({ length: MAX_LISTED_ISSUES }, (_, i) => i);
    expect(listIssues(issues)).toEqual({ issues });
  });

  it('lists the first MAX_LISTED_ISSUES issues and counts all of them beyond it', () => {
    const issues = Array.from({ length: 1000 }, (_, i) => i);
    expect(listIssues(issues)).toEqual({ issues: issues.slice(0, MAX_LISTED_ISSUES), issueCount: 1000 });
  });

  it('names the first MAX_LISTED_KEYS unknown keys and how many more', () => {
    const keys = Array.from({ length: 500 }, (_, i) => `k${i}`);
    const message = unknownKeysMessage(keys);
    expect(message).toContain('"k0"');
    expect(message).toContain(`"k${MAX_LISTED_KEYS - 1}"`);
    expect(message).not.toContain(`"k${MAX_LISTED_KEYS}"`);
    expect(message.endsWith(`and ${500 - MAX_LISTED_KEYS} more`)).toBe(true);
    expect(unknownKeysMessage(['only'])).toBe('Unrecognized key: "only"');
  });

  it('cuts a quoted key or path at MAX_QUOTED_CHARS', () => {
    expect(quoted('a'.repeat(MAX_QUOTED_CHARS))).toBe('a'.repeat(MAX_QUOTED_CHARS));
    expect(quoted('a'.repeat(10_000))).toBe(`${'a'.repeat(MAX_QUOTED_CHARS)}…`);
  });
});
