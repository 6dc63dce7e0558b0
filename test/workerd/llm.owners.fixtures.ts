/**
 * Shared by the stored-object ownership tests (llm.responses.access, llm.objects.access,
 * llm.files.access): an LLM connection on the real fake provider with passthrough allowed, a call
 * through it as one caller (key, X-Igris-User, trace id), and what the provider received naming an id.
 */
import { env } from 'cloudflare:workers';
import { call, expectJson, putPolicy } from './helpers';

/** Who calls: an API key, optionally a person behind it (X-Igris-User), a connection and a trace id. */
export interface Caller {
  key: string;
  user?: string;
  slug?: string;
  trace?: string;
}

export interface ProviderRequest {
  method: string;
  path: string;
  body: unknown;
}

/**
 * An `openai-compatible` connection `slug` of `key`'s organization on the fake provider, every call
 * allowed — passthrough too: retrieve, list, delete and cancel reach the provider by path. Its id.
 */
export async function connectOwned(slug: string, key: string): Promise<string> {
  const res = await call('POST', '/api/v1/connections', {
    key,
    body: {
      slug,
      name: slug,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings: { provider: 'openai-compatible' },
    },
  });
  const { id } = await expectJson<{ id: string }>(res, 201);
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], key);
  return id;
}

/** The headers that say who calls besides the key. */
export function callerHeaders(who: Caller): Record<string, string> {
  return {
    ...(who.user ? { 'X-Igris-User': who.user } : {}),
    ...(who.trace ? { 'X-Igris-Trace-Id': who.trace } : {}),
  };
}

/** A call to `/llm/<slug>/v1<path>` as `who` (on `defaultSlug` unless `who.slug` says otherwise). */
export function ownedCall(defaultSlug: string) {
  return (who: Caller, method: string, path: string, body?: unknown): Promise<Response> =>
    call(method, `/llm/${who.slug ?? defaultSlug}/v1${path}`, {
      key: who.key,
      body,
      headers: callerHeaders(who),
    });
}

/** What the provider received that names `id` (in a body or a path). */
export async function providerSawNaming(id: string): Promise<ProviderRequest[]> {
  const seen = (await (await fetch(`${env.LLM_FAKE_URL}/__fake/requests`)).json()) as ProviderRequest[];
  return seen.filter((r) => r.path.includes(id) || JSON.stringify(r.body ?? null).includes(id));
}
