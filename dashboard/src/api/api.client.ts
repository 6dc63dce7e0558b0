/**
 * The one way the dashboard talks to the Worker. Two ways to be signed in:
 *   - cookie: `igris.session_token` (HttpOnly, set by /api/auth/sign-in). Requests go with
 *     credentials: 'include' so a cross-origin (Pages) dashboard sends it, and every state-changing
 *     request carries X-CSRF-Token (the token from the session view) — the Worker refuses it otherwise;
 *   - API key: `Authorization: Bearer ig_…`, kept in sessionStorage (this tab only). A fallback for
 *     operators and tests when people sign-in is not available; no CSRF needed (a browser never
 *     attaches a bearer key on its own).
 *
 * Typed against the generated OpenAPI paths: `v1('get', '/connections/{slug}', { path: { slug } })`
 * returns exactly the success body the document declares.
 */
import { getApiBaseUrl } from './api.config';
import type { FieldIssue, Paths } from './api.types';

export type Credentials =
  | { kind: 'none' }
  | { kind: 'cookie'; csrfToken: string | null }
  | { kind: 'apiKey'; key: string };

let credentials: Credentials = { kind: 'none' };

export function setCredentials(next: Credentials): void {
  credentials = next;
}

export function getCredentials(): Credentials {
  return credentials;
}

/** Fired when the API answers 401 to a signed-in request: the auth layer signs the tab out. */
export const UNAUTHORIZED_EVENT = 'igris:unauthorized';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** Field problems, normalized from either `{issues: [...]}` or a single `{location, path}`. */
  readonly issues: FieldIssue[];
  readonly retryAfter: string | null;

  constructor(status: number, code: string, message: string, details: unknown, retryAfter: string | null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.issues = issuesOf(details, message);
    this.retryAfter = retryAfter;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function issuesOf(details: unknown, message: string): FieldIssue[] {
  if (!isRecord(details)) return [];
  if (Array.isArray(details.issues)) {
    return details.issues.filter(isRecord).map((issue) => ({
      location: typeof issue.location === 'string' ? issue.location : undefined,
      path: typeof issue.path === 'string' ? issue.path : '',
      message: typeof issue.message === 'string' ? issue.message : message,
      ruleIndex: typeof issue.ruleIndex === 'number' ? issue.ruleIndex : null,
    }));
  }
  // A conflict or not-found that names one field (e.g. a slug already taken).
  if (typeof details.path === 'string') {
    return [{ location: String(details.location ?? ''), path: details.path, message }];
  }
  return [];
}

/** The message for one field path (`slug`, `settings.retentionDays`), if the API reported one. */
export function issueFor(error: unknown, path: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  return error.issues.find((issue) => issue.path === path)?.message;
}

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue> | object;
  body?: unknown;
  accept?: string;
  signal?: AbortSignal;
}

function queryString(query: RequestOptions['query']): string {
  if (!query) return '';
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    search.append(name, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

export function apiUrl(path: string, query?: RequestOptions['query']): string {
  return `${getApiBaseUrl()}${path}${queryString(query)}`;
}

/** Headers that authenticate a request made the current way. */
export function authHeaders(method: string): Record<string, string> {
  if (credentials.kind === 'apiKey') return { Authorization: `Bearer ${credentials.key}` };
  if (credentials.kind === 'cookie' && credentials.csrfToken && !/^(GET|HEAD|OPTIONS)$/i.test(method)) {
    return { 'X-CSRF-Token': credentials.csrfToken };
  }
  return {};
}

/** Sends one request; resolves with the 2xx response, otherwise throws ApiError. */
export async function request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = {
    Accept: options.accept ?? 'application/json',
    ...authHeaders(method),
  };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(apiUrl(path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: credentials.kind === 'apiKey' ? 'omit' : 'include',
      signal: options.signal,
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
    throw new ApiError(
      0,
      'network_error',
      'The API could not be reached. Check your connection.',
      null,
      null,
    );
  }
  if (res.ok) return res;
  throw await errorFrom(res);
}

async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const error = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : null;
  const retryAfter = res.headers.get('Retry-After');
  if (res.status === 401 && credentials.kind !== 'none') {
    window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT));
  }
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    return new ApiError(res.status, error.code, error.message, error.details, retryAfter);
  }
  return new ApiError(
    res.status,
    'invalid_response',
    `Unexpected answer from the API (HTTP ${res.status})`,
    null,
    retryAfter,
  );
}

export async function requestJson<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const res = await request(method, path, options);
  const text = await res.text();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

// ---- typed /api/v1 calls ----

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Operation = { path: unknown; query: unknown; body: unknown; responses: unknown };
type OperationOf<P extends keyof Paths, M extends Method> = M extends keyof Paths[P]
  ? Paths[P][M] extends Operation
    ? Paths[P][M]
    : never
  : never;
type Present<T> = [T] extends [never] ? undefined : T;
type Success<O extends Operation> = O['responses'][Extract<keyof O['responses'], 200 | 201 | 202>];

export interface V1Args<O extends Operation> {
  path?: Present<O['path']>;
  query?: Present<O['query']>;
  body?: Present<O['body']>;
  signal?: AbortSignal;
}

function fillPath(template: string, params: unknown): string {
  return template.replace(/\{([^}]+)\}/g, (_match, name: string) => {
    const value = isRecord(params) ? params[name] : undefined;
    if (typeof value !== 'string' || value === '' || value === '.' || value === '..') {
      throw new Error(`path parameter ${name} is missing`);
    }
    return encodeURIComponent(value);
  });
}

export function v1<M extends Method, P extends keyof Paths>(
  method: M,
  path: P,
  args: V1Args<OperationOf<P, M>> = {},
): Promise<Success<OperationOf<P, M>>> {
  return requestJson(method.toUpperCase(), `/api/v1${fillPath(path, args.path)}`, {
    query: args.query ?? undefined,
    body: args.body,
    signal: args.signal,
  });
}

/** `/api/auth/*` (not in the generated document yet: typed by the caller). */
export function auth<T>(method: string, path: string, body?: unknown): Promise<T> {
  return requestJson<T>(method, `/api/auth${path}`, { body });
}
