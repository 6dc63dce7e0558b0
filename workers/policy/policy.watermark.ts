/**
 * The rule behind a connection's policy watermark (`connections.policy_pruned_below`,
 * policy.retention.ts), apart from D1 so it can be tested alone. Versions are numbered 1, 2, 3 …
 * per connection with no gap, so a version with no row is either below the watermark (pruned, its
 * tombstone dropped too: 410) or was never written (404).
 */

/** Whether a version with no row was pruned rather than never written. `prunedBelow`: the watermark. */
export function wasPruned(version: number, prunedBelow: number): boolean {
  return Number.isInteger(version) && version >= 1 && version < prunedBelow;
}
