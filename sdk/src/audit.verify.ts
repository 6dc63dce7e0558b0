/**
 * Offline verification of a signed audit export (`GET /api/v1/audit/chain/export`,
 * docs/observability.md#signed-export-and-offline-verification): no gateway, no database — only the
 * file and, ideally, the organization's public key pinned from `GET /api/v1/audit/signing-key`.
 *
 * Every link is recomputed (`hash = SHA-256(prev_hash | seq | event_id | row_hash)`), every row
 * included is hashed (`row_hash = SHA-256(JSON of its values)`), links must follow each other
 * (seq + 1, prev_hash = the previous hash), and each chain must end exactly at the head the
 * Ed25519-signed checkpoint names. Each problem is reported with its line number:
 *
 *   row_altered       a row's values were changed                    link_altered   a link was edited
 *   link_missing      a seq is skipped (a row/link deleted)          link_order     a seq repeats or goes back (inserted or reordered)
 *   link_mismatch     prev_hash is not the previous link's hash      truncated      the chain ends before its signed head
 *   head_mismatch     the chain's last hash is not the signed one    chain_unsigned links of a chain the checkpoint does not name
 *   chain_missing     a signed chain has no links in the file        checkpoint_missing / checkpoint_not_last
 *   signature_invalid the checkpoint's signature does not verify     key_mismatch   not signed with the pinned key
 *   unreadable        a line is not a link or checkpoint
 */

export const GENESIS = '0'.repeat(64);

export interface VerifyProblem {
  /** 1-based line of the export (0: a problem of a stored checkpoint itself, see checkpointId). */
  line: number;
  /** The stored checkpoint the problem was found against (`--checkpoints`, audit.checkpoints.ts). */
  checkpointId?: string;
  chain: string | null;
  seq: number | null;
  eventId: string | null;
  reason: string;
}

export interface ExportVerification {
  ok: boolean;
  links: number;
  rowsChecked: number;
  chains: number;
  keyId: string | null;
  publicKey: string | null;
  signedAt: string | null;
  problems: VerifyProblem[];
  /** How many stored checkpoints the export was checked against (`--checkpoints`). */
  checkpoints?: number;
}

export interface Link {
  kind: 'link';
  chain: string;
  seq: number;
  eventId: string;
  rowHash: string;
  prevHash: string;
  hash: string;
  row: unknown[] | null;
}

export interface Checkpoint {
  kind: 'checkpoint';
  version: number;
  orgId: string;
  createdAt: string;
  heads: Array<{ chain: string; first: number; seq: number; hash: string }>;
  keyId: string;
  publicKey: string;
  signature: string;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromB64url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (ch) => ch.charCodeAt(0));
}

export function isLink(value: unknown): value is Link {
  const v = value as Partial<Link> | null;
  return (
    v?.kind === 'link' &&
    typeof v.chain === 'string' &&
    Number.isInteger(v.seq) &&
    typeof v.eventId === 'string' &&
    typeof v.rowHash === 'string' &&
    typeof v.prevHash === 'string' &&
    typeof v.hash === 'string' &&
    (v.row === null || Array.isArray(v.row))
  );
}

export function isCheckpoint(value: unknown): value is Checkpoint {
  const v = value as Partial<Checkpoint> | null;
  return v?.kind === 'checkpoint' && Array.isArray(v.heads) && typeof v.signature === 'string';
}

export async function signatureValid(cp: Checkpoint): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey('raw', fromB64url(cp.publicKey), { name: 'Ed25519' }, false, [
      'verify',
    ]);
    // Exactly what the gateway signed (workers/audit/audit.signed-export.ts checkpointPayload).
    const payload = JSON.stringify({
      version: cp.version,
      orgId: cp.orgId,
      createdAt: cp.createdAt,
      heads: cp.heads,
    });
    return await crypto.subtle.verify(
      'Ed25519',
      key,
      fromB64url(cp.signature),
      new TextEncoder().encode(payload),
    );
  } catch {
    return false;
  }
}

export async function verifyExport(text: string, pinnedPublicKey?: string): Promise<ExportVerification> {
  const problems: VerifyProblem[] = [];
  const report = (line: number, link: Partial<Link> | null, reason: string) =>
    problems.push({
      line,
      chain: link?.chain ?? null,
      seq: link?.seq ?? null,
      eventId: link?.eventId ?? null,
      reason,
    });
  const last = new Map<string, { seq: number; hash: string; line: number }>();
  const firstLine = new Map<string, { seq: number; line: number; link: Link }>();
  let checkpoint: Checkpoint | null = null;
  let checkpointLine = 0;
  let links = 0;
  let rowsChecked = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const lineNo = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      report(lineNo, null, 'unreadable');
      continue;
    }
    if (checkpoint) report(lineNo, null, 'checkpoint_not_last');
    if (isCheckpoint(value)) {
      checkpoint = value;
      checkpointLine = lineNo;
      continue;
    }
    if (!isLink(value)) {
      report(lineNo, null, 'unreadable');
      continue;
    }
    links++;
    const prev = last.get(value.chain);
    if (!prev) firstLine.set(value.chain, { seq: value.seq, line: lineNo, link: value });
    if (prev && value.seq !== prev.seq + 1)
      report(lineNo, value, value.seq > prev.seq ? 'link_missing' : 'link_order');
    else if (prev && value.prevHash !== prev.hash) report(lineNo, value, 'link_mismatch');
    else if (!prev && value.seq === 1 && value.prevHash !== GENESIS) report(lineNo, value, 'link_mismatch');
    if (
      (await sha256Hex(`${value.prevHash}|${value.seq}|${value.eventId}|${value.rowHash}`)) !== value.hash
    ) {
      report(lineNo, value, 'link_altered');
    }
    if (value.row !== null) {
      rowsChecked++;
      if ((await sha256Hex(JSON.stringify(value.row))) !== value.rowHash)
        report(lineNo, value, 'row_altered');
    }
    last.set(value.chain, { seq: value.seq, hash: value.hash, line: lineNo });
  }
  if (!checkpoint) {
    report(lines.length, null, 'checkpoint_missing');
  } else {
    if (!(await signatureValid(checkpoint))) report(checkpointLine, null, 'signature_invalid');
    if (pinnedPublicKey && pinnedPublicKey !== checkpoint.publicKey)
      report(checkpointLine, null, 'key_mismatch');
    const signed = new Set<string>();
    for (const head of checkpoint.heads) {
      signed.add(head.chain);
      const end = last.get(head.chain);
      const at = { chain: head.chain, seq: head.seq };
      const start = firstLine.get(head.chain);
      // The signed start: a chain whose first links were cut starts later than it was exported.
      if (start && start.seq !== head.first)
        report(start.line, start.link, start.seq > head.first ? 'link_missing' : 'link_order');
      if (!end) report(checkpointLine, at, 'chain_missing');
      else if (end.seq < head.seq) report(end.line, { chain: head.chain, seq: end.seq }, 'truncated');
      else if (end.seq !== head.seq || end.hash !== head.hash) report(end.line, at, 'head_mismatch');
    }
    for (const [chain, end] of last) if (!signed.has(chain)) report(end.line, { chain }, 'chain_unsigned');
  }
  problems.sort((a, b) => a.line - b.line);
  return {
    ok: problems.length === 0,
    links,
    rowsChecked,
    chains: last.size,
    keyId: checkpoint?.keyId ?? null,
    publicKey: checkpoint?.publicKey ?? null,
    signedAt: checkpoint?.createdAt ?? null,
    problems,
  };
}
