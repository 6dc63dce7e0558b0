/**
 * An answer that is neither JSON nor SSE — JSONL (a Message Batch's results, a batch's output
 * file), plain text, octet-stream — or JSON that does not parse, for a stage that reads such
 * bodies (`ResponseStage.onBody`: LLM passthrough inspection, inspection.passthrough-answer.ts).
 * Without such a stage the body passes untouched, unread (gateway.rewrite.ts). With one, it is
 * read whole first — at most MAX_ANSWER_MESSAGE_BYTES, the cap a JSON answer has; over it the
 * answer is refused (`upstream_too_large`), never passed uninspected — and sent only once every
 * such stage has passed (or rewritten) it. A stage's refusal (an AppError thrown) is the answer's:
 * nothing of the body is sent.
 *
 * An SSE event whose data is not JSON (the rewriter parses the others) is such a body too: its data
 * goes through the same stages, event by event (`otherEventData`) — what is not understood is read,
 * not passed unread.
 */
import { AppError } from '../lib/errors.js';
import type { SseEvent } from './gateway.sse.js';
import type { ResponseStage } from './gateway.stages.js';

/** True when a stage reads the bodies the rewriter otherwise passes untouched. */
export function readsBodies(stages: readonly ResponseStage[]): boolean {
  return stages.some((stage) => stage.onBody !== undefined && !stage.done?.());
}

/** The body through each stage's `onBody`, as the answer the caller gets; refusals thrown. */
export function bodyThroughStages(
  response: Response,
  bytes: Uint8Array,
  stages: readonly ResponseStage[],
  onBodyDone: (how: 'complete' | 'error', err?: AppError) => void,
): Response {
  let current = bytes;
  try {
    for (const stage of stages) {
      if (!stage.onBody || stage.done?.()) continue;
      current = stage.onBody(current) ?? current;
    }
  } catch (err) {
    if (err instanceof AppError) onBodyDone('error', err);
    throw err;
  }
  onBodyDone('complete');
  const init = { status: response.status, statusText: response.statusText, headers: response.headers };
  return new Response(current as Uint8Array<ArrayBuffer>, init);
}

/**
 * An SSE event whose data is not JSON, through each stage's `onBody`: the event as rewritten, or
 * null when no stage reads it or none changed it. A stage's refusal is thrown (the stream ends).
 */
export function otherEventData(event: SseEvent, stages: readonly ResponseStage[]): string | null {
  if (event.data === null || !readsBodies(stages)) return null;
  let bytes: Uint8Array = new TextEncoder().encode(event.data);
  let changed = false;
  for (const stage of stages) {
    if (!stage.onBody || stage.done?.()) continue;
    const out = stage.onBody(bytes);
    if (out === undefined) continue;
    bytes = out;
    changed = true;
  }
  if (!changed) return null;
  // Each line of the data its own `data:` field, the event's other fields kept.
  const lines: string[] = [];
  let written = false;
  for (const [name, value] of event.fields) {
    if (name !== 'data') lines.push(value === '' ? `${name}:` : `${name}: ${value}`);
    else if (!written) {
      for (const line of new TextDecoder().decode(bytes).split('\n')) lines.push(`data: ${line}`);
      written = true;
    }
  }
  return `${lines.join('\n')}\n\n`;
}
