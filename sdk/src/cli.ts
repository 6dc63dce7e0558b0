#!/usr/bin/env node
/**
 * `npx igris-edge scan <connection-slug> [--format table|json|sarif] [--fail-on critical|high|medium|low]`
 *
 * Runs the gateway's MCP scanner on a connection (`POST /api/v1/scans`, docs/tool-integrity.md)
 * and prints the result: a table (default), the scan as JSON, or SARIF 2.1.0 for code-scanning
 * tools. Reads IGRIS_BASE_URL and IGRIS_API_KEY from the environment (the key is never printed).
 * Exit codes: 0 done; 1 a finding at or above `--fail-on`, or a failed scan; 2 usage or API error.
 */

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
}
interface Scan {
  id: string;
  connection: string;
  status: 'completed' | 'failed';
  error: string | null;
  findings: Finding[];
}

const USAGE =
  'usage: igris-edge scan <connection-slug> [--format table|json|sarif] [--fail-on critical|high|medium|low]\n' +
  'env: IGRIS_BASE_URL (the gateway), IGRIS_API_KEY (an ig_ key)\n';

class UsageError extends Error {}

function parseArgs(argv: string[]) {
  const [command, slug, ...rest] = argv;
  if (command !== 'scan' || !slug || slug.startsWith('-'))
    throw new UsageError('expected: scan <connection-slug>');
  let format = 'table';
  let failOn: Severity | null = null;
  for (let i = 0; i < rest.length; i += 2) {
    const value = rest[i + 1];
    if (rest[i] === '--format' && (value === 'table' || value === 'json' || value === 'sarif'))
      format = value;
    else if (rest[i] === '--fail-on' && SEVERITIES.includes(value as Severity)) failOn = value as Severity;
    else throw new UsageError(`unknown option ${rest[i]}`);
  }
  return { slug, format, failOn };
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
  const rows = scan.findings.map((f) => [f.severity, f.kind, f.item, f.path, f.match]);
  const head = ['SEVERITY', 'KIND', 'ITEM', 'PATH', 'MATCH'];
  const widths = head.map((h, i) => Math.min(48, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (c.length > widths[i]! ? `${c.slice(0, widths[i]! - 1)}…` : c.padEnd(widths[i]!)))
      .join('  ');
  const status = scan.status === 'failed' ? `failed (${scan.error})` : `${scan.findings.length} finding(s)`;
  return `scan ${scan.id} of ${scan.connection}: ${status}\n${rows.length ? `${[head, ...rows].map(line).join('\n')}\n` : ''}`;
}

async function main(): Promise<number> {
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
    const scan = (await api(base, key, '/scans', {
      method: 'POST',
      body: JSON.stringify({ connection: args.slug }),
    })) as Scan;
    if (args.format === 'sarif') {
      const sarif = await api(base, key, `/scans/${encodeURIComponent(scan.id)}?format=sarif`);
      process.stdout.write(`${JSON.stringify(sarif, null, 2)}\n`);
    } else if (args.format === 'json') process.stdout.write(`${JSON.stringify(scan, null, 2)}\n`);
    else process.stdout.write(table(scan));
    if (scan.status === 'failed') return 1;
    const limit = args.failOn === null ? -1 : SEVERITIES.indexOf(args.failOn);
    return scan.findings.some((f) => SEVERITIES.indexOf(f.severity) <= limit) ? 1 : 0;
  } catch (err) {
    process.stderr.write(`igris-edge: ${(err as Error).message}\n`);
    return 2;
  }
}

main().then((code) => {
  process.exitCode = code;
});
