#!/usr/bin/env node
/**
 * `npx igris-edge scan <connection-slug | url> [--format table|json|sarif] [--fail-on critical|high|medium|low]
 *  [--suppressions <file>]`
 *
 * Runs the gateway's MCP scanner on a connection, or on a bare `http(s)://` URL (no credential),
 * (`POST /api/v1/scans`, docs/tool-integrity.md) and prints the result: a table (default), the
 * scan as JSON, or SARIF 2.1.0 for code-scanning tools. Reads IGRIS_BASE_URL and IGRIS_API_KEY
 * from the environment (the key is never printed). `--suppressions`: a checked-in JSON file
 * `{ "suppressions": [{ "kind", "item", "path"?, "reason", "expires"? }] }`; a finding it names (and
 * findings the server already suppressed) are marked and do not count for `--fail-on`; an
 * expired entry no longer applies. Exit codes: 0 done; 1 a finding at or above `--fail-on`, or a
 * failed scan; 2 usage or API error.
 *
 * `npx igris-edge audit verify <export.ndjson>`: offline verification of a signed audit export (cli.audit.ts).
 */

import { AUDIT_USAGE, auditMain } from './cli.audit.js';

// The SDK compiles without Node types (see tsconfig.json); these are the few Node globals used here.
declare const process: {
  argv: string[];
  env: Record<string, string | undefined>;
  stdout: { write(text: string): void };
  stderr: { write(text: string): void };
  exitCode: number | undefined;
};

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
type Severity = (typeof SEVERITIES)[number];

interface Finding {
  kind: string;
  severity: Severity;
  item: string;
  path: string;
  match: string;
  /** Set by the server (an owner/admin suppressed it) or by the --suppressions file. */
  suppression?: { reason: string } | null;
}
interface Scan {
  id: string;
  connection: string | null;
  url?: string | null;
  status: 'completed' | 'failed';
  error: string | null;
  findings: Finding[];
}

const USAGE =
  'usage: igris-edge scan <connection-slug | url> [--format table|json|sarif] [--fail-on critical|high|medium|low] [--suppressions <file>]\n' +
  'env: IGRIS_BASE_URL (the gateway), IGRIS_API_KEY (an ig_ key)\n' +
  AUDIT_USAGE;

class UsageError extends Error {}

function parseArgs(argv: string[]) {
  const [command, slug, ...rest] = argv;
  if (command !== 'scan' || !slug || slug.startsWith('-'))
    throw new UsageError('expected: scan <connection-slug | url>');
  let format = 'table';
  let failOn: Severity | null = null;
  let suppressions: string | null = null;
  for (let i = 0; i < rest.length; i += 2) {
    const value = rest[i + 1];
    if (rest[i] === '--format' && (value === 'table' || value === 'json' || value === 'sarif'))
      format = value;
    else if (rest[i] === '--fail-on' && SEVERITIES.includes(value as Severity)) failOn = value as Severity;
    else if (rest[i] === '--suppressions' && value) suppressions = value;
    else throw new UsageError(`unknown option ${rest[i]}`);
  }
  return { slug, format, failOn, suppressions };
}

interface FileSuppression {
  kind: string;
  item: string;
  path?: string;
  reason: string;
  expires?: string;
}

/** The checked-in suppressions file: entries without a reason, or unreadable, are usage errors. */
async function readSuppressions(file: string): Promise<FileSuppression[]> {
  // A computed specifier: the SDK compiles without Node types (the CLI alone runs on Node).
  const fsModule = 'node:fs';
  let parsed: unknown;
  try {
    const fs = (await import(fsModule)) as { readFileSync(path: string, encoding: 'utf8'): string };
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const list = (parsed as { suppressions?: unknown } | null)?.suppressions;
  if (!Array.isArray(list)) throw new UsageError(`${file}: expected { "suppressions": [...] }`);
  return list.map((entry, i) => {
    const e = entry as Partial<FileSuppression>;
    if (
      typeof e.kind !== 'string' ||
      typeof e.item !== 'string' ||
      typeof e.reason !== 'string' ||
      !e.reason.trim()
    )
      throw new UsageError(`${file}: suppressions[${i}] needs kind, item and a reason`);
    if (e.expires !== undefined && Number.isNaN(Date.parse(e.expires)))
      throw new UsageError(`${file}: suppressions[${i}].expires is not a date`);
    return e as FileSuppression;
  });
}

/** Marks the findings the file suppresses (unexpired entries only). */
function applySuppressions(scan: Scan, entries: FileSuppression[], now: number): void {
  const live = entries.filter((e) => e.expires === undefined || Date.parse(e.expires) > now);
  for (const f of scan.findings) {
    if (f.suppression) continue;
    const hit = live.find(
      (e) => e.kind === f.kind && e.item === f.item && (e.path === undefined || e.path === f.path),
    );
    if (hit) f.suppression = { reason: hit.reason };
  }
}

async function api(base: string, key: string, path: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetch(`${base.replace(/\/+$/, '')}/api/v1${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
  });
  const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (!res.ok)
    throw new Error(`${res.status} ${body?.error?.code ?? ''} ${body?.error?.message ?? ''}`.trim());
  return body;
}

function table(scan: Scan): string {
  const rows = scan.findings.map((f) => [
    f.suppression ? `(${f.severity})` : f.severity,
    f.kind,
    f.item,
    f.path,
    f.match,
  ]);
  const head = ['SEVERITY', 'KIND', 'ITEM', 'PATH', 'MATCH'];
  const widths = head.map((h, i) => Math.min(48, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (c.length > widths[i]! ? `${c.slice(0, widths[i]! - 1)}…` : c.padEnd(widths[i]!)))
      .join('  ');
  const status = scan.status === 'failed' ? `failed (${scan.error})` : `${scan.findings.length} finding(s)`;
  return `scan ${scan.id} of ${scan.connection ?? scan.url}: ${status}\n${rows.length ? `${[head, ...rows].map(line).join('\n')}\n` : ''}`;
}

async function main(): Promise<number> {
  if (process.argv[2] === 'audit') return auditMain(process.argv.slice(3));
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const base = process.env.IGRIS_BASE_URL;
  const key = process.env.IGRIS_API_KEY;
  if (!base || !key) {
    process.stderr.write(`IGRIS_BASE_URL and IGRIS_API_KEY must be set\n${USAGE}`);
    return 2;
  }
  try {
    const file = args.suppressions === null ? [] : await readSuppressions(args.suppressions);
    const target = /^https?:\/\//i.test(args.slug) ? { url: args.slug } : { connection: args.slug };
    const scan = (await api(base, key, '/scans', { method: 'POST', body: JSON.stringify(target) })) as Scan;
    applySuppressions(scan, file, Date.now());
    if (args.format === 'sarif') {
      const sarif = await api(base, key, `/scans/${encodeURIComponent(scan.id)}?format=sarif`);
      process.stdout.write(`${JSON.stringify(sarif, null, 2)}\n`);
    } else if (args.format === 'json') process.stdout.write(`${JSON.stringify(scan, null, 2)}\n`);
    else process.stdout.write(table(scan));
    if (scan.status === 'failed') return 1;
    const limit = args.failOn === null ? -1 : SEVERITIES.indexOf(args.failOn);
    return scan.findings.some((f) => !f.suppression && SEVERITIES.indexOf(f.severity) <= limit) ? 1 : 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`igris-edge: ${(err as Error).message}\n`);
    return 2;
  }
}

main().then((code) => {
  process.exitCode = code;
});
