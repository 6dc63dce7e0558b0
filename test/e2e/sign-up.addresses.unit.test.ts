/**
 * Keeps the e2e suite's sign-ups apart (sign-up.fixtures.ts): sign-ups are limited to 10 an hour
 * per client address, and the suite's would otherwise all count against one. A file that signs up
 * does so from its own documentation address: through signUp() of the fixtures, in a browser
 * launched with its address, or in a docs example run by curl with the page's. This reads the
 * sources (plain Node, no runtime): a sign-up added any other way fails here, not as a 429 in CI.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/local-stack';
import { executedPages } from './docs.blocks';
import { addressedFiles, addressOf, SIGN_UP_PATH } from './sign-up.fixtures';

const FIXTURES = 'test/e2e/sign-up.fixtures.ts';

/** The sources an e2e run executes from test/: its own folder and the shared fakes. */
function e2eSources(): Array<{ file: string; text: string }> {
  return ['test/e2e', 'test/shared'].flatMap((dir) =>
    readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(ts|js|mjs)$/.test(f))
      .map((f) => `${dir}/${f.split(path.sep).join('/')}`)
      .map((file) => ({ file, text: readFileSync(path.join(ROOT, file), 'utf8') })),
  );
}

describe('the e2e suite’s sign-ups, each from its own file’s address', () => {
  it('every e2e file and docs page has a documentation address (RFC 5737) no other has', () => {
    const files = addressedFiles();
    expect(files).toContain('test/e2e/oauth.upstream.e2e.test.ts');
    expect(files).toContain('docs/auth.md');
    const addresses = files.map(addressOf);
    expect(new Set(addresses).size).toBe(files.length);
    for (const address of addresses) {
      const [, block, host] = /^(192\.0\.2|198\.51\.100|203\.0\.113)\.(\d+)$/.exec(address) ?? [];
      expect(block, address).toBeDefined();
      expect(Number(host)).toBeGreaterThanOrEqual(1);
      expect(Number(host)).toBeLessThanOrEqual(254);
    }
    // A helper is not a file of its own: its sign-ups are its callers'.
    expect(() => addressOf('test/e2e/oauth.person.ts')).toThrow(/neither/);
  });

  it('the sign-up endpoint is spelled only in the fixtures: every request to it sends the file’s address', () => {
    const endpoint = SIGN_UP_PATH.slice('/api/'.length); // however the base before it is written
    const spelled = e2eSources()
      .filter(({ file, text }) => file !== FIXTURES && text.includes(endpoint))
      .map(({ file }) => file);
    expect(spelled).toEqual([]);
  });

  it('a sign-up in a browser checks the address it was counted against', () => {
    const unchecked = e2eSources()
      .filter(({ text }) => /name:\s*['"`]Create account/.test(text) && !text.includes('signedUpFrom('))
      .map(({ file }) => file);
    expect(unchecked).toEqual([]);
  });

  it('the docs sign up only in shell examples, whose curl sends the page’s address (.curlrc)', () => {
    const elsewhere = executedPages(path.join(ROOT, 'docs')).flatMap(({ file, blocks }) =>
      blocks
        .filter(
          (b) => b.code.includes(SIGN_UP_PATH) && !(/^(bash|sh)$/.test(b.lang) && /\bcurl\b/.test(b.code)),
        )
        .map((b) => `docs/${file}:${b.line}`),
    );
    expect(elsewhere).toEqual([]);
  });
});
