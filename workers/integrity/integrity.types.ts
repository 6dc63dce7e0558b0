/**
 * Tool integrity's hot-path types and the two pure questions the gateway asks per call: is a call
 * to this item refused (`refusalFor`), is this listed item hidden (`hides`). No I/O; the state
 * comes from KV (integrity.state.ts).
 */
import { normalizeName } from '../policy/policy.normalize';

export type DiscoveryMode = 'off' | 'alert' | 'fail_closed';

export interface IntegrityState {
  /** Quarantined governed names (→ why): refused and hidden in every mode but off. */
  blocked: Record<string, string>;
  /**
   * Governed name → fingerprint, for items whose current definition is the approved one: in
   * fail_closed, the only items listed and callable.
   */
  approved: Record<string, string>;
  /**
   * Governed tool name → the boolean hints (readOnlyHint, destructiveHint, idempotentHint,
   * openWorldHint) of its **pinned** (approved) definition: what policy `annotations.*`
   * conditions read. Never the live answer's: an upstream cannot make its tool "read-only".
   * Absent in states published before annotations were kept.
   */
  annotations?: Record<string, Record<string, boolean>>;
  /**
   * The connection's latest completed scan, when it has unsuppressed critical findings (null or
   * absent: none). Refuses every call when the connection sets `blockOnCriticalScan`.
   */
  scanBlock?: ScanBlock | null;
}

export interface ScanBlock {
  scanId: string;
  critical: number;
  /**
   * Set when every critical finding is suppressed but a suppression expires: the block applies
   * from this time (ms) — an expired suppression blocks again without anything being re-published.
   */
  from?: number;
}

export const EMPTY_STATE: IntegrityState = Object.freeze({
  blocked: {},
  approved: {},
  annotations: {},
  scanBlock: null,
}) as IntegrityState;

/** The scan that blocks every call of the connection, or null. */
export function scanBlockOf(integrity: CallIntegrity, now = Date.now()): ScanBlock | null {
  return integrity.blockOnCriticalScan ? blockInForce(integrity.state.scanBlock ?? null, now) : null;
}

/** The block if it applies at `now` (a block `from` a suppression's expiry applies from then on). */
export function blockInForce(block: ScanBlock | null, now: number): ScanBlock | null {
  return block !== null && (block.from === undefined || now >= block.from) ? block : null;
}

const HINTS = ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const;

/** The boolean hints of a tool definition's `annotations` (others are dropped), or null when none. */
export function hintsOf(definition: Record<string, unknown> | null): Record<string, boolean> | null {
  const annotations = definition?.annotations;
  if (typeof annotations !== 'object' || annotations === null || Array.isArray(annotations)) return null;
  const out: Record<string, boolean> = {};
  let any = false;
  for (const hint of HINTS) {
    const value = (annotations as Record<string, unknown>)[hint];
    if (typeof value === 'boolean') {
      out[hint] = value;
      any = true;
    }
  }
  return any ? out : null;
}

/** The pinned annotations of `governedName` for a policy decision (null: none pinned). */
export function pinnedAnnotations(
  integrity: { state: IntegrityState } | null | undefined,
  governedName: string,
): Readonly<Record<string, boolean>> | null {
  const all = integrity?.state.annotations;
  return all !== undefined && Object.hasOwn(all, governedName) ? all[governedName]! : null;
}

/** What a call through an MCP connection knows about its integrity settings and state (StageCall.integrity). */
export interface CallIntegrity {
  /** 'off' only when the state is read for `blockOnCriticalScan` alone (nothing is fingerprinted). */
  mode: DiscoveryMode;
  quarantineOnCritical: boolean;
  blockOnCriticalScan: boolean;
  slug: string;
  state: IntegrityState;
  /**
   * Withdraws, in this isolate at once, the approval of items a list answer showed with another
   * definition (fail_closed): calls to them are refused from now on, not only once the change is
   * recorded after the answer.
   */
  withdraw?: (governedNames: readonly string[]) => void;
}

/** Quarantined names in the policy's comparable form, computed once per published `blocked` map. */
const comparableBlocked = new WeakMap<Record<string, string>, ReadonlySet<string>>();

/**
 * Whether `governedName` is quarantined under any spelling the policy treats as the same name
 * (policy.normalize.ts: case, compatibility forms, common Cyrillic/Greek look-alikes): an upstream
 * that reads `Echo` or `ech\u043e` as `echo` must not run a quarantined `echo`. Only refusals widen
 * this way; approvals (fail_closed) stay exact, as widening an allow-list would let a different
 * item through on an upstream that tells `Echo` from `echo`.
 */
export function isQuarantined(state: IntegrityState, governedName: string): boolean {
  if (Object.hasOwn(state.blocked, governedName)) return true;
  let comparable = comparableBlocked.get(state.blocked);
  if (comparable === undefined) {
    comparable = new Set(Object.keys(state.blocked).map(normalizeName));
    comparableBlocked.set(state.blocked, comparable);
  }
  return comparable.size > 0 && comparable.has(normalizeName(governedName));
}

/** Why a call to `governedName` is refused, or null when integrity has nothing against it. */
export function refusalFor(
  mode: DiscoveryMode,
  state: IntegrityState,
  governedName: string,
): 'quarantined' | 'not_approved' | null {
  if (mode === 'off') return null;
  if (isQuarantined(state, governedName)) return 'quarantined';
  if (mode === 'fail_closed' && !Object.hasOwn(state.approved, governedName)) return 'not_approved';
  return null;
}

/** Whether a listed item is hidden from the caller: refused by name, or (fail_closed) not the approved version. */
export function hides(
  mode: DiscoveryMode,
  state: IntegrityState,
  governedName: string,
  fingerprint: string,
): boolean {
  if (mode === 'off') return false;
  if (isQuarantined(state, governedName)) return true;
  return mode === 'fail_closed' && state.approved[governedName] !== fingerprint;
}
