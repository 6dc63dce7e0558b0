/**
 * Tool integrity on the call core (docs/tool-integrity.md), two stages of the MCP adapter:
 *
 *  - a request stage (`refuseBlocked`): a call to a quarantined item — or, in `fail_closed`
 *    discovery, to an item whose current definition is not approved — is refused
 *    (`tool_not_approved`) before anything is forwarded. Pure: it reads the state the core loaded.
 *  - a response stage (`IntegrityStage`): every `tools/list`, `prompts/list` and `resources/list`
 *    answer is fingerprinted item by item (synchronously, integrity.sha256.ts); items the caller
 *    must not see (quarantined, or not the approved version in fail_closed) are hidden in this very
 *    answer; what was listed is handed to `schedule` — the MCP adapter has it recorded
 *    (integrity.record.ts) through `call.deferred`, which the core runs after the answer: drift is
 *    recorded off the hot path.
 *
 * The integrity stage runs before the per-caller list filter (gateway.lists.ts), so it sees every
 * item the upstream listed: an item hidden from one caller by policy is not "removed".
 */

import type { JsonRpcMessage } from '../gateway/gateway.jsonrpc';
import type { RequestStage, ResponseStage, StageCall, UnitDecision } from '../gateway/gateway.stages';
import { AppError } from '../lib/errors';
import { mayHaveKey } from '../lib/json.keys';
import { isRecord } from '../lib/values';
import {
  governedNameOf,
  type ItemKind,
  LIST_KINDS,
  type ListedItem,
  listedItem,
} from './integrity.fingerprint';
import { type CallIntegrity, hides, refusalFor, type ScanBlock, scanBlockOf } from './integrity.types';

/** What one list answer showed: its items, and whether it was the whole list (no paging). */
export interface ListSnapshot {
  kind: ItemKind;
  items: ListedItem[];
  complete: boolean;
}

/** The request stage: refuse calls to blocked items. */
export const refuseBlocked: RequestStage<JsonRpcMessage> = (call, decisions) => {
  const integrity = call.integrity;
  if (!integrity) return decisions;
  const blocked = scanBlockOf(integrity);
  return decisions.map((d) => {
    if (d.refusal || d.tool === null) return d;
    if (blocked !== null) return { ...d, refusal: connectionBlocked(d.tool, blocked, call.identity.traceId) };
    const why = refusalFor(integrity.mode, integrity.state, d.tool);
    if (why === null) return d;
    return {
      ...d,
      refusal: notApproved(d.tool, why, call.identity.traceId),
    } satisfies UnitDecision<JsonRpcMessage>;
  });
};

function notApproved(name: string, reason: 'quarantined' | 'not_approved', traceId: string): AppError {
  const why =
    reason === 'quarantined'
      ? 'the tool is quarantined after a change to its definition'
      : 'the tool’s current definition has not been approved for this connection';
  return new AppError('tool_not_approved', {
    message: `Tool not approved: ${why} (trace ${traceId})`,
    details: { tool: name, reason },
  });
}

/** A critical finding of the connection's latest scan blocks it (`blockOnCriticalScan`). */
function connectionBlocked(name: string, block: ScanBlock, traceId: string): AppError {
  return new AppError('connection_blocked', {
    message: `Connection blocked: its latest scan has ${block.critical} critical finding(s) to resolve or suppress (trace ${traceId})`,
    details: { tool: name, reason: 'critical_scan_finding', scanId: block.scanId },
  });
}

interface PendingList {
  kind: ItemKind;
  /** A request with a cursor asks for a later page: that answer is not the whole list. */
  paged: boolean;
}

/** JSON text of an id, so that 1 and "1" stay different keys (as gateway.lists.ts). */
const idKey = (id: unknown) => JSON.stringify(id);

/** The list requests of a POST body, by id. */
export function pendingIntegrityLists(messages: readonly JsonRpcMessage[]): Map<string, PendingList> {
  const out = new Map<string, PendingList>();
  for (const m of messages) {
    const spec =
      m.method !== undefined && Object.hasOwn(LIST_KINDS, m.method) ? LIST_KINDS[m.method] : undefined;
    if (!spec || m.id === undefined || m.id === null) continue;
    const paged = isRecord(m.params) && m.params.cursor !== undefined;
    out.set(idKey(m.id), { kind: spec.kind, paged });
  }
  return out;
}

function kindByShape(result: Record<string, unknown>): ItemKind | null {
  for (const spec of Object.values(LIST_KINDS)) if (Array.isArray(result[spec.key])) return spec.kind;
  return null;
}

const keyOf = (kind: ItemKind) => Object.values(LIST_KINDS).find((s) => s.kind === kind)!.key;

/** Receives the call's snapshots once, at the first list answer (later ones join the same array). */
export type ScheduleRecording = (snapshots: readonly ListSnapshot[]) => void;

export class IntegrityStage implements ResponseStage {
  readonly name = 'tool_integrity';
  readonly snapshots: ListSnapshot[] = [];
  readonly #call: StageCall;
  readonly #integrity: CallIntegrity;
  readonly #pending: Map<string, PendingList> | null;
  readonly #schedule: ScheduleRecording;

  /** `pending` null = recognise list answers by shape (a GET stream). */
  constructor(
    call: StageCall,
    integrity: CallIntegrity,
    pending: Map<string, PendingList> | null,
    schedule: ScheduleRecording,
  ) {
    this.#call = call;
    this.#integrity = integrity;
    this.#pending = pending;
    this.#schedule = schedule;
  }

  done(): boolean {
    return this.#pending !== null && this.#pending.size === 0;
  }

  wants(raw: string): boolean {
    return mayHaveKey(raw, 'id');
  }

  onMessage(value: unknown): unknown {
    if (!isRecord(value) || !('id' in value) || 'method' in value || !isRecord(value.result))
      return undefined;
    const pending = this.#take(value.id, value.result);
    if (pending === null) return undefined;
    const key = keyOf(pending.kind);
    const raw = value.result[key] as unknown[];
    const complete = !pending.paged && value.result.nextCursor === undefined;
    const items: ListedItem[] = [];
    const hidden: string[] = [];
    const kept = raw.filter((entry) => {
      const item = listedItem(pending.kind, entry);
      if (item === null) return true; // nameless: the list filter drops it
      items.push(item);
      const name = governedNameOf(item.kind, item.name);
      if (!hides(this.#integrity.mode, this.#integrity.state, name, item.fingerprint)) return true;
      hidden.push(name);
      return false;
    });
    if (this.snapshots.length === 0) this.#schedule(this.snapshots);
    this.snapshots.push({ kind: pending.kind, items, complete });
    if (hidden.length === 0) return undefined;
    if (this.#integrity.mode === 'fail_closed') {
      // A changed definition of an approved item: its calls are refused from this answer on.
      this.#integrity.withdraw?.(hidden.filter((n) => Object.hasOwn(this.#integrity.state.approved, n)));
    }
    this.#call.findings.push({
      stage: this.name,
      kind: 'items_hidden',
      severity: 'info',
      detail: { count: hidden.length, names: hidden.slice(0, 20) },
    });
    return { ...value, result: { ...value.result, [key]: kept } };
  }

  #take(id: unknown, result: Record<string, unknown>): PendingList | null {
    if (this.#pending === null) {
      const kind = kindByShape(result);
      return kind === null ? null : { kind, paged: true }; // a replay: never treated as the whole list
    }
    const pending = this.#pending.get(idKey(id)) ?? null;
    this.#pending.delete(idKey(id));
    return pending !== null && Array.isArray(result[keyOf(pending.kind)]) ? pending : null;
  }
}

/** The MCP adapter's integrity stage for one call, or null when it has nothing to do. */
export function integrityStage(
  call: StageCall,
  pending: Map<string, PendingList> | null,
  schedule: ScheduleRecording,
): IntegrityStage | null {
  // 'off': the state was read only for a scan block; nothing is fingerprinted or hidden.
  if (!call.integrity || call.integrity.mode === 'off') return null;
  if (pending !== null && pending.size === 0) return null;
  return new IntegrityStage(call, call.integrity, pending, schedule);
}
