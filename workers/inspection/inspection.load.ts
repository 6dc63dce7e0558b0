/**
 * What a call's inspection stages need, loaded before them (the stages stay pure): the compiled
 * engine of the connection's packs and overrides, and a fresh per-call state (findings so far,
 * the redaction session of an LLM call).
 * The engines themselves are compiled and kept by inspection.engines.ts.
 */
import type { InspectionSettings } from '../shared/connection.settings';
import { customPackNames, engineFor } from './inspection.engines';
import { loadOrgDetections } from './inspection.store';
import type { CallInspection } from './inspection.types';

export type { CallInspection } from './inspection.types';

/** True when a connection's settings turn inspection on (loadCallInspection loads an engine). */
export function inspectsContent(settings: { inspection?: InspectionSettings }): boolean {
  return (settings.inspection?.packs.length ?? 0) > 0;
}

/** The call's inspection, or null when the connection applies no pack. */
export async function loadCallInspection(
  env: { DB: D1Database; POLICY_CACHE_TTL_MS?: string },
  connection: { orgId: string; settings: { inspection?: InspectionSettings } },
): Promise<CallInspection | null> {
  const settings = connection.settings.inspection;
  if (!settings || !inspectsContent(connection.settings)) return null;
  const custom =
    customPackNames(settings.packs).length > 0 ? await loadOrgDetections(env, connection.orgId) : null;
  return {
    engine: engineFor(settings, custom),
    redactResults: settings.redactResults,
    streamMode: settings.streamMode,
    found: [],
    session: null,
  };
}
