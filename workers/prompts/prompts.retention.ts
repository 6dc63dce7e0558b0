/**
 * How many versions of a system prompt keep their text (docs/budgets-and-prompts.md, "Versions and
 * retention"). Every text edit stores a new version (up to 20,000 characters); with no bound an
 * admin key in a loop grows D1 without end. As for policies (workers/policy/policy.retention.ts),
 * edits are never refused: the newest PROMPT_VERSIONS_KEPT versions of a prompt (the current one
 * among them) keep their text, and older ones keep a tombstone — version, SHA-256 (`text_hash`),
 * author and time — with the text emptied. No reader returns an old version's text (the API lists
 * versions by hash; the gateway reads the current one), so nothing reads what is pruned; the
 * `system_prompt.create` / `system_prompt.update` audit rows carry each version's hash as well.
 *
 * Tombstones are bounded as well: only the newest PROMPT_TOMBSTONES_KEPT pruned versions keep
 * their row, older ones are deleted. Nothing answers for a single old version (no reader, no 410),
 * so no watermark is needed. Storage per prompt is at most PROMPT_VERSIONS_KEPT versions with text
 * + PROMPT_TOMBSTONES_KEPT tombstones, whatever the number of edits.
 */

/** Versions per prompt that keep their text (the newest ones). */
export const PROMPT_VERSIONS_KEPT = 200;

/** Pruned versions per prompt that keep a tombstone row (older ones are deleted). */
export const PROMPT_TOMBSTONES_KEPT = 200;

/** How far back one prune looks (each edit pushes one version out; bounds what one edit rewrites). */
const PRUNE_SPAN = 100;

/**
 * Empties the text of the prompt's versions that fell out of the newest kept, `version` being the
 * new one, then deletes the tombstones past the newest kept. The delete has no lower bound: the
 * rows below it are gone already, so the (prompt_id, version) index walks only those just leaving.
 */
export function prunePromptVersionsStatements(
  db: D1Database,
  orgId: string,
  promptId: string,
  version: number,
): [D1PreparedStatement, D1PreparedStatement] {
  return [
    db
      .prepare(
        `UPDATE system_prompt_versions SET text = ''
         WHERE org_id = ? AND prompt_id = ? AND text <> '' AND version > ? AND version <= ?`,
      )
      .bind(orgId, promptId, version - PROMPT_VERSIONS_KEPT - PRUNE_SPAN, version - PROMPT_VERSIONS_KEPT),
    db
      .prepare(
        `DELETE FROM system_prompt_versions WHERE org_id = ? AND prompt_id = ? AND text = '' AND version <= ?`,
      )
      .bind(orgId, promptId, version - PROMPT_VERSIONS_KEPT - PROMPT_TOMBSTONES_KEPT),
  ];
}
