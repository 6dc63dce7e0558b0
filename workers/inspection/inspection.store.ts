/**
 * An organization's custom detection rules and packs (D1 `detection_rules`, `detection_packs`),
 * and the snapshot of them the gateway compiles with the built-in rules.
 *
 * The snapshot is read in one D1 batch and kept in the isolate for POLICY_CACHE_TTL_MS (the bound
 * of policies and governance); an edit through the API invalidates this isolate's copy at once.
 * Its `version` (the organization and a hash of the content) keys the compiled engine cache
 * (inspection.load.ts), so a changed rule is never matched by a stale engine for longer than the TTL.
 * Only connections whose packs name a custom pack read it: built-in packs never touch D1.
 */
import { orgConfigCache } from '../config/config.epoch';
import { type Pack, packSchema, type Rule, ruleSchema } from './inspection.schema';

export interface OrgDetections {
  /** Names the organization and changes whenever a custom rule or pack is added, changed or removed. */
  version: string;
  rules: Rule[];
  packs: Map<string, Pack>;
}

const cache = orgConfigCache(readOrgDetections);

export function invalidateOrgDetections(orgId: string): void {
  cache.invalidate(orgId);
}

export function loadOrgDetections(
  env: { DB: D1Database; POLICY_CACHE_TTL_MS?: string },
  orgId: string,
): Promise<OrgDetections> {
  return cache.get(env, orgId);
}

interface StoredRow {
  body: string;
}

async function readOrgDetections(db: D1Database, orgId: string): Promise<OrgDetections> {
  const [rules, packs] = await db.batch<StoredRow>([
    db.prepare('SELECT rule AS body FROM detection_rules WHERE org_id = ? ORDER BY rule_id').bind(orgId),
    db.prepare('SELECT pack AS body FROM detection_packs WHERE org_id = ? ORDER BY name').bind(orgId),
  ]);
  const ruleRows = rules?.results ?? [];
  const packRows = packs?.results ?? [];
  // Stored rows were validated when saved; one that no longer parses (a schema change) is skipped
  // rather than failing every call of the organization.
  const parsedRules = ruleRows.flatMap((r) => {
    const parsed = ruleSchema.safeParse(JSON.parse(r.body));
    return parsed.success ? [parsed.data] : [];
  });
  const parsedPacks = packRows.flatMap((r) => {
    const parsed = packSchema.safeParse(JSON.parse(r.body));
    return parsed.success ? [parsed.data] : [];
  });
  return {
    // The compiled-engine cache is shared by the isolate's organizations: the version names the
    // organization and the exact content (two edits in one millisecond still differ).
    version: `${orgId}:${contentHash([...ruleRows, ...packRows])}`,
    rules: parsedRules,
    packs: new Map(parsedPacks.map((p) => [p.name, p])),
  };
}

/** FNV-1a over the stored bodies, in their stable order: the snapshot's identity. */
function contentHash(rows: readonly StoredRow[]): string {
  let hash = 0x811c9dc5;
  for (const row of rows) {
    for (let i = 0; i < row.body.length; i++) hash = Math.imul(hash ^ row.body.charCodeAt(i), 0x01000193);
    hash = Math.imul(hash ^ 0x1f, 0x01000193);
  }
  return `${rows.length}.${(hash >>> 0).toString(36)}`;
}
