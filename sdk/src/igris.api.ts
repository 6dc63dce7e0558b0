/**
 * The management API (`/api/v1`) over plain fetch, typed from the API's own OpenAPI document:
 * every request and response type below is looked up in the generated `Paths` (api.types.ts),
 * never re-declared. An endpoint the committed document does not have yet types as `unknown`
 * until `npm run sdk:types` regenerates it.
 */
import type { Paths } from './api.types.js';
import { type ApiErrorCode, IgrisApiError, IgrisConfigError } from './igris.errors.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
type AnyOperation = { path: unknown; query: unknown; body: unknown; responses: unknown };

/** The operation at `P` + `M`, or never when the document has no such operation. */
type OperationOf<P, M> = P extends keyof Paths
  ? M extends keyof Paths[P]
    ? Paths[P][M] extends AnyOperation
      ? Paths[P][M]
      : never
    : never
  : never;

type IsNever<T> = [T] extends [never] ? true : false;
type SuccessStatus = 200 | 201 | 202 | 203 | 204;

/** The JSON body of the success response of `P` + `M` (`unknown` for an operation not in the document). */
export type ApiResult<P extends string, M extends HttpMethod> =
  IsNever<OperationOf<P, M>> extends true
    ? unknown
    : OperationOf<P, M>['responses'][Extract<keyof OperationOf<P, M>['responses'], SuccessStatus>];

/** The request body of `P` + `M`. */
export type ApiBody<P extends string, M extends HttpMethod> =
  IsNever<OperationOf<P, M>> extends true ? unknown : OperationOf<P, M>['body'];

/** The query parameters of `P` + `M`. */
export type ApiQuery<P extends string, M extends HttpMethod> =
  IsNever<OperationOf<P, M>> extends true ? QueryParams : OperationOf<P, M>['query'];

export type QueryValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | ReadonlyArray<string | number | boolean>;
export type QueryParams = Record<string, QueryValue>;

/** Arguments of `igris.request(method, path, args)`: exactly the parts the operation has. */
export type ApiArgs<P extends string, M extends HttpMethod> =
  IsNever<OperationOf<P, M>> extends true
    ? { path?: Record<string, string>; query?: QueryParams; body?: unknown }
    : (IsNever<OperationOf<P, M>['path']> extends true
        ? { path?: never }
        : { path: OperationOf<P, M>['path'] }) &
        (IsNever<OperationOf<P, M>['query']> extends true
          ? { query?: never }
          : { query?: OperationOf<P, M>['query'] }) &
        (IsNever<OperationOf<P, M>['body']> extends true
          ? { body?: never }
          : { body: OperationOf<P, M>['body'] });

/** Paths of the document that have method `M` (for autocompletion in `igris.request`). */
export type PathsWith<M extends HttpMethod> = {
  [P in keyof Paths]: M extends keyof Paths[P] ? P : never;
}[keyof Paths];

export interface Transport {
  baseUrl: string;
  apiKey: string;
  fetch: typeof fetch;
}

/** `/connections/{slug}` + { slug: 'a b' } → `/connections/a%20b`, refusing dot segments. */
export function fillPath(template: string, params: Record<string, unknown> | undefined): string {
  return template.replace(/\{([^}]+)\}/g, (_match, name: string) => {
    const value = params?.[name];
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new IgrisConfigError(name, `path parameter "${name}" is required`);
    }
    const text = String(value);
    // URL parsing resolves '.', '..' and their %2e spellings, which would change the endpoint.
    if (text === '' || text === '.' || text === '..') {
      throw new IgrisConfigError(name, `path parameter "${name}" may not be ${JSON.stringify(text)}`);
    }
    return encodeURIComponent(text);
  });
}

export function queryString(query: QueryParams | undefined): string {
  if (!query) return '';
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const item of value) search.append(name, String(item));
    else search.append(name, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

export interface RawRequest {
  method: HttpMethod;
  path: string;
  args?: { path?: Record<string, unknown>; query?: QueryParams; body?: unknown };
  accept?: string;
}

/** Sends one request; resolves with the response when it is a 2xx, else throws IgrisApiError. */
export async function send(transport: Transport, request: RawRequest): Promise<Response> {
  const method = request.method.toUpperCase();
  const path = fillPath(request.path, request.args?.path) + queryString(request.args?.query);
  const headers: Record<string, string> = {
    Authorization: `Bearer ${transport.apiKey}`,
    Accept: request.accept ?? 'application/json',
  };
  const body = request.args?.body;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await transport.fetch(`${transport.baseUrl}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // Never follow a redirect with the API key attached to somewhere else.
      redirect: 'manual',
    });
  } catch (cause) {
    // Name the base URL: a wrong IGRIS_BASE_URL (or a gateway that is not running) is the usual reason.
    throw new IgrisApiError({
      status: 0,
      code: 'network_error',
      message: `${method} ${path}: no response from the Igris gateway at ${transport.baseUrl} (${describeFailure(cause)}): is it running, and do baseUrl / IGRIS_BASE_URL point at it?`,
      method,
      path,
      cause,
    });
  }
  if (res.status >= 200 && res.status < 300) return res;
  throw await errorFrom(res, method, path);
}

/** fetch's own message ("fetch failed") plus the reason it wraps (e.g. "connect ECONNREFUSED 127.0.0.1:9"). */
function describeFailure(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner = (cause as { cause?: unknown }).cause;
  // An AggregateError (every address refused) may have no message, only a code.
  const reason = inner instanceof Error ? inner.message || (inner as { code?: string }).code : undefined;
  return reason && reason !== cause.message ? `${cause.message}: ${reason}` : cause.message;
}

async function errorFrom(res: Response, method: string, path: string): Promise<IgrisApiError> {
  const text = await res.text().catch(() => '');
  const parsed = parseJson(text);
  const error = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : null;
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    return new IgrisApiError({
      status: res.status,
      code: error.code as ApiErrorCode,
      message: error.message,
      details: error.details,
      method,
      path,
    });
  }
  // Not the API's error shape: a proxy, a redirect, or a route that does not exist on this version.
  return new IgrisApiError({
    status: res.status,
    code: 'invalid_response',
    message: `${method} ${path}: HTTP ${res.status}${text ? ` ${text.slice(0, 200)}` : ''}`,
    method,
    path,
  });
}

/** The JSON body of a successful response (undefined for an empty one). */
export async function readJson(res: Response, method: string, path: string): Promise<unknown> {
  const text = await res.text();
  if (text === '') return undefined;
  const parsed = parseJson(text);
  if (parsed === INVALID) {
    throw new IgrisApiError({
      status: res.status,
      code: 'invalid_response',
      message: `${method.toUpperCase()} ${path}: the response is not JSON`,
      method: method.toUpperCase(),
      path,
    });
  }
  return parsed;
}

const INVALID = Symbol('invalid');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return INVALID;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
