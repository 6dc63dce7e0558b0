import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/** How many of the slowest test files the closing summary names. */
const SLOWEST = 12;

/**
 * Prints one plain closing line — `vitest: N passed, N failed, N skipped` — that CI tooling reads,
 * after vitest's own summary, preceded by the slowest test files (tests and hooks, per file), so a
 * CI log says where its minutes went (the fresh-clone run should stay well under 20 minutes).
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    process.stdout.write(slowestFiles(testModules));
    process.stdout.write(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

function slowestFiles(testModules: ReadonlyArray<TestModule>): string {
  const timed = testModules
    .map((mod) => ({ mod, ms: mod.diagnostic().duration }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, SLOWEST);
  if (timed.length === 0) return '';
  const lines = timed.map(
    ({ mod, ms }) =>
      `  ${(ms / 1000).toFixed(1).padStart(6)} s  ${mod.project.name.padEnd(7)} ${path.relative(process.cwd(), mod.moduleId)}`,
  );
  return `\nslowest test files (tests and hooks):\n${lines.join('\n')}\n`;
}
