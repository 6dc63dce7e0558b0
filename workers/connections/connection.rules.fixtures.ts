/**
 * Shared by the connection rule unit tests (connection.rules.upstream and .secrets): checking an
 * upstream URL under the strict (production) and development options.
 */
import { expect } from 'vitest';
import { checkUpstreamUrl, type UpstreamUrlOptions } from './connection.rules';

export const STRICT: UpstreamUrlOptions = { allowPrivate: false, allowHttp: false };

export const DEV: UpstreamUrlOptions = { allowPrivate: true, allowHttp: true };

export function expectRefused(url: string, rule: string, opts: UpstreamUrlOptions = STRICT): string {
  const result = checkUpstreamUrl(url, opts);
  if (result.ok) throw new Error(`expected ${url} to be refused (${rule}), got ok`);
  expect(result.rule).toBe(rule);
  expect(result.message).toContain(rule === 'parse' ? 'not a valid' : '');
  return result.message;
}

export function expectAccepted(url: string, opts: UpstreamUrlOptions = STRICT): URL {
  const result = checkUpstreamUrl(url, opts);
  if (!result.ok) throw new Error(`expected ${url} to be accepted, got ${result.rule}: ${result.message}`);
  return result.url;
}
