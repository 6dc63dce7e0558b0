import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyEndpoint, ENDPOINT_SPECS, LLM_ENDPOINTS, parseLlmRoute } from './llm.endpoints.ts';

describe('classifyEndpoint', () => {
  it.each([
    ['POST', '/chat/completions', 'chat.completions', 'openai'],
    ['POST', '/completions', 'completions', 'openai'],
    ['POST', '/responses', 'responses', 'openai'],
    ['POST', '/embeddings', 'embeddings', 'openai'],
    ['GET', '/models', 'models', 'openai'],
    ['POST', '/images/generations', 'images.generate', 'openai'],
    ['POST', '/audio/transcriptions', 'audio.transcriptions', 'openai'],
    ['POST', '/audio/speech', 'audio.speech', 'openai'],
    ['POST', '/moderations', 'moderations', 'openai'],
    ['POST', '/messages', 'messages', 'anthropic'],
    ['POST', '/messages/count_tokens', 'messages.count_tokens', 'anthropic'],
    ['POST', '/responses/input_tokens', 'responses.input_tokens', 'openai'],
    ['post', '/messages', 'messages', 'anthropic'],
  ])('%s %s → %s', (method, path, endpoint, family) => {
    expect(classifyEndpoint(method, path)).toEqual({ endpoint, family, upstreamPath: path });
  });

  it('treats GET /models/<id> as models, forwarded as sent', () => {
    expect(classifyEndpoint('GET', '/models/gpt-4o')).toEqual({
      endpoint: 'models',
      family: null,
      upstreamPath: '/models/gpt-4o',
    });
    expect(classifyEndpoint('GET', '/models/a/b').endpoint).toBe('passthrough');
    expect(classifyEndpoint('GET', '/models/..').endpoint).toBe('passthrough');
    expect(classifyEndpoint('GET', '/models/').endpoint).toBe('passthrough');
  });

  it.each([
    ['GET', '/chat/completions'],
    ['POST', '/chat/completions/'],
    ['POST', '/chat//completions'],
    ['POST', '/Chat/Completions'],
    ['POST', '/chat/completions%2F'],
    ['POST', '/responses/resp_1/cancel'],
    ['DELETE', '/responses/resp_1'],
    ['POST', '/files'],
    ['POST', '/'],
    ['POST', '/messages/batches'],
  ])('%s %s is passthrough', (method, path) => {
    const out = classifyEndpoint(method, path);
    expect(out.endpoint).toBe('passthrough');
    expect(out.family).toBeNull();
    expect(out.upstreamPath).toBe(path);
  });

  it('a known endpoint always forwards its canonical path (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom('GET', 'POST', 'DELETE', 'PUT'), fc.string(), (method, tail) => {
        const path = `/${tail}`;
        const out = classifyEndpoint(method, path);
        if (out.endpoint === 'passthrough') return out.upstreamPath === path;
        if (out.endpoint === 'models' && method === 'GET' && path !== '/models')
          return out.upstreamPath === path;
        return ENDPOINT_SPECS[out.endpoint].path === out.upstreamPath && out.upstreamPath === path;
      }),
    );
  });

  it('has a spec for every endpoint, with distinct routes', () => {
    const routes = LLM_ENDPOINTS.map((e) => `${ENDPOINT_SPECS[e].method} ${ENDPOINT_SPECS[e].path}`);
    expect(new Set(routes).size).toBe(LLM_ENDPOINTS.length);
  });
});

describe('parseLlmRoute', () => {
  it('splits the SDK-native prefix', () => {
    expect(parseLlmRoute('/llm/my-openai/v1/chat/completions')).toEqual({
      slug: 'my-openai',
      subPath: '/chat/completions',
    });
    expect(parseLlmRoute('/llm/claude_1/v1/messages')).toEqual({ slug: 'claude_1', subPath: '/messages' });
    expect(parseLlmRoute('/llm/abc/v1')).toEqual({ slug: 'abc', subPath: '/' });
  });

  it.each([
    '/llm/abc',
    '/llm/abc/v2/chat',
    '/llm//v1/x',
    '/llm/ABC/v1/x',
    '/v1/chat/completions',
    '/llm/a%2Fb/v1/x',
  ])('rejects %s', (path) => {
    expect(parseLlmRoute(path)).toBeNull();
  });
});
