/**
 * Shared by the stored-object ownership tests (llm.responses.access, llm.objects.access,
 * llm.files.access): an LLM connection on the real fake provider with passthrough allowed, a call
 * through it as one caller (key, X-Igris-User, trace id), what the provider received naming an id,
 * and a file upload's multipart body (also inspection.passthrough's batch input files).
 */
import { env } from 'cloudflare:workers';
import { call, expectJson, flushAudit, putPolicy } from './helpers';

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
export async function connectOwned(
  slug: string,
  key: string,
  settings: Record<string, unknown> = { provider: 'openai-compatible' },
): Promise<string> {
  const res = await call('POST', '/api/v1/connections', {
    key,
    body: {
      slug,
      name: slug,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings,
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

/**
 * A call to `/llm/<slug>/v1<path>` as `who` (on `defaultSlug` unless `who.slug` says otherwise),
 * with `headers` besides (Anthropic's `anthropic-version`).
 */
export function ownedCall(defaultSlug: string, headers: Record<string, string> = {}) {
  return (who: Caller, method: string, path: string, body?: unknown): Promise<Response> =>
    call(method, `/llm/${who.slug ?? defaultSlug}/v1${path}`, {
      key: who.key,
      body,
      headers: { ...headers, ...callerHeaders(who) },
    });
}

/** The audit row of the call traced `trace` in `orgId` (after the spool is flushed). */
export async function auditedCall(orgId: string, trace: string) {
  await flushAudit();
  const row = await env.DB.prepare(
    'SELECT action, error_code, upstream_status, details FROM audit_events WHERE org_id = ? AND trace_id = ?',
  )
    .bind(orgId, trace)
    .first<{ action: string; error_code: string | null; upstream_status: number | null; details: string }>();
  return row ? { ...row, details: JSON.parse(row.details) as Record<string, unknown> } : null;
}

/** What the provider received that names `id` (in a body or a path). */
export async function providerSawNaming(id: string): Promise<ProviderRequest[]> {
  const seen = (await (await fetch(`${env.LLM_FAKE_URL}/__fake/requests`)).json()) as ProviderRequest[];
  return seen.filter((r) => r.path.includes(id) || JSON.stringify(r.body ?? null).includes(id));
}

const BOUNDARY = 'igrisboundary';

/** The Content-Type of a fileUploadBody form. */
export const FILE_UPLOAD_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** A multipart body uploading `text` as a file (`input.jsonl`) for `purpose`. */
export function fileUploadBody(text: string, purpose = 'batch'): string {
  return [
    `--${BOUNDARY}`,
    'Content-Disposition: form-data; name="purpose"',
    '',
    purpose,
    `--${BOUNDARY}`,
    'Content-Disposition: form-data; name="file"; filename="input.jsonl"',
    'Content-Type: application/jsonl',
    '',
    text,
    `--${BOUNDARY}--`,
    '',
  ].join('\r\n');
}

/** Uploads `text` as a file through `defaultSlug` (or `who.slug`) as `who`; its id. */
export function uploadAs(defaultSlug: string, purpose = 'batch') {
  return async (who: Caller, text: string): Promise<string> => {
    const res = await call('POST', `/llm/${who.slug ?? defaultSlug}/v1/files`, {
      key: who.key,
      rawBody: fileUploadBody(text, purpose),
      headers: { ...callerHeaders(who), 'Content-Type': FILE_UPLOAD_TYPE },
    });
    return (await expectJson<{ id: string }>(res, 200)).id;
  };
}
