/**
 * How many policy versions keep their rules, and what is left of the others
 * (docs/policies.md#versions-and-retention).
 *
 * Every PUT (and rollback) stores a new version of up to ~2 MB. With no bound an admin key in a
 * loop — stolen, or a CI job gone wrong — grows D1 without end. A cap on writes (429) would also
 * block a responder tightening a policy during an incident; so writes are never refused, and old
 * content is pruned instead: the newest POLICY_VERSIONS_KEPT versions of a connection (the current
 * one among them) keep their rules, and each older one keeps a tombstone — its version number,
 * the SHA-256 of its rules, who wrote it and when, when it was pruned. A security team can still
 * tell which policy decided a past call: the call's audit row names the version
 * (`policy_version`), the tombstone its hash, and the `policy.update` audit row of that version
 * carries the same hash.
 *
 * Tombstones are bounded too (one per write would grow D1 without end, if more slowly): the newest
 * POLICY_TOMBSTONES_KEPT of a connection stay as rows, older ones are deleted. What is left of
 * those is one number per connection, `connections.policy_pruned_below`: every version below it
 * was pruned. Versions are numbered 1, 2, 3 … per connection with no gap (the INSERT takes
 * max + 1), so a version below the watermark with no row was pruned (410), and a version with no
 * row at or above it never existed (404): the answer stays exact at O(1) storage. Storage per
 * connection is at most POLICY_VERSIONS_KEPT versions with rules + POLICY_TOMBSTONES_KEPT
 * tombstones + the watermark, whatever the number of versions ever written.
 *
 * The prune runs in the same D1 batch as the insert (after it), and touches only the versions that
 * just left a window, so a PUT costs the same at version 10 and at version 100,000.
 */
import { AppError } from '../lib/errors';

/** Versions per connection that keep their rules (the newest ones). */
export const POLICY_VERSIONS_KEPT = 200;

/**
 * Pruned versions per connection that keep a tombstone row (hash, author, times); older ones only
 * count below the watermark. 200 rows of ~200 bytes: the forensic answer for the most recent past.
 */
export const POLICY_TOMBSTONES_KEPT = 200;

/**
 * How far back one prune looks: each insert pushes one version out of the window, so this only
 * matters after a change of POLICY_VERSIONS_KEPT, and bounds what a single PUT may rewrite.
 */
const PRUNE_SPAN = 100;

/** What is kept of a version after its rules are pruned. */
export interface PolicyTombstone {
  version: number;
  rulesSha256: string | null;
  createdBy: string | null;
  createdAt: number;
  prunedAt: number;
}

/**
 * Empties the rules of the connection's versions that fell out of the newest POLICY_VERSIONS_KEPT
 * (run after the insert, in its batch). Versions with no recorded hash (written before hashes
 * were) are never pruned: without the hash nothing would say what they held.
 */
export function pruneOldVersionsStatement(
  db: D1Database,
  connectionId: string,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE policies SET rules = '', pruned_at = ?1
       WHERE connection_id = ?2 AND pruned_at IS NULL AND rules_sha256 IS NOT NULL
         AND version > (SELECT max(version) FROM policies WHERE connection_id = ?2) - ?3 - ?4
         AND version <= (SELECT max(version) FROM policies WHERE connection_id = ?2) - ?3`,
    )
    .bind(now, connectionId, POLICY_VERSIONS_KEPT, PRUNE_SPAN);
}

/**
 * Deletes the connection's tombstones past the newest POLICY_TOMBSTONES_KEPT (run after the
 * insert and the prune, in their batch), and raises its watermark to the oldest version that keeps
 * its rules: everything below was pruned. The range has no lower bound: the rows below it are
 * gone already (but versions with no hash, which are never pruned), so the index walks only those.
 */
export function dropOldTombstonesStatements(
  db: D1Database,
  connectionId: string,
): [D1PreparedStatement, D1PreparedStatement] {
  return [
    db
      .prepare(
        `DELETE FROM policies
         WHERE connection_id = ?1 AND pruned_at IS NOT NULL
           AND version <= (SELECT max(version) FROM policies WHERE connection_id = ?1) - ?2`,
      )
      .bind(connectionId, POLICY_VERSIONS_KEPT + POLICY_TOMBSTONES_KEPT),
    db
      .prepare(
        `UPDATE connections
         SET policy_pruned_below = (SELECT max(version) FROM policies WHERE connection_id = ?1) - ?2 + 1
         WHERE id = ?1 AND policy_pruned_below < (SELECT max(version) FROM policies WHERE connection_id = ?1) - ?2 + 1`,
      )
      .bind(connectionId, POLICY_VERSIONS_KEPT),
  ];
}

/** The typed answer for a pruned version: 410 `pruned`, with its tombstone. */
export function versionPruned(
  tombstone: PolicyTombstone,
  where: { location: 'path' | 'body'; path: string },
): AppError {
  return new AppError('pruned', {
    message: `Policy version ${tombstone.version} was pruned (only the newest ${POLICY_VERSIONS_KEPT} versions keep their rules); its hash, author and time are kept`,
    details: {
      ...where,
      version: tombstone.version,
      rulesSha256: tombstone.rulesSha256,
      createdBy: tombstone.createdBy,
      createdAt: new Date(tombstone.createdAt).toISOString(),
      prunedAt: new Date(tombstone.prunedAt).toISOString(),
      kept: POLICY_VERSIONS_KEPT,
    },
  });
}

/**
 * The typed answer for a version pruned so long ago that its tombstone row is gone too: 410
 * `pruned`, with no hash, author or time (its `policy.update` audit row keeps the hash).
 */
export function versionPrunedWithoutTombstone(
  version: number,
  prunedBelow: number,
  where: { location: 'path' | 'body'; path: string },
): AppError {
  return new AppError('pruned', {
    message: `Policy version ${version} was pruned (only the newest ${POLICY_VERSIONS_KEPT} versions keep their rules, and the newest ${POLICY_TOMBSTONES_KEPT} pruned ones a tombstone)`,
    details: {
      ...where,
      version,
      prunedBelow,
      kept: POLICY_VERSIONS_KEPT,
      tombstonesKept: POLICY_TOMBSTONES_KEPT,
    },
  });
}
