/**
 * Things written once (issue 13, "Stores own their SQL"), checked on the source so that a copy
 * cannot creep back in unnoticed:
 *   - SQL on `kill_switches` only in workers/shared/killswitch.store.ts (and its count for the
 *     cap in count.limits.ts, which holds every count-limit query);
 *   - audit rows (`AuditEventInsert` literals) built only in workers/shared/audit.row.ts, and
 *     `INSERT INTO audit_events` only in the direct-row writer and the spools' upsert;
 *   - the small helpers (`isRecord`, `iso`) defined only in workers/lib/values.ts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    if (statSync(path.join(ROOT, rel)).isDirectory()) return sourceFiles(rel);
    return rel.endsWith('.ts') && !rel.endsWith('.test.ts') && !rel.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Source text without comments, so a doc comment naming the table does not count. */
function code(file: string): string {
  return readFileSync(path.join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
}

const FILES = [...sourceFiles('workers'), ...sourceFiles('durable-objects')];
const where = (pattern: RegExp) => FILES.filter((f) => pattern.test(code(f))).sort();
const BUILDER = path.join('workers', 'shared', 'audit.row.ts');

describe('written once', () => {
  it('only the kill-switch store speaks SQL to kill_switches', () => {
    expect(where(/\bkill_switches\b/)).toEqual([
      path.join('workers', 'db', 'access.schema.ts'), // the table definition (re-exported by schema.ts)
      // The count of active switches for their cap, as for every capped table: the module that
      // owns every count-limit query (its INSERT … WHERE count < cap), not a store of its own.
      path.join('workers', 'shared', 'count.limits.ts'),
      path.join('workers', 'shared', 'killswitch.store.ts'),
    ]);
  });

  it('audit rows are built in one module, and written by the two writers', () => {
    // A row literal that starts from scratch (its own id) instead of from a builder.
    const fromScratch = [/AuditEventInsert\s*=\s*\{\s*id:/, /\): AuditEventInsert \{\s*return \{\s*id:/];
    expect(fromScratch.flatMap((p) => where(p)).filter((f) => f !== BUILDER)).toEqual([]);
    expect(where(fromScratch[1]!)).toEqual([BUILDER]); // the pattern does see a builder
    expect(where(/INSERT INTO audit_events/)).toEqual([
      path.join('durable-objects', 'audit.rows.ts'),
      path.join('workers', 'audit', 'audit.admin.ts'),
    ]);
  });

  it('isRecord and iso are defined once', () => {
    expect(where(/function (isRecord|iso)\b/)).toEqual([path.join('workers', 'lib', 'values.ts')]);
  });

  it('the checks read the tree (a rule that matches nothing cannot fail)', () => {
    expect(FILES.length).toBeGreaterThan(50);
    expect(FILES).toContain(path.join('workers', 'shared', 'killswitch.store.ts'));
  });
});
