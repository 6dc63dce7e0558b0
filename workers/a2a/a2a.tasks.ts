/**
 * A2A task tracking, the pure half (docs/a2a.md#tasks): a response stage that reads, from each
 * message of an agent's answer (the JSON body or each SSE event), the task it reports on, every
 * new lifecycle state, and the metadata of the messages and artifacts exchanged — and leaves one
 * piece of deferred work that writes them (a2a.tasks.store.ts) once the answer has ended, off the
 * hot path. Nothing is read from D1 per call.
 *
 * Shapes read: A2A v1.0 (`{task}`, `{message}`, `{statusUpdate}`, `{artifactUpdate}` results,
 * `TASK_STATE_*`, `ROLE_*`) and v0.3 (`kind: "task" | "message" | "status-update" |
 * "artifact-update"`, lower-case states and roles).
 *
 * Message metadata: id, role, each part's kind, media type and size, and the message's own
 * `metadata` object. The text and data of parts only when the connection's `logContent` is on.
 */
import type { DeferredWork, ResponseStage, StageCall } from '../gateway/gateway.stages';
import { mayHaveKey } from '../lib/json.keys';
import { isRecord } from '../lib/values';

/** Characters kept of one part's text (or data's JSON) when content is logged. */
const MAX_CONTENT_CHARS = 4000;
/** Bytes of a message's `metadata` object kept (its JSON); a larger one is noted as truncated. */
const MAX_METADATA_CHARS = 2000;
/** Message and artifact events recorded per call (a long stream keeps its first ones). */
const MAX_ITEMS_PER_CALL = 100;
const MAX_ID = 200;

export interface PartMeta {
  kind: string;
  mediaType?: string;
  /** Characters of a text part, of a data part's JSON, or of a file's name/URL. */
  size: number;
  content?: unknown;
}

export interface MessageMeta {
  messageId: string | null;
  role: string | null;
  parts: PartMeta[];
  metadata?: unknown;
  /** Artifacts: their id and name. */
  artifactId?: string;
  name?: string;
}

export interface TaskItem {
  kind: 'request' | 'message' | 'artifact';
  taskId: string;
  detail: MessageMeta;
  at: number;
}

export interface TaskState {
  taskId: string;
  contextId: string | null;
  state: string;
  at: number;
}

/** Everything one call saw of its tasks, written at the answer's end. */
export interface TaskReport {
  orgId: string;
  connectionId: string;
  slug: string;
  method: string | null;
  skill: string | null;
  /** Who called (the task's creator when the call is a send): API key id and X-Igris-User. */
  apiKeyId: string | null;
  user: string | null;
  traceId: string;
  states: TaskState[];
  items: TaskItem[];
}

/** What the stage needs to know about the request (a2a.stages.ts `A2aUnit`). */
export interface TrackedRequest {
  canonical: string | null;
  skill: string | null;
  taskId: string | null;
  params: unknown;
  logContent: boolean;
}

const cap = (value: unknown): string | null =>
  typeof value === 'string' && value !== '' ? value.slice(0, MAX_ID) : null;

/** v1.0 `TASK_STATE_INPUT_REQUIRED` and v0.3 `input-required` read the same: `input-required`. */
export function stateName(state: unknown): string | null {
  if (typeof state !== 'string' || state === '') return null;
  return state
    .replace(/^TASK_STATE_/, '')
    .toLowerCase()
    .replace(/_/g, '-')
    .slice(0, 40);
}

function roleName(role: unknown): string | null {
  if (typeof role === 'number') return role === 1 ? 'user' : role === 2 ? 'agent' : null;
  return typeof role === 'string'
    ? role
        .replace(/^ROLE_/, '')
        .toLowerCase()
        .slice(0, 20)
    : null;
}

function clipped(text: string): string {
  return text.length > MAX_CONTENT_CHARS ? `${text.slice(0, MAX_CONTENT_CHARS)}…` : text;
}

function partMeta(part: unknown, logContent: boolean): PartMeta | null {
  if (!isRecord(part)) return null;
  const mediaType = typeof part.mediaType === 'string' && part.mediaType !== '' ? part.mediaType : undefined;
  const meta = (kind: string, size: number, content?: unknown): PartMeta => ({
    kind,
    ...(mediaType ? { mediaType: mediaType.slice(0, 100) } : {}),
    size,
    ...(logContent && content !== undefined ? { content } : {}),
  });
  if (typeof part.text === 'string') return meta('text', part.text.length, clipped(part.text));
  if (part.data !== undefined && part.data !== null) {
    const json = JSON.stringify(part.data) ?? '';
    return meta('data', json.length, json.length > MAX_CONTENT_CHARS ? clipped(json) : part.data);
  }
  // Files (v1.0 `raw` / `url`, v0.3 `file`): only their kind and size, never their bytes.
  if (typeof part.url === 'string') return meta('file', part.url.length);
  if (typeof part.raw === 'string') return meta('file', part.raw.length);
  if (isRecord(part.file)) return meta('file', JSON.stringify(part.file).length);
  return meta(typeof part.kind === 'string' ? part.kind.slice(0, 20) : 'unknown', 0);
}

/** A message's (or artifact's) metadata, content only with `logContent`. */
export function messageMeta(message: Record<string, unknown>, logContent: boolean): MessageMeta {
  const parts = Array.isArray(message.parts) ? message.parts : [];
  const out: MessageMeta = {
    messageId: cap(message.messageId),
    role: roleName(message.role),
    parts: parts.slice(0, 50).flatMap((p) => partMeta(p, logContent) ?? []),
  };
  if (isRecord(message.metadata)) {
    const json = JSON.stringify(message.metadata);
    out.metadata =
      json.length > MAX_METADATA_CHARS ? { truncated: true, size: json.length } : message.metadata;
  }
  return out;
}

type Kind = 'task' | 'message' | 'status' | 'artifact' | null;

/** Which kind of result this is, and its inner object (v1.0 wraps it, v0.3 names it with `kind`). */
function unwrap(result: Record<string, unknown>): [Kind, Record<string, unknown>] {
  if (isRecord(result.task)) return ['task', result.task];
  if (isRecord(result.message)) return ['message', result.message];
  if (isRecord(result.statusUpdate)) return ['status', result.statusUpdate];
  if (isRecord(result.artifactUpdate)) return ['artifact', result.artifactUpdate];
  switch (result.kind) {
    case 'task':
      return ['task', result];
    case 'message':
      return ['message', result];
    case 'status-update':
      return ['status', result];
    case 'artifact-update':
      return ['artifact', result];
  }
  // A v1.0 GetTask / CancelTask answer is the task itself.
  if (typeof result.id === 'string' && isRecord(result.status)) return ['task', result];
  return [null, result];
}

/** The response stage that tracks the call's tasks; it changes nothing in the answer. */
export function taskTrackStage(
  call: StageCall,
  request: TrackedRequest,
  slug: string,
  write: (report: TaskReport) => DeferredWork,
): ResponseStage {
  const report: TaskReport = {
    orgId: call.orgId,
    connectionId: call.connectionId,
    slug,
    method: request.canonical,
    skill: request.skill,
    apiKeyId: call.apiKeyId ?? null,
    user: call.identity.user,
    traceId: call.identity.traceId,
    states: [],
    items: [],
  };
  let scheduled = false;
  let requestRecorded = false;
  let lastAt = 0;
  const now = () => {
    lastAt = Math.max(Date.now(), lastAt + 1); // strictly increasing: the order the gateway saw
    return lastAt;
  };
  const lastState = new Map<string, string>();
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    call.deferred ??= [];
    call.deferred.push(write(report));
  };
  const item = (kind: TaskItem['kind'], taskId: string, message: Record<string, unknown>) => {
    if (report.items.length >= MAX_ITEMS_PER_CALL) return null;
    const entry: TaskItem = { kind, taskId, detail: messageMeta(message, request.logContent), at: now() };
    report.items.push(entry);
    return entry;
  };
  /** The caller's message belongs to the first task the answer names (or the one it continues). */
  const recordRequest = (taskId: string) => {
    if (requestRecorded) return;
    requestRecorded = true;
    const params = request.params;
    if (isRecord(params) && isRecord(params.message)) item('request', taskId, params.message);
  };
  return {
    name: 'a2a_task_tracking',
    // Escape-aware (json.keys.ts): a `"r\u0065sult"` key parses as `result` all the same.
    wants: (raw) => mayHaveKey(raw, 'result'),
    onMessage(message) {
      if (!isRecord(message) || !isRecord(message.result)) return undefined;
      const [kind, inner] = unwrap(message.result);
      if (kind === null) return undefined;
      const taskId = cap(kind === 'task' ? inner.id : inner.taskId);
      if (!taskId) return undefined; // a message answer outside any task: nothing to track
      schedule();
      recordRequest(taskId);
      const status = isRecord(inner.status) ? inner.status : null;
      const state = stateName(status?.state);
      if (state && lastState.get(taskId) !== state) {
        lastState.set(taskId, state);
        report.states.push({ taskId, contextId: cap(inner.contextId), state, at: now() });
      }
      if (status && isRecord(status.message)) item('message', taskId, status.message);
      if (kind === 'message') item('message', taskId, inner);
      const artifacts = kind === 'artifact' ? [inner.artifact] : kind === 'task' ? inner.artifacts : [];
      if (Array.isArray(artifacts)) {
        for (const artifact of artifacts) {
          if (!isRecord(artifact)) continue;
          const entry = item('artifact', taskId, artifact);
          const id = cap(artifact.artifactId);
          if (entry && id) entry.detail.artifactId = id;
          if (entry && typeof artifact.name === 'string') entry.detail.name = artifact.name.slice(0, 200);
        }
      }
      return undefined;
    },
  };
}
