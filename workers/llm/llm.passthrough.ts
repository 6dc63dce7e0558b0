/**
 * What a passthrough call (a path outside the endpoint catalog, llm.endpoints.ts, that a rule
 * allows) may do, from its forwarded target alone (`METHOD /path?query`, pure, no I/O):
 *
 *   read    GET, HEAD or DELETE: lists, fetches or removes (batches, files, responses…); no
 *           model work is created and nothing is billed
 *   cancel  POST to one of the cancel paths below: it stops billable work, creates none
 *   work    anything else (POST /v1/batches, an Assistants run, a Realtime session, a PUT…):
 *           it may run a model on input the gateway does not read, and bill for it
 *
 * Budgets (llm.governance.ts `llmCostEstimate`) let `read` and `cancel` through a `block` budget
 * at $0 and refuse `work`, which the gateway cannot price; a governed system prompt refuses `work`,
 * which cannot carry it. So `cancel` is an allow-list, matched exactly and failing closed: every
 * segment spelled as the provider documents it (no other case, no trailing slash, no empty or dot
 * segment), the id one segment of id characters (no percent-encoding: `%2F` or `%2E%2E` could be
 * read by a decoding upstream as another path), no query but Azure's `api-version`. Any other
 * spelling is `work`: refused where `work` is, never let through as a cancel.
 */

export type PassthroughKind = 'read' | 'cancel' | 'work';

/** Methods that only read or remove. */
const READ_METHODS = new Set(['GET', 'HEAD', 'DELETE']);

/**
 * The cancel paths (after `/v1`), `{id}` standing for one id segment. OpenAI: Batch, Responses
 * (background), fine-tuning jobs, Assistants runs, vector-store file batches; Anthropic: Message
 * Batches.
 */
export const CANCEL_PATHS: readonly string[] = [
  '/batches/{id}/cancel',
  '/responses/{id}/cancel',
  '/fine_tuning/jobs/{id}/cancel',
  '/threads/{id}/runs/{id}/cancel',
  '/vector_stores/{id}/file_batches/{id}/cancel',
  '/messages/batches/{id}/cancel',
];

const PATTERNS = CANCEL_PATHS.map((p) => p.split('/'));

/** Provider ids (`batch_abc`, `resp_…`, `ftjob-…`, `msgbatch_…`): letters, digits, `_` and `-`. */
const ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The only query a cancel may carry (Azure OpenAI's API version). */
const API_VERSION = /^\?api-version=[A-Za-z0-9.-]{1,32}$/;

function isCancelPath(path: string): boolean {
  const segments = path.split('/');
  return PATTERNS.some(
    (pattern) =>
      pattern.length === segments.length &&
      pattern.every((part, i) => (part === '{id}' ? ID.test(segments[i]!) : part === segments[i])),
  );
}

/** A forwarded target's parts: its method, its path (after `/v1`) and its query (`?…` or ''). */
export interface TargetParts {
  method: string;
  path: string;
  query: string;
}

/**
 * The parts of `METHOD /path?query` as forwarded (LlmUnit.forwarded), the one reading of it every
 * LLM stage shares; null when it has no method.
 */
export function targetParts(target: string | undefined): TargetParts | null {
  const space = target?.indexOf(' ') ?? -1;
  if (target === undefined || space < 0) return null;
  const rest = target.slice(space + 1);
  const q = rest.indexOf('?');
  return {
    method: target.slice(0, space),
    path: q < 0 ? rest : rest.slice(0, q),
    query: q < 0 ? '' : rest.slice(q),
  };
}

/**
 * The kind of a passthrough call. `target` is `METHOD /path?query` as forwarded (LlmUnit.forwarded);
 * the path is the part after `/v1`. An unreadable target is `work`.
 */
export function passthroughKind(target: string | undefined): PassthroughKind {
  const parts = targetParts(target);
  if (!parts) return 'work';
  if (READ_METHODS.has(parts.method)) return 'read';
  if (parts.method !== 'POST') return 'work';
  if (parts.query !== '' && !API_VERSION.test(parts.query)) return 'work';
  return isCancelPath(parts.path) ? 'cancel' : 'work';
}
