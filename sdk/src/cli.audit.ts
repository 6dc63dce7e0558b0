/**
 * `npx igris-edge audit verify <export.ndjson> [--public-key <base64url>] [--checkpoints <file>] [--json]`
 *
 * Verifies a signed audit export offline (audit.verify.ts): prints what was checked and every
 * problem with its line, or the JSON report with --json. `--public-key`: the organization's key
 * from `GET /api/v1/audit/signing-key`, pinned so a re-signed forgery fails. `--checkpoints`: the
 * gateway's periodic signed checkpoints (`GET /api/v1/audit/checkpoints`, kept elsewhere), which the
 * export must agree with (audit.checkpoints.ts) — catching a chain rewritten in D1 before the export
 * was made. Exit codes: 0 intact;
 * 1 a problem found; 2 usage error or unreadable file.
 */
import { parseCheckpoints, verifyAgainstCheckpoints } from './audit.checkpoints.js';
import { verifyExport } from './audit.verify.js';

declare const process: { stdout: { write(text: string): void }; stderr: { write(text: string): void } };

export const AUDIT_USAGE =
  'usage: igris-edge audit verify <export.ndjson> [--public-key <base64url>] [--checkpoints <file>] [--json]\n';

export async function auditMain(argv: string[]): Promise<number> {
  const [command, file, ...rest] = argv;
  if (command !== 'verify' || !file || file.startsWith('-')) {
    process.stderr.write(AUDIT_USAGE);
    return 2;
  }
  let publicKey: string | undefined;
  let json = false;
  let checkpointsFile: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--json') json = true;
    else if (rest[i] === '--public-key' && rest[i + 1]) publicKey = rest[++i];
    else if (rest[i] === '--checkpoints' && rest[i + 1]) checkpointsFile = rest[++i];
    else {
      process.stderr.write(`unknown option ${rest[i]}\n${AUDIT_USAGE}`);
      return 2;
    }
  }
  const text = await readText(file);
  if (text === null) return 2;
  const result = await verifyExport(text, publicKey);
  if (checkpointsFile) {
    const checkpointsText = await readText(checkpointsFile);
    if (checkpointsText === null) return 2;
    const checkpoints = parseCheckpoints(checkpointsText);
    if (!checkpoints) {
      process.stderr.write(`${checkpointsFile} holds no readable checkpoint\n`);
      return 2;
    }
    const problems = await verifyAgainstCheckpoints(text, checkpoints, publicKey);
    result.problems = [...result.problems, ...problems].sort((a, b) => a.line - b.line);
    result.ok = result.problems.length === 0;
    result.checkpoints = checkpoints.length;
  }
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(
      `${result.ok ? 'OK' : 'TAMPERED'}: ${result.links} links in ${result.chains} chains, ${result.rowsChecked} rows checked; signed ${result.signedAt ?? 'never'} by key ${result.keyId ?? '?'}${publicKey ? ' (pinned)' : ' (not pinned: pass --public-key)'}${result.checkpoints !== undefined ? `; against ${result.checkpoints} checkpoints` : ''}\n`,
    );
    for (const p of result.problems.slice(0, 100)) {
      process.stdout.write(
        `${p.checkpointId ? `checkpoint ${p.checkpointId} ` : ''}line ${p.line}: ${p.reason}${p.chain ? ` chain ${p.chain}` : ''}${p.seq !== null ? ` seq ${p.seq}` : ''}${p.eventId ? ` event ${p.eventId}` : ''}\n`,
      );
    }
  }
  return result.ok ? 0 : 1;
}

/** A file's text, or null after saying why it cannot be read. */
async function readText(file: string): Promise<string | null> {
  try {
    // A computed specifier: the SDK compiles without Node types (the CLI alone runs on Node).
    const fsModule = 'node:fs';
    const fs = (await import(fsModule)) as { readFileSync(path: string, encoding: 'utf8'): string };
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    process.stderr.write(`cannot read ${file}: ${(err as Error).message}\n`);
    return null;
  }
}
