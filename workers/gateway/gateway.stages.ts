/**
 * The two kinds of stage the call core (gateway.call.ts) runs, each with one signature.
 *
 * Request stages run after the policy decided every governed unit and before the guard: they see
 * the decided units and may refuse one (a detection on tool arguments, a budget) or attach
 * findings to it. They are pure over the call; anything they need (a compiled rule set) is loaded
 * before them.
 *
 * Response stages run on the upstream's answer, one message at a time: the JSON body, each item
 * of a JSON-RPC batch, each SSE event's JSON data (gateway.rewrite.ts does the splitting, the same
 * way for every stage). A stage may replace a message and may record findings; findings travel
 * with the call's outcome to the guard and land in the audit row's `details.findings` and in the
 * live event (see "Findings reach the audit row" in docs/architecture.md).
 *
 * Adding a stage is a file and a line: write the stage, then list it in its protocol adapter's
 * `requestStages` / `responseStages` (or in SHARED_* below for every protocol).
 */
import type { Finding } from '../../durable-objects/guard.contract';
import type { TeamRef } from '../governance/governance.types';
import type { CallInspection } from '../inspection/inspection.types';
import type { CallIntegrity } from '../integrity/integrity.types';
import type { AppError } from '../lib/errors';
import type { CompiledPolicy, Decision } from '../policy/policy.evaluate';
import type { SelectedPrompt } from '../prompts/prompt.select';
import type { CallIdentity } from './gateway.identity';

export type { Finding } from '../../durable-objects/guard.contract';

/** One governed unit of a call with its decision (an MCP JSON-RPC message, an LLM request…). */
export interface UnitDecision<U = unknown> {
  unit: U;
  /** The governed name (tool, `resource:…`, `prompt:…`, model), null when the unit is not governed. */
  tool: string | null;
  decision: Decision | null;
  /** Set when this unit must not be forwarded. */
  refusal: AppError | null;
  /** True when the refusal is only because another unit of its batch was refused. */
  withBatch?: boolean;
  /**
   * MCP, connection with `logContent`: the unit's arguments go into its audit row (`details.args`),
   * so a what-if replay can evaluate `args.*` conditions against them (policy.replay.ts).
   */
  recordArgs?: boolean;
  findings?: Finding[];
}

/** What every stage may read about the call it is working on. */
export interface StageCall {
  orgId: string;
  connectionId: string;
  /** The caller's API key (null for an OAuth access token): recorded with the A2A tasks it creates. */
  apiKeyId?: string | null;
  identity: CallIdentity;
  policy: CompiledPolicy | null;
  /** The call's teams (its key's, its member's, its user's: governance.cache.ts `teamsOf`). */
  teams: readonly TeamRef[];
  /** The governed system prompt that applies to the call (prompt.select.ts), null when none. */
  prompt: SelectedPrompt | null;
  /** For prompt variables: the organization's name and the connection's slug. */
  orgName: string;
  connectionSlug: string;
  /** Where a stage records what it noticed; the core sends them with the outcome. */
  findings: Finding[];
  /** Tool integrity (workers/integrity/): the connection's mode and hot-path state; null when off or not MCP. */
  integrity?: CallIntegrity | null;
  /** Content inspection (workers/inspection/): the connection's engine and this call's state; null when off. */
  inspection?: CallInspection | null;
  /**
   * Work a stage leaves for after the answer (e.g. recording what a list showed): the core runs
   * each off the hot path (waitUntil) once the answer has ended. The stage itself stays pure.
   */
  deferred?: Array<DeferredWork>;
  /** MCP: the caller's well-formed `Mcp-Session-Id`, or null: minted server-request ids are bound to it. */
  mcpSessionId?: string | null;
  /** Who calls, as audit rows name it (`key:<id>`, `user:<id>`): minted server-request ids are bound to it too. */
  actor?: string | null;
  /**
   * MCP: the keys of minted server-request ids (mcp.server-ids.ts), current first; empty when the
   * Worker has none (then nothing is minted and every client response is refused). A function:
   * asked only by MCP (per isolate, the keys are derived once: serverIdKeys).
   */
  serverIdKeys?: () => readonly Uint8Array[];
  /** A2A ListTasks: the caller's own task ids, from the guard's admit (a2a.task.list.ts filters to them). */
  ownedTasks?: readonly string[];
}

/**
 * Work left for after the answer; it receives the Worker's bindings (`Env`, typed `object` here
 * so that this module stays free of Worker globals for the plain-Node unit tests).
 */
export type DeferredWork = (env: object) => Promise<void>;

export type RequestStage<U = unknown> = (call: StageCall, decisions: UnitDecision<U>[]) => UnitDecision<U>[];

export interface ResponseStage {
  readonly name: string;
  /**
   * Cheap pre-check on an SSE event's raw data, or a JSON body's text: false means "nothing for me
   * here" and spares the JSON parse (when no stage wants it). Absent means every message is wanted.
   * It must answer true for any text holding a message the stage would act on (json.keys.ts).
   */
  wants?(raw: string): boolean;
  /**
   * One message of the answer. Returns its replacement, undefined to keep it unchanged, or DROP to
   * remove it (an SSE event, or a batch item) from what the caller receives.
   */
  onMessage(message: unknown): unknown;
  /** True once the stage will change nothing more in this answer (lets the rest pass unparsed). */
  done?(): boolean;
  /**
   * The answer ended — read to its end, broken off, or the caller left — before the call's outcome
   * is settled: a stage that looks at an answer in pieces looks at what it still holds, and may
   * record findings (LLM inspection scans the texts a stream did not say had ended).
   */
  finish?(): void;
  /**
   * An answer that is neither JSON nor SSE (JSONL, text, octet-stream), or JSON that does not
   * parse: present when the stage must read it (LLM passthrough inspection). The body is then read
   * whole, at most MAX_ANSWER_MESSAGE_BYTES (gateway.answer-body.ts), before any of it is sent.
   * Returns its replacement, undefined to keep it; throws an AppError to refuse it.
   */
  onBody?(bytes: Uint8Array): Uint8Array | undefined;
  /**
   * An upstream error answer (a non-2xx) with a body: present when the stage must read it (content
   * inspection, inspection.error-answer.ts; such a stage is `done` for every 2xx message). The
   * body is read once, whole — at most ERROR_BODY_CAP_BYTES, the injected credential already
   * redacted from it (gateway.redact.ts) — before any of it is sent (gateway.error-answer.ts).
   * Returns its replacement, undefined to keep it; throws an AppError to refuse it.
   */
  onErrorBody?(bytes: Uint8Array): Uint8Array | undefined;
  /**
   * Present when this answer, if streamed, is to be read whole before any of it is sent (LLM
   * inspection's `streamMode: "hold"`, gateway.hold.ts).
   */
  hold?: StreamHold;
}

/** A stage's side of a held stream (gateway.hold.ts). */
export interface StreamHold {
  /** The answer is a stream that will be held: `onMessage` only prepares, `settle` decides. */
  begin(): void;
  /**
   * Every event has gone through `onMessage` and the stages have finished: the held messages (as
   * they would be sent), to refuse (a refusal returned) or rewrite in place (`changed`).
   */
  settle(messages: readonly unknown[]): { refusal: AppError | null; changed: ReadonlySet<unknown> };
}

/**
 * Builds a call's response stage, or null when it has nothing to do for this call (so a call with
 * no stage at all is piped untouched). The stage keeps `call` to record findings in
 * `call.findings`. `context` is the adapter's own per-call knowledge (for MCP: which JSON-RPC ids
 * were list requests).
 */
export type ResponseStageFactory<C = unknown> = (call: StageCall, context: C) => ResponseStage | null;

/** What `onMessage` returns to remove a message from the answer. */
export const DROP: unique symbol = Symbol('drop');

/** A request stage for every protocol: it works on units of any shape. */
export type SharedRequestStage = <U>(call: StageCall, decisions: UnitDecision<U>[]) => UnitDecision<U>[];

/** Request stages every protocol runs, in order, after its own. */
export const SHARED_REQUEST_STAGES: SharedRequestStage[] = [];
/** Response stages every protocol runs, in order, after its own. */
export const SHARED_RESPONSE_STAGES: ResponseStageFactory[] = [];
