/**
 * Which fields of an update change something: the rule of every PATCH whose no-op writes nothing
 * and audits nothing ("no row records a change that did not happen"). A field counts when it was
 * sent (not undefined) and differs from the stored value; a field with no stored value given always
 * counts. The caller maps stored columns to the patch's names and types (e.g. `enabled` 0/1 → boolean).
 */
export function changedFields<P extends object>(
  patch: P,
  stored: { [K in keyof P]?: unknown },
  keys: readonly (keyof P & string)[] = Object.keys(patch) as (keyof P & string)[],
): (keyof P & string)[] {
  return keys.filter((k) => patch[k] !== undefined && (!(k in stored) || patch[k] !== stored[k]));
}
