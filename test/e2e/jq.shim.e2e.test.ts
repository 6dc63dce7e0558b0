/**
 * The npm-provided `jq` the docs tests use on machines without one (test/e2e/jq.shim.ts): jq's command
 * line — stdin and files, -e/-r/-s/-n/-j, --arg/--argjson/--rawfile/--slurpfile — and its exit status.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/local-stack';

const SHIM = path.join(ROOT, 'test', 'e2e', 'jq.shim.ts');
const dir = mkdtempSync(path.join(os.tmpdir(), 'igris-jq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string) => {
  const full = path.join(dir, name);
  writeFileSync(full, text);
  return full;
};

function jq(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [SHIM, ...args], { input: input ?? '', encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('jq shim (jq-wasm)', () => {
  const page = file(
    'page.json',
    '{"events":[{"id":"a","tool":"echo"},{"id":"b","tool":"delete"}],"next":null}',
  );

  it('reads stdin and files, and -e sets the exit status from the last result', () => {
    expect(jq(['-e', '.events | length == 2', page])).toMatchObject({ status: 0, stdout: 'true\n' });
    expect(jq(['-e', '.next'], '{"next":null}')).toMatchObject({ status: 1, stdout: 'null\n' });
    expect(jq(['-e', '.x == 1'], '{"x":2}')).toMatchObject({ status: 1, stdout: 'false\n' });
  });

  it('prints raw strings, joins, slurps and runs without input', () => {
    expect(jq(['-r', '.events[].id', page]).stdout).toBe('a\nb\n');
    expect(jq(['-j', '.events[].id', page]).stdout).toBe('ab');
    const stream = file('s.ndjson', '{"t":"x"}\n{"t":"y"}\n');
    expect(jq(['-se', 'map(.t) == ["x","y"]', stream])).toMatchObject({ status: 0 });
    expect(jq(['-c', '-n', '[1,2]'])).toMatchObject({ status: 0, stdout: '[1,2]\n' });
  });

  it('passes --arg, --argjson, --rawfile and --slurpfile', () => {
    expect(jq(['-e', '--arg', 'id', 'b', '.events[1].id == $id', page]).status).toBe(0);
    expect(jq(['-e', '--argjson', 'n', '{"k":2}', '$n.k == 2', '-n']).status).toBe(0);
    const raw = file('raw.txt', 'hello');
    expect(jq(['-e', '--rawfile', 'r', raw, '-n', '$r == "hello"']).status).toBe(0);
    const stream = file('s2.ndjson', '1 2 3');
    expect(jq(['-c', '--slurpfile', 's', stream, '-n', '$s']).stdout).toBe('[1,2,3]\n');
  });

  it('reads a large input, multi-byte characters included, byte for byte (the view-slicing input path)', () => {
    const items = Array.from({ length: 4000 }, (_, i) => ({ i, name: `tool-${i}-é✓`, tags: ['a', 'b'] }));
    const big = file('big.json', JSON.stringify({ items }));
    expect(jq(['-c', '[(.items | length), .items[3999].name, ([.items[].i] | add)]', big]).stdout).toBe(
      `[4000,"tool-3999-é✓",${(3999 * 4000) / 2}]\n`,
    );
    expect(jq(['-e', '.items[0].name == "tool-0-é✓"'], JSON.stringify({ items })).status).toBe(0);
  });

  it('fails like jq: compile errors exit 3, runtime errors 5, with the message on stderr', () => {
    const compile = jq(['.a =='], '{}');
    expect(compile.status).toBe(3);
    expect(compile.stderr).toContain('compile error');
    const runtime = jq(['.a | error("boom")'], '{"a":1}');
    expect(runtime.status).toBe(5);
    expect(runtime.stderr).toContain('boom');
  });
});
