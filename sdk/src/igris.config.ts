/**
 * Where the SDK finds its settings: explicit options, then the environment, then the default.
 * Reading the environment must not assume Node: Workers, browsers and Deno may have no `process`
 * (or one that throws without permission), so every lookup is guarded.
 */
import { IgrisConfigError } from './igris.errors.js';

/**
 * Igris Edge is self-hosted: there is no shared cloud endpoint to fall back to. The default is
 * the gateway `npm start` runs locally; set `baseUrl` or IGRIS_BASE_URL for anything else.
 * (A hosted default would send your API key to a server you do not run.)
 */
export const DEFAULT_BASE_URL = 'http://localhost:8787';
export const BASE_URL_ENV = 'IGRIS_BASE_URL';
export const API_KEY_ENV = 'IGRIS_API_KEY';

interface EnvHost {
  process?: { env?: Record<string, string | undefined> };
  Deno?: { env?: { get(name: string): string | undefined } };
}

/** An environment variable from `process.env` (Node, Bun, Workers with nodejs_compat) or Deno.env. */
export function readEnv(name: string): string | undefined {
  const host = globalThis as EnvHost;
  try {
    const value = host.process?.env?.[name];
    if (typeof value === 'string' && value !== '') return value;
  } catch {
    // no access (e.g. Deno without --allow-env): treat as unset
  }
  try {
    const value = host.Deno?.env?.get(name);
    if (typeof value === 'string' && value !== '') return value;
  } catch {
    // same
  }
  return undefined;
}

/** Validates and normalises a base URL: http(s), no credentials/query/fragment, no trailing slash. */
export function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new IgrisConfigError('baseUrl', `baseUrl is not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new IgrisConfigError('baseUrl', `baseUrl must be http(s), got ${url.protocol}`);
  }
  if (url.username || url.password)
    throw new IgrisConfigError('baseUrl', 'baseUrl may not contain credentials');
  if (url.search || url.hash)
    throw new IgrisConfigError('baseUrl', 'baseUrl may not have a query or fragment');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

const API_KEY_PATTERN = /^ig_[\x21-\x7e]+$/;

export function checkApiKey(apiKey: unknown): string {
  if (typeof apiKey !== 'string' || apiKey === '') {
    throw new IgrisConfigError('apiKey', `no API key: pass new Igris({ apiKey }) or set ${API_KEY_ENV}`);
  }
  if (!API_KEY_PATTERN.test(apiKey)) {
    throw new IgrisConfigError(
      'apiKey',
      'apiKey must be an Igris API key: "ig_" followed by printable ASCII',
    );
  }
  return apiKey;
}
