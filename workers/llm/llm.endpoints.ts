/**
 * Which LLM endpoint a request is, from its method and path alone (pure, no I/O).
 *
 * SDK-native base URLs are `/llm/<slug>/v1`: the OpenAI SDK appends `/chat/completions`, the
 * Anthropic SDK (whose base URL is `/llm/<slug>`) appends `/v1/messages`. Policy rules match the
 * endpoint name, so the name must be decided on exactly the path that is forwarded: a known
 * endpoint is forwarded to its canonical path (`upstreamPath`), never to the caller's spelling of
 * it, and anything that is not exactly a known method + path is `passthrough` (off unless a rule
 * allows it). No decoding, no normalisation: `/chat/completions/`, `/chat//completions` or
 * `/Chat/Completions` are passthrough, so no second reading of a path can disagree with ours.
 */
import { AppError } from '../lib/errors';
import { governedNameFault } from '../policy/policy.methods';

export const LLM_ENDPOINTS = [
  'chat.completions',
  'completions',
  'responses',
  'embeddings',
  'models',
  'images.generate',
  'audio.transcriptions',
  'audio.speech',
  'moderations',
  'messages',
  'messages.count_tokens',
  'responses.input_tokens',
] as const;

/** A governed endpoint name; `passthrough` is anything else under the prefix. */
export type LlmEndpoint = (typeof LLM_ENDPOINTS)[number];
export type LlmEndpointName = LlmEndpoint | 'passthrough';

/** The wire family: decides the request shape, the usage shape and the error shape. */
export type LlmFamily = 'openai' | 'anthropic';

export interface EndpointSpec {
  method: 'GET' | 'POST';
  /** The path after `/v1`, exactly. */
  path: string;
  family: LlmFamily;
  /** True when the request body is JSON we read (model, stream, max tokens…). */
  jsonBody: boolean;
  /** True when the answer carries token usage worth metering. */
  metered: boolean;
}

export const ENDPOINT_SPECS: Readonly<Record<LlmEndpoint, EndpointSpec>> = {
  'chat.completions': {
    method: 'POST',
    path: '/chat/completions',
    family: 'openai',
    jsonBody: true,
    metered: true,
  },
  completions: { method: 'POST', path: '/completions', family: 'openai', jsonBody: true, metered: true },
  responses: { method: 'POST', path: '/responses', family: 'openai', jsonBody: true, metered: true },
  embeddings: { method: 'POST', path: '/embeddings', family: 'openai', jsonBody: true, metered: true },
  models: { method: 'GET', path: '/models', family: 'openai', jsonBody: false, metered: false },
  'images.generate': {
    method: 'POST',
    path: '/images/generations',
    family: 'openai',
    jsonBody: true,
    metered: false,
  },
  // multipart/form-data: the adapter parses the form (FormData is I/O); llm.request.ts's
  // multipartModel takes its one `model` field.
  'audio.transcriptions': {
    method: 'POST',
    path: '/audio/transcriptions',
    family: 'openai',
    jsonBody: false,
    metered: false,
  },
  'audio.speech': { method: 'POST', path: '/audio/speech', family: 'openai', jsonBody: true, metered: false },
  moderations: { method: 'POST', path: '/moderations', family: 'openai', jsonBody: true, metered: false },
  messages: { method: 'POST', path: '/messages', family: 'anthropic', jsonBody: true, metered: true },
  'messages.count_tokens': {
    method: 'POST',
    path: '/messages/count_tokens',
    family: 'anthropic',
    jsonBody: true,
    metered: false,
  },
  // OpenAI's count of a Responses request's input tokens: free, runs no model.
  'responses.input_tokens': {
    method: 'POST',
    path: '/responses/input_tokens',
    family: 'openai',
    jsonBody: true,
    metered: false,
  },
};

const BY_ROUTE = new Map<string, LlmEndpoint>(
  LLM_ENDPOINTS.map((name) => [`${ENDPOINT_SPECS[name].method} ${ENDPOINT_SPECS[name].path}`, name]),
);

export interface ClassifiedEndpoint {
  endpoint: LlmEndpointName;
  /** The family of the endpoint; for passthrough, the provider's family (decided by the caller). */
  family: LlmFamily | null;
  /** What to append to the provider's base URL: canonical for known endpoints, as sent otherwise. */
  upstreamPath: string;
}

/**
 * Classifies `subPath` (the path after `/v1`, starting with `/`, without the query string).
 * `GET /models/<id>` is `models` too (the SDKs' `models.retrieve`), forwarded as sent.
 */
export function classifyEndpoint(method: string, subPath: string): ClassifiedEndpoint {
  const name = BY_ROUTE.get(`${method.toUpperCase()} ${subPath}`);
  if (name)
    return { endpoint: name, family: ENDPOINT_SPECS[name].family, upstreamPath: ENDPOINT_SPECS[name].path };
  if (method.toUpperCase() === 'GET' && isModelRetrieve(subPath)) {
    return { endpoint: 'models', family: null, upstreamPath: subPath };
  }
  return { endpoint: 'passthrough', family: null, upstreamPath: subPath };
}

/** `/models/<one segment>`; a model id may contain `:` or `@` but never a slash or a dot segment. */
function isModelRetrieve(subPath: string): boolean {
  if (!subPath.startsWith('/models/')) return false;
  const id = subPath.slice('/models/'.length);
  return id.length > 0 && id.length <= 256 && !id.includes('/') && id !== '.' && id !== '..';
}

/**
 * Why the model id of a `GET /models/<id>` (the SDKs' `models.retrieve`) names no model, or null:
 * it is judged as a body's model is (llm.request.ts checkModelName: no whitespace, control or
 * invisible character, at most 512 bytes), read as the provider reads it — percent-decoded, since a
 * URL carries `"gpt-4o "` as `gpt-4o%20` — while the path is still forwarded as sent. Also refused:
 * an id that is not percent-encoded UTF-8 (no reading to agree on), and one whose decoded
 * slash-separated parts (`meta-llama%2FLlama-3.1-8B` is a real id) include an empty, `.` or `..`
 * part, which a provider that decodes before routing would resolve to another endpoint.
 */
export function retrievedModelFault(upstreamPath: string): AppError | null {
  if (!upstreamPath.startsWith('/models/')) return null;
  let id: string;
  try {
    id = decodeURIComponent(upstreamPath.slice('/models/'.length));
  } catch {
    return pathModelError('model id in the path is not percent-encoded UTF-8');
  }
  const fault = governedNameFault(id);
  if (fault) return pathModelError(`model ${fault}: no model is named like that`);
  if (id.split('/').some((part) => part === '' || part === '.' || part === '..'))
    return pathModelError(
      'model id in the path has an empty, "." or ".." segment: no model is named like that',
    );
  return null;
}

/**
 * The model a `GET /models/<id>` retrieves, read as the provider reads it (percent-decoded), so that
 * allowedModels and the policy decide it as they decide a body's model; null for the list, and for
 * an id that does not decode (retrievedModelFault refuses it before anything is decided).
 */
export function retrievedModelId(upstreamPath: string): string | null {
  if (!upstreamPath.startsWith('/models/')) return null;
  try {
    return decodeURIComponent(upstreamPath.slice('/models/'.length));
  } catch {
    return null;
  }
}

function pathModelError(message: string): AppError {
  return new AppError('validation_failed', { message, details: { location: 'path', path: 'model' } });
}

export interface LlmRoute {
  slug: string;
  /** The path after `/llm/<slug>/v1`, starting with `/` (empty path → `/`). */
  subPath: string;
}

// The connection slug alphabet (connection.rules.ts slugSchema); the lookup decides whether it exists.
const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * Splits an SDK-native gateway path `/llm/<slug>/v1/...` (pathname only, no query). Null when the
 * path is not under the prefix (the route answers 404 then).
 */
export function parseLlmRoute(pathname: string): LlmRoute | null {
  const match = /^\/llm\/([^/]+)\/v1(\/.*)?$/.exec(pathname);
  if (!match) return null;
  const slug = match[1]!;
  if (!SLUG.test(slug)) return null;
  return { slug, subPath: match[2] ?? '/' };
}
