import { describe, expect, it } from 'vitest';
import {
  catalogSchema,
  effectiveBaseUrl,
  getProvider,
  LLM_CATALOG,
  missingDefaultHeaders,
  PROVIDER_IDS,
  servesEndpoint,
  upstreamAuth,
} from './llm.catalog.ts';
import catalogData from './llm.providers.json';

const REQUIRED = [
  'openai',
  'anthropic',
  'azure-openai',
  'google',
  'mistral',
  'groq',
  'deepseek',
  'xai',
  'together',
  'fireworks',
  'openrouter',
  'perplexity',
  'cerebras',
  'cohere',
  'ollama',
  'openai-compatible',
];

describe('provider catalog', () => {
  it('lists every provider the issue names, each valid', () => {
    expect(PROVIDER_IDS).toEqual(expect.arrayContaining(REQUIRED));
    for (const id of REQUIRED) expect(getProvider(id), id).not.toBeNull();
  });

  it('has the official base URLs and auth styles', () => {
    expect(getProvider('openai')).toMatchObject({
      baseUrl: 'https://api.openai.com/v1',
      auth: { style: 'bearer' },
    });
    expect(getProvider('anthropic')).toMatchObject({
      family: 'anthropic',
      baseUrl: 'https://api.anthropic.com/v1',
      auth: { style: 'x-api-key' },
      headers: { 'anthropic-version': '2023-06-01' },
    });
    expect(getProvider('azure-openai')).toMatchObject({
      baseUrl: null,
      upstreamUrl: 'required',
      auth: { style: 'api-key' },
    });
    expect(getProvider('google')).toMatchObject({
      baseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai',
      auth: { style: 'query', param: 'key' },
    });
    expect(getProvider('groq')?.baseUrl).toBe('https://api.groq.com/openai/v1');
    expect(getProvider('cohere')).toMatchObject({
      baseUrl: 'https://api.cohere.ai/compatibility/v1',
      streamUsage: 'none',
    });
    expect(getProvider('perplexity')?.baseUrl).toBe('https://api.perplexity.ai');
    expect(getProvider('ollama')).toMatchObject({ auth: { style: 'none' }, upstreamUrl: 'required' });
  });

  it('knows which endpoints a provider serves', () => {
    const anthropic = getProvider('anthropic')!;
    expect(servesEndpoint(anthropic, 'messages')).toBe(true);
    expect(servesEndpoint(anthropic, 'chat.completions')).toBe(false);
    expect(servesEndpoint(getProvider('openai')!, 'responses')).toBe(true);
    expect(servesEndpoint(getProvider('perplexity')!, 'embeddings')).toBe(false);
  });

  it('returns null for an unknown provider', () => {
    expect(getProvider('nope')).toBeNull();
    expect(getProvider('__proto__')).toBeNull();
  });

  it('rejects a malformed catalog', () => {
    const broken = structuredClone(catalogData) as { providers: Record<string, unknown>[] };
    const bad = (edit: (p: Record<string, unknown>) => void) => {
      const copy = structuredClone(broken);
      edit(copy.providers[0]!);
      return catalogSchema.safeParse(copy).success;
    };
    expect(catalogSchema.safeParse(broken).success).toBe(true);
    expect(bad((p) => (p.baseUrl = 'http://api.openai.com/v1'))).toBe(false);
    expect(bad((p) => (p.baseUrl = 'https://api.openai.com/v1/'))).toBe(false);
    expect(bad((p) => (p.baseUrl = null))).toBe(false); // null base needs upstreamUrl "required"
    expect(bad((p) => (p.auth = { style: 'query' }))).toBe(false);
    expect(bad((p) => (p.endpoints = ['messages']))).toBe(false); // wrong family
    expect(bad((p) => (p.headers = { 'Anthropic-Version': 'x' }))).toBe(false);
    const dup = structuredClone(broken);
    dup.providers.push(structuredClone(dup.providers[0]!));
    expect(catalogSchema.safeParse(dup).success).toBe(false);
  });

  it('every provider needing a base URL says so, and every built-in one is https', () => {
    for (const p of LLM_CATALOG.providers) {
      if (p.baseUrl === null) expect(p.upstreamUrl, p.id).toBe('required');
      else expect(p.baseUrl.startsWith('https://'), p.id).toBe(true);
    }
  });
});

describe('effectiveBaseUrl', () => {
  it('prefers the connection upstream URL and trims trailing slashes', () => {
    const openai = getProvider('openai')!;
    expect(effectiveBaseUrl(openai, null)).toBe('https://api.openai.com/v1');
    expect(effectiveBaseUrl(openai, 'https://proxy.example/v1//')).toBe('https://proxy.example/v1');
    expect(effectiveBaseUrl(getProvider('azure-openai')!, null)).toBeNull();
  });
});

describe('upstreamAuth', () => {
  it('maps catalog styles to the transport vocabulary', () => {
    expect(upstreamAuth({ style: 'bearer' })).toEqual({ authType: 'bearer', authHeaderName: null });
    expect(upstreamAuth({ style: 'x-api-key' })).toEqual({ authType: 'header', authHeaderName: 'x-api-key' });
    expect(upstreamAuth({ style: 'api-key' })).toEqual({ authType: 'header', authHeaderName: 'api-key' });
    expect(upstreamAuth({ style: 'query', param: 'key' })).toEqual({
      authType: 'query',
      authHeaderName: 'key',
    });
    expect(upstreamAuth({ style: 'none' })).toEqual({ authType: 'none', authHeaderName: null });
  });
});

describe('missingDefaultHeaders', () => {
  it('adds anthropic-version only when the caller sent none', () => {
    const anthropic = getProvider('anthropic')!;
    expect(missingDefaultHeaders(anthropic, new Headers())).toEqual({ 'anthropic-version': '2023-06-01' });
    expect(missingDefaultHeaders(anthropic, new Headers({ 'Anthropic-Version': '2024-01-01' }))).toEqual({});
  });
});
