/**
 * What the Observe screen draws, kept outside React so it survives navigating away and back:
 * the recent event list, per-10-second counters (request, deny, alert rates), and the risk heat
 * map cells (tool × user and tool × minute) with their deny, alert and anomaly counts, and the
 * content-inspection detections by category × severity (from the findings events carry).
 *
 * Fed by the live stream and, once per organization, back-filled from the audit trail so the
 * charts are not empty on first open. Pure (no DOM), so it is easy to reason about.
 */
import type { AuditEvent, GatewayEvent, ToolCallEvent } from '../api/api.types';

export const BUCKET_MS = 10_000;
export const WINDOW_MS = 15 * 60_000;
export const HEAT_BUCKET_MS = 60_000;
const MAX_EVENTS = 300;

export type Outcome = 'allow' | 'deny' | 'alert' | 'error';

/** Gateway actions grouped the way a security engineer reads them. */
export function outcomeOf(action: string): Outcome {
  // `approve`: a call whose approval was consumed (it was forwarded); a held one is `approval_required`.
  if (action === 'allow' || action === 'pass' || action === 'approve') return 'allow';
  if (action === 'alert' || action === 'approval_required') return 'alert';
  if (action === 'error') return 'error';
  return 'deny'; // deny, killed, rate_limited, unauthenticated, forbidden…
}

export interface Counts {
  calls: number;
  deny: number;
  alert: number;
  anomaly: number;
  /** Forwarded calls whose upstream failed (unreachable, timed out, 5xx). */
  failed: number;
}

export const zero = (): Counts => ({ calls: 0, deny: 0, alert: 0, anomaly: 0, failed: 0 });

/** A tool_call event whose upstream failed: counted apart, never as a success. */
function upstreamFailed(event: GatewayEvent): boolean {
  return isCall(event) && (event.outcome === 'upstream_error' || event.outcome === 'timeout');
}

export interface StreamItem {
  key: string;
  receivedAt: number;
  event: GatewayEvent;
  /** True for events that arrived live (not back-filled), so new anomalies can flash. */
  live: boolean;
  /** The heat map cells this event was counted in (null: not a tool-level event). */
  cell: { tool: string; user: string; minute: number } | null;
}

function timeOf(event: GatewayEvent): number {
  const ms = Date.parse(event.timestamp);
  return Number.isFinite(ms) ? ms : Date.now();
}

export class ObserveStore {
  #items: StreamItem[] = [];
  #buckets = new Map<number, Counts>();
  #byUser = new Map<string, Map<string, Counts>>();
  #byMinute = new Map<string, Map<number, Counts>>();
  /** Inspection findings per category, then per severity. */
  #detections = new Map<string, Map<string, number>>();
  /** Who last called a tool on a connection: anomalies carry no user, so they land on that cell. */
  #lastCaller = new Map<string, string>();
  #seen = new Set<string>();
  #listeners = new Set<() => void>();
  #version = 0;
  #seq = 0;
  backfilledFor: string | null = null;

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  getVersion = (): number => this.#version;

  #changed(): void {
    this.#version++;
    for (const listener of this.#listeners) listener();
  }

  reset(): void {
    this.#items = [];
    this.#buckets.clear();
    this.#byUser.clear();
    this.#byMinute.clear();
    this.#detections.clear();
    this.#lastCaller.clear();
    this.#seen.clear();
    this.backfilledFor = null;
    this.#changed();
  }

  /** Adds one event; `key` de-duplicates a replayed or back-filled event. */
  add(event: GatewayEvent, key: string | null, live: boolean): boolean {
    const item = this.#accept(event, key, live);
    if (!item) return false;
    this.#items.unshift(item);
    if (this.#items.length > MAX_EVENTS) this.#items.length = MAX_EVENTS;
    this.#changed();
    return true;
  }

  /** Counts an event not seen before and returns its list item (null: seen already). */
  #accept(event: GatewayEvent, key: string | null, live: boolean): StreamItem | null {
    const id = key ?? `local-${this.#seq++}`;
    if (this.#seen.has(id)) return null;
    this.#seen.add(id);
    const cell = this.#count(event);
    this.#countDetections(event);
    return { key: id, receivedAt: Date.now(), event, live, cell };
  }

  #count(event: GatewayEvent): StreamItem['cell'] {
    if (!isCall(event) && event.type !== 'anomaly') return null;
    const at = timeOf(event);
    const bucket = Math.floor(at / BUCKET_MS) * BUCKET_MS;
    const counts = this.#buckets.get(bucket) ?? zero();
    // Heat map rows are tools: protocol traffic (initialize, tools/list…) only counts in the rates.
    const tool = event.toolName ?? (event.type === 'anomaly' ? '(whole connection)' : null);
    let user: string;
    if (isCall(event)) {
      user = event.user ?? '(no user)';
      this.#lastCaller.set(`${event.serverId}:${tool}`, user);
      counts.calls++;
      const outcome = outcomeOf(event.action);
      if (outcome === 'deny') counts.deny++;
      if (outcome === 'alert') counts.alert++;
      if (upstreamFailed(event)) counts.failed++;
    } else {
      user = this.#lastCaller.get(`${event.serverId}:${tool}`) ?? '(no user)';
      counts.anomaly++;
    }
    this.#buckets.set(bucket, counts);
    if (tool === null) return null;
    const minute = Math.floor(at / HEAT_BUCKET_MS) * HEAT_BUCKET_MS;
    this.#bump(this.#byUser, tool, user, event);
    this.#bump(this.#byMinute, tool, minute, event);
    return { tool, user, minute };
  }

  /** A call's inspection findings, or a streamed answer's late ones (`findings` events). */
  #countDetections(event: GatewayEvent): void {
    const findings = isCall(event) || event.type === 'findings' ? (event.findings ?? []) : [];
    for (const f of findings) {
      if (f.stage !== 'inspection' || f.kind === 'truncated') continue;
      const category = typeof f.detail?.category === 'string' ? f.detail.category : 'other';
      const row = this.#detections.get(category) ?? new Map<string, number>();
      const severity = f.severity ?? 'low';
      row.set(severity, (row.get(severity) ?? 0) + 1);
      this.#detections.set(category, row);
    }
  }

  #bump<K>(grid: Map<string, Map<K, Counts>>, tool: string, column: K, event: GatewayEvent): void {
    const row = grid.get(tool) ?? new Map<K, Counts>();
    const cell = row.get(column) ?? zero();
    if (event.type === 'anomaly') cell.anomaly++;
    else if (isCall(event)) {
      cell.calls++;
      const outcome = outcomeOf(event.action);
      if (outcome === 'deny') cell.deny++;
      if (outcome === 'alert') cell.alert++;
      if (upstreamFailed(event)) cell.failed++;
    }
    row.set(column, cell);
    grid.set(tool, row);
  }

  /**
   * Seeds the counters from audit rows (given newest first; counted oldest first), without flashing
   * anything. The rows are all older than what the stream carries (live.context.tsx splits the two at
   * one instant), and the stream's replay usually arrives first: they go below it in the list.
   */
  backfill(orgId: string, rows: AuditEvent[]): void {
    const older: StreamItem[] = [];
    for (const row of [...rows].reverse()) {
      const event = auditToEvent(row);
      const item = event ? this.#accept(event, `audit:${row.id}`, false) : null;
      if (item) older.unshift(item);
    }
    this.#items = [...this.#items, ...older].slice(0, MAX_EVENTS);
    this.backfilledFor = orgId;
    this.#changed();
  }

  items(): StreamItem[] {
    return this.#items;
  }

  /** Per-bucket series over the last WINDOW_MS, ending now (empty buckets are zeros). */
  series(now = Date.now()): {
    t: number[];
    calls: number[];
    deny: number[];
    alert: number[];
    anomaly: number[];
  } {
    const end = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    const out = {
      t: [] as number[],
      calls: [] as number[],
      deny: [] as number[],
      alert: [] as number[],
      anomaly: [] as number[],
    };
    for (let at = end - WINDOW_MS + BUCKET_MS; at <= end; at += BUCKET_MS) {
      const c = this.#buckets.get(at) ?? zero();
      out.t.push(at / 1000);
      // Per minute, so the axis reads the same whatever the bucket width.
      const perMinute = 60_000 / BUCKET_MS;
      out.calls.push(c.calls * perMinute);
      out.deny.push(c.deny * perMinute);
      out.alert.push(c.alert * perMinute);
      out.anomaly.push(c.anomaly);
    }
    return out;
  }

  /** Totals over the window, for the headline numbers. */
  totals(now = Date.now()): Counts {
    const total = zero();
    for (const [at, c] of this.#buckets) {
      if (at <= now - WINDOW_MS) continue;
      total.calls += c.calls;
      total.deny += c.deny;
      total.alert += c.alert;
      total.anomaly += c.anomaly;
      total.failed += c.failed;
    }
    return total;
  }

  heatByUser(): Map<string, Map<string, Counts>> {
    return this.#byUser;
  }

  heatByMinute(): Map<string, Map<number, Counts>> {
    return this.#byMinute;
  }

  /** Inspection detections: category → severity → count. */
  detectionHeat(): Map<string, Map<string, number>> {
    return this.#detections;
  }
}

/**
 * An audit row as the live event it was: every call message that reached a connection's guard
 * (the guard publishes a `tool_call` event for each, whatever its method — the guard also sets
 * the row's sessionId, which refusals before it lack) and anomalies. Seeding with exactly what the
 * stream would have carried keeps the counters from jumping on a reload.
 */
export function auditToEvent(row: AuditEvent): GatewayEvent | null {
  if (row.connectionId && row.sessionId) {
    // The fields every call event carries (the guard's #publishCall).
    const call = {
      serverId: row.connectionId,
      sessionId: row.sessionId,
      toolName: row.tool,
      method: row.method,
      action: row.action,
      outcome: row.outcome,
      upstreamStatus: row.upstreamStatus,
      errorCode: row.errorCode,
      latencyMs: row.latencyMs,
      user: row.user,
      traceId: row.traceId,
      timestamp: row.createdAt,
      // What the call's stages found (inspection, tool integrity…), as its live event carried them.
      ...findingsOf(row),
    };
    // An LLM call's event is published when its answer has ended, with its usage (the guard's llmCallEvent).
    if (row.type === 'llm_call') {
      return {
        ...call,
        type: 'llm_call',
        model: row.model,
        inputTokens: row.inputTokens,
        cachedInputTokens: row.cachedInputTokens,
        outputTokens: row.outputTokens,
        reasoningTokens: row.reasoningTokens,
        costUsd: row.costUsd,
      };
    }
    // A2A calls are published as `tool_call` events too.
    if (row.type === 'tool_call' || row.type === 'request' || row.type === 'a2a_call') {
      return { ...call, type: 'tool_call' };
    }
  }
  if (row.type === 'anomaly' && row.connectionId) {
    const details = (row.details ?? {}) as { currentRate?: number; threshold?: number };
    return {
      type: 'anomaly',
      serverId: row.connectionId,
      anomalyType: row.action === 'rate_spike' ? 'rate_spike' : 'destructive_pattern',
      toolName: row.tool,
      currentRate: typeof details.currentRate === 'number' ? details.currentRate : null,
      threshold: typeof details.threshold === 'number' ? details.threshold : null,
      timestamp: row.createdAt,
    };
  }
  return null;
}

function findingsOf(row: AuditEvent): { findings?: ToolCallEvent['findings'] } {
  const findings = (row.details as { findings?: unknown } | null | undefined)?.findings;
  return Array.isArray(findings) ? { findings: findings as ToolCallEvent['findings'] } : {};
}

export const observeStore = new ObserveStore();

/** A call event: an MCP message (`tool_call`) or an LLM call (`llm_call`, the model as its tool). */
export function isCall(
  event: GatewayEvent,
): event is Extract<GatewayEvent, { type: 'tool_call' | 'llm_call' }> {
  return event.type === 'tool_call' || event.type === 'llm_call';
}
