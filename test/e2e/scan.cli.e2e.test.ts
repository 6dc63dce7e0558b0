/**
 * `igris-edge scan` (sdk/src/cli.ts, the SDK package's `bin`) as a real process against the real
 * stack: SARIF 2.1.0 for server-everything and for the demo server's deliberately vulnerable
 * `/vulnerable` route, the table output, and `--fail-on` exit codes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { validateSarif } from '../shared/sarif.schema';
import { adminKey, ensureConnection, gatewayUrl } from './helpers';

const CLI = path.resolve(import.meta.dirname, '..', '..', 'sdk', 'dist', 'cli.js');

function cli(...args: string[]) {
  const run = spawnSync('node', [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, IGRIS_BASE_URL: gatewayUrl(), IGRIS_API_KEY: adminKey() },
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

interface Sarif {
  version: string;
  runs: Array<{
    tool: { driver: { name: string; rules: Array<{ id: string }> } };
    invocations: Array<{ executionSuccessful: boolean }>;
    results: Array<{ ruleId: string; ruleIndex: number; level: string; properties: { item: string } }>;
  }>;
}

function expectValidSarif(sarif: Sarif) {
  expect(validateSarif(sarif), JSON.stringify(validateSarif.errors)).toBe(true);
  expect(sarif.version).toBe('2.1.0');
  expect(sarif.runs).toHaveLength(1);
  const run = sarif.runs[0]!;
  expect(run.tool.driver.name).toBe('igris-edge-scan');
  for (const r of run.results) {
    expect(run.tool.driver.rules[r.ruleIndex]?.id).toBe(r.ruleId);
    expect(['error', 'warning', 'note']).toContain(r.level);
  }
  return run;
}

beforeAll(async () => {
  // `npm run prepare` (run by npm install) builds sdk/dist; build it again so the test runs this source.
  const build = spawnSync('npm', ['run', '--silent', 'sdk:build'], { encoding: 'utf8' });
  expect(build.status, build.stdout + build.stderr).toBe(0);
  await ensureConnection('scan-cli-everything', `${inject('everythingUrl')}/mcp`, null);
  await ensureConnection('scan-cli-vulnerable', `${inject('upstreamUrl')}/vulnerable`, null);
});

describe('igris-edge scan', () => {
  it('prints SARIF 2.1.0 for server-everything', () => {
    const run = cli('scan', 'scan-cli-everything', '--format', 'sarif');
    expect(run.status, run.stderr).toBe(0);
    const sarifRun = expectValidSarif(JSON.parse(run.stdout) as Sarif);
    const results = sarifRun.results;
    // A scan that could not reach the server would be an unsuccessful invocation.
    expect(sarifRun.invocations[0]?.executionSuccessful).toBe(true);
    // The schema check does reject what is not SARIF 2.1.0.
    expect(validateSarif({ version: '2.0.0', runs: [] })).toBe(false);
    // No credential is configured: reported on the server itself.
    expect(results.some((r) => r.ruleId === 'missing_authentication' && r.properties.item === 'server')).toBe(
      true,
    );
  });

  it('enumerates server-everything’s tools, prompts and resources', () => {
    const run = cli('scan', 'scan-cli-everything', '--format', 'json');
    expect(run.status, run.stderr).toBe(0);
    const scan = JSON.parse(run.stdout) as {
      status: string;
      server: { tools: number; prompts: number; resources: number };
    };
    expect(scan.status).toBe('completed');
    expect(scan.server.tools).toBeGreaterThan(0);
    expect(scan.server.prompts).toBeGreaterThan(0);
    expect(scan.server.resources).toBeGreaterThan(0);
  });

  it('prints SARIF with the expected findings for the vulnerable server, and fails on them', () => {
    const run = cli('scan', 'scan-cli-vulnerable', '--format', 'sarif', '--fail-on', 'high');
    expect(run.status).toBe(1);
    const results = expectValidSarif(JSON.parse(run.stdout) as Sarif).results;
    const found = results.map((r) => `${r.properties.item} ${r.ruleId} ${r.level}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'tool:get_weather hidden_instruction_tag error',
        'tool:get_weather concealment error',
        'tool:run_command overly_broad_tool error',
      ]),
    );
  });

  it('scans a bare URL (no connection, no credential)', () => {
    const run = cli('scan', `${inject('upstreamUrl')}/vulnerable`, '--format', 'json');
    expect(run.status, run.stderr).toBe(0);
    const scan = JSON.parse(run.stdout) as {
      connection: string | null;
      url: string;
      findings: Array<{ kind: string }>;
    };
    expect(scan.connection).toBeNull();
    expect(scan.url).toBe(`${inject('upstreamUrl')}/vulnerable`);
    expect(scan.findings.map((f) => f.kind)).toEqual(
      expect.arrayContaining(['hidden_instruction_tag', 'origin_not_validated', 'missing_authentication']),
    );
  });

  it('a checked-in suppressions file keeps accepted findings from failing the run, until it expires', () => {
    const first = cli('scan', 'scan-cli-vulnerable', '--format', 'json');
    const findings = (JSON.parse(first.stdout) as { findings: Array<Record<string, string>> }).findings;
    const severe = findings.filter((f) => f.severity === 'critical' || f.severity === 'high');
    expect(severe.length).toBeGreaterThan(0);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'igris-suppress-'));
    const file = (expires: string) => {
      const target = path.join(dir, `${expires}.json`);
      const suppressions = severe.map((f) => ({
        kind: f.kind,
        item: f.item,
        path: f.path,
        reason: 'accepted in review',
        expires,
      }));
      writeFileSync(target, JSON.stringify({ suppressions }));
      return target;
    };
    const accepted = cli(
      'scan',
      'scan-cli-vulnerable',
      '--fail-on',
      'high',
      '--suppressions',
      file('2999-01-01'),
    );
    expect(accepted.status, accepted.stderr).toBe(0);
    expect(accepted.stdout).toMatch(/\(critical\) +hidden_instruction_tag/);
    const expired = cli(
      'scan',
      'scan-cli-vulnerable',
      '--fail-on',
      'high',
      '--suppressions',
      file('2001-01-01'),
    );
    expect(expired.status).toBe(1);
    const reasonless = path.join(dir, 'bad.json');
    writeFileSync(reasonless, JSON.stringify({ suppressions: [{ kind: 'url', item: 'server' }] }));
    expect(cli('scan', 'scan-cli-vulnerable', '--suppressions', reasonless).status).toBe(2);
  });

  it('prints a table; usage errors exit 2', () => {
    const run = cli('scan', 'scan-cli-vulnerable');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^scan scn_\S+ of scan-cli-vulnerable: \d+ finding\(s\)\nSEVERITY +KIND/);
    expect(run.stdout).toMatch(/critical +hidden_instruction_tag +tool:get_weather/);
    expect(cli('scan').status).toBe(2);
    expect(cli('scan', 'no-such-connection').status).toBe(2);
  });
});
