/**
 * The LLM gateway's routes; every call goes through the call core with the LLM adapter.
 *
 *   /llm/<slug>/v1/...       SDK-native base URLs: point the OpenAI SDK at `<gateway>/llm/<slug>/v1`
 *                            or the Anthropic SDK at `<gateway>/llm/<slug>`, with plain model names.
 *   POST /v1/chat/completions, /v1/completions, /v1/responses, /v1/embeddings
 *                            Igris style: `"model": "@<slug>/<model>"` picks the connection.
 *   GET /v1/models           the `@slug/model` entries the caller may use (llm.models.ts).
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app.types';
import { looksLikeApiKey } from '../auth/api-key.crypto';
import { ensureBootstrapped } from '../bootstrap/bootstrap';
import { AppError } from '../lib/errors';
import type { LlmEndpoint } from '../llm/llm.endpoints';
import { llmErrorResponse } from '../llm/llm.errors';
import { parseLlmBody } from '../llm/llm.request';
import { MAX_BODY_BYTES_LIMIT } from '../shared/connection.settings';
import { handleCall } from './gateway.call';
import { type HashedKey, hashedKey, isUsableApiKey } from './gateway.callers';
import { readIdentity } from './gateway.identity';
import { readBodyCapped } from './gateway.jsonrpc';
import { familyOfPath, llmAdapter, llmApiKey } from './llm.adapter';
import { listModels } from './llm.models';

/** `@<slug>/<model>`: the connection's slug, then the provider's model name (which may contain `/`). */
const ADDRESSED_MODEL = /^@([a-z0-9][a-z0-9_-]{0,63})\/(.+)$/;

const IGRIS_ROUTES: ReadonlyArray<[string, LlmEndpoint]> = [
  ['/v1/chat/completions', 'chat.completions'],
  ['/v1/completions', 'completions'],
  ['/v1/responses', 'responses'],
  ['/v1/embeddings', 'embeddings'],
];

function methodOf(method: string): 'GET' | 'POST' | 'DELETE' | null {
  return method === 'GET' || method === 'POST' || method === 'DELETE' ? method : null;
}

export const llmRoutes = new Hono<AppEnv>();

for (const path of ['/llm/:slug/v1', '/llm/:slug/v1/*']) {
  llmRoutes.all(path, (c) => {
    const family = familyOfPath(new URL(c.req.url).pathname);
    const method = methodOf(c.req.method);
    if (!method) {
      const err = new AppError('method_not_allowed', { headers: { Allow: 'GET, POST, DELETE' } });
      return llmErrorResponse(family, err, { traceId: readIdentity(c.req.raw.headers).traceId });
    }
    return handleCall(c, method, llmAdapter({ kind: 'native' }, family));
  });
}

for (const [path, endpoint] of IGRIS_ROUTES) {
  llmRoutes.post(path, async (c) => {
    const traceId = readIdentity(c.req.raw.headers).traceId;
    try {
      // No usable key: the core refuses it (401, audited as on every route) before anything is
      // read. The slug is in the body, so the key is judged here first: an outsider's made-up key
      // never makes the gateway read or parse a body (isUsableApiKey: memory in the steady state).
      // The key is hashed here once; the core authenticates with that hash (gateway.callers.ts).
      const judged = await judgeKey(c.env, c.req.raw);
      if (!judged.mayReadBody) {
        return handleCall(c, 'POST', llmAdapter({ kind: 'native' }, 'openai'), { slug: '', key: judged.key });
      }
      // The body is read (capped at the hard limit) before the connection is known; once it is,
      // the adapter holds the body to the connection's own maxBodyBytes.
      const bytes = await readBodyCapped(c.req.raw, MAX_BODY_BYTES_LIMIT);
      const body = parseLlmBody(bytes);
      const match = typeof body.model === 'string' ? ADDRESSED_MODEL.exec(body.model) : null;
      if (!match) {
        throw new AppError('validation_failed', {
          message:
            'model must be "@<connection slug>/<model>" on this route (or use /llm/<slug>/v1 with plain model names)',
          details: { location: 'body', path: 'model' },
        });
      }
      const route = {
        kind: 'igris',
        endpoint,
        body: { ...body, model: match[2] },
        model: match[2]!,
        bytes: bytes.byteLength,
      } as const;
      const adapter = llmAdapter(route, 'openai');
      return handleCall(c, 'POST', adapter, { slug: match[1], key: judged.key });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return llmErrorResponse('openai', err, { traceId });
    }
  });
}

llmRoutes.get('/v1/models', (c) => listModels(c));

/**
 * Whether the route may read a body for the request's credential: an `ig_` key that is usable now
 * (hashed, for the core to authenticate with), or an OAuth access token (bound to the connection
 * the body names, so it can only be judged with it, by the core).
 */
async function judgeKey(
  env: Env,
  request: Request,
): Promise<{ mayReadBody: boolean; key: HashedKey | null }> {
  let credential: string | null;
  try {
    credential = llmApiKey(request);
  } catch {
    return { mayReadBody: false, key: null }; // a malformed credential: the core says what is wrong with it
  }
  if (!credential) return { mayReadBody: false, key: null };
  if (!looksLikeApiKey(credential)) return { mayReadBody: true, key: null };
  // The bootstrap key exists only once the first request has created it.
  await ensureBootstrapped(env);
  const key = await hashedKey(credential);
  return { mayReadBody: await isUsableApiKey(env, key), key };
}
