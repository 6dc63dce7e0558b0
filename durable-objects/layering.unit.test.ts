/**
 * The layering rules of docs/architecture.md, checked on the source:
 *   - Durable Objects import only their own folder, `workers/lib/`, `workers/db/` and the shared
 *     leaf layer `workers/shared/` — never a Worker feature service (which would pull the API's
 *     code, and its import cycles, into every object).
 *   - No `getByName` outside the typed client (durable-objects/do.client.ts): object names are
 *     spelled in one place.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const ALLOWED = ['durable-objects/', 'workers/lib/', 'workers/db/', 'workers/shared/'];

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    if (statSync(path.join(ROOT, rel)).isDirectory()) return sourceFiles(rel);
    return rel.endsWith('.ts') && !rel.endsWith('.test.ts') && !rel.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Relative import specifiers of a module (static imports and re-exports). */
function relativeImports(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)].map((m) => m[1]!);
}

/** Source text without comments, so a doc comment that names `getByName` does not count. */
function code(file: string): string {
  return readFileSync(path.join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
}

describe('layering', () => {
  it('Durable Objects import only lib/, db/, shared/ and each other', () => {
    const offending = sourceFiles('durable-objects').flatMap((file) =>
      relativeImports(file)
        .map((spec) => path.relative(ROOT, path.resolve(ROOT, path.dirname(file), spec)))
        .filter((target) => !ALLOWED.some((prefix) => target.startsWith(prefix)))
        .map((target) => `${file} → ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it('no getByName outside the typed client', () => {
    const files = [...sourceFiles('workers'), ...sourceFiles('durable-objects')].filter(
      (f) => f !== path.join('durable-objects', 'do.client.ts') && !f.endsWith('worker-configuration.d.ts'),
    );
    expect(files.filter((f) => code(f).includes('getByName'))).toEqual([]);
  });

  it('the check sees imports (a rule that matches nothing cannot fail)', () => {
    expect(relativeImports(path.join('durable-objects', 'connection-guard.do.ts')).length).toBeGreaterThan(3);
  });
});
