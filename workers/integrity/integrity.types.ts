/**
 * Tool integrity's hot-path types and the two pure questions the gateway asks per call: is a call
 * to this item refused (`refusalFor`), is this listed item hidden (`hides`). No I/O; the state
 * comes from KV (integrity.state.ts).
 */

export type DiscoveryMode = 'off' | 'alert' | 'fail_closed';

export interface IntegrityState {
  /** Quarantined governed names (→ why): refused and hidden in every mode but off. */
  blocked: Record<string, string>;
  /**
   * Governed name → fingerprint, for items whose current definition is the approved one: in
   * fail_closed, the only items listed and callable.
   */
  approved: Record<string, string>;
}

export const EMPTY_STATE: IntegrityState = Object.freeze({ blocked: {}, approved: {} }) as IntegrityState;

/** What a call through an MCP connection knows about its integrity settings and state (StageCall.integrity). */
export interface CallIntegrity {
  mode: Exclude<DiscoveryMode, 'off'>;
  quarantineOnCritical: boolean;
  slug: string;
  state: IntegrityState;
}

/** Why a call to `governedName` is refused, or null when integrity has nothing against it. */
export function refusalFor(
  mode: DiscoveryMode,
  state: IntegrityState,
  governedName: string,
): 'quarantined' | 'not_approved' | null {
  if (mode === 'off') return null;
  if (Object.hasOwn(state.blocked, governedName)) return 'quarantined';
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
  if (Object.hasOwn(state.blocked, governedName)) return true;
  return mode === 'fail_closed' && state.approved[governedName] !== fingerprint;
}
