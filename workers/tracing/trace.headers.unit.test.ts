/**
 * Opened OTLP export headers are kept by bytes, not only by 1,000 sealed values: 20 headers of
 * 4,096 characters seal to ~112,000 characters, and the sealed text is part of the key.
 */
import { describe, expect, it } from 'vitest';
import { OPENED_HEADERS_LIMIT, openedHeaders } from './trace.headers';

/** Sealed text of the largest header set the settings allow (20 × 4,096 characters, base64). */
function sealed(tag: string): string {
  return `${tag}:`.padEnd(Math.ceil((20 * 4_196 * 4) / 3), 'A');
}

describe('opened export headers are bounded by bytes', () => {
  it('50 organizations with the largest header sets: the oldest are opened again', async () => {
    const opens: string[] = [];
    const open = async (text: string) => {
      opens.push(text.slice(0, 8));
      return { authorization: text.slice(0, 8) };
    };
    const orgs = Array.from({ length: 50 }, (_, i) => `org_${i}`);
    expect(orgs.length).toBeLessThan(OPENED_HEADERS_LIMIT);
    for (const org of orgs) await openedHeaders(org, sealed(org), open);
    expect(opens).toHaveLength(50);
    await openedHeaders('org_49', sealed('org_49'), open);
    expect(opens).toHaveLength(50);
    await openedHeaders('org_0', sealed('org_0'), open);
    expect(opens).toHaveLength(51);
  });

  it('shares one opening, and forgets a failed one', async () => {
    let opens = 0;
    const failing = async () => {
      opens += 1;
      throw new Error('wrong key');
    };
    const a = openedHeaders('org_f', 'sealed-f', failing);
    expect(openedHeaders('org_f', 'sealed-f', failing)).toBe(a);
    await expect(a).rejects.toThrow('wrong key');
    await expect(openedHeaders('org_f', 'sealed-f', failing)).rejects.toThrow('wrong key');
    expect(opens).toBe(2);
  });
});
