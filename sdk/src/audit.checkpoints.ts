/**
 * An audit export checked against the gateway's periodic signed checkpoints
 * (`GET /api/v1/audit/checkpoints`, docs/observability.md#periodic-checkpoints), offline.
 *
 * The export's own checkpoint is signed when it is made, so an export of a chain someone rewrote in
 * D1 (every later link recomputed) verifies on its own. The periodic checkpoints were signed
 * earlier, over the chain as it was then: each names a chain's hash at a seq, and the export must
 * carry that very hash at that seq. Problems (each with the export's line, or line 0 and the
 * checkpoint's id for a problem of the checkpoint itself):
 *
 *   checkpoint_mismatch  the export's link at a checkpointed seq has another hash (rewritten since)
 *   truncated            the export ends before a seq a checkpoint older than the export vouched for
 *   chain_missing        a checkpointed chain is not in the export at all
 *   signature_invalid    a checkpoint's signature does not verify (edited or forged)
 *   key_mismatch         a checkpoint not signed with the pinned key
 *   checkpoint_other_org a checkpoint of another organization than the export's
 *   unreadable           the checkpoints file holds no checkpoint it can read
 *
 * A checkpointed seq older than the export's first link of its chain was removed by retention and is
 * not judged.
 */
import { type Checkpoint, isCheckpoint, isLink, signatureValid, type VerifyProblem } from './audit.verify.js';

export interface StoredCheckpoint extends Checkpoint {
  id?: string;
}

/** The checkpoints file: the API's page (`{checkpoints: [...]}`), a JSON array, or NDJSON lines. */
export function parseCheckpoints(text: string): StoredCheckpoint[] | null {
  let values: unknown[];
  try {
    const whole = JSON.parse(text) as unknown;
    if (Array.isArray(whole)) values = whole;
    else if (
      whole &&
      typeof whole === 'object' &&
      Array.isArray((whole as { checkpoints?: unknown }).checkpoints)
    )
      values = (whole as { checkpoints: unknown[] }).checkpoints;
    else values = [whole];
  } catch {
    try {
      values = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as unknown);
    } catch {
      return null;
    }
  }
  const checkpoints = values.filter(isCheckpoint) as StoredCheckpoint[];
  return checkpoints.length === values.length && checkpoints.length > 0 ? checkpoints : null;
}

interface ChainInExport {
  first: number;
  last: number;
  lastLine: number;
  /** seq → [hash, line] */
  links: Map<number, [string, number]>;
}

/** The export's links by chain and seq, and its own checkpoint's organization and time. */
function indexExport(exportText: string): {
  chains: Map<string, ChainInExport>;
  orgId: string | null;
  signedAt: string | null;
} {
  const chains = new Map<string, ChainInExport>();
  let orgId: string | null = null;
  let signedAt: string | null = null;
  const lines = exportText.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      continue; // verifyExport reports it
    }
    if (isCheckpoint(value)) {
      orgId = value.orgId;
      signedAt = value.createdAt;
    } else if (isLink(value)) {
      let chain = chains.get(value.chain);
      if (!chain) {
        chain = { first: value.seq, last: value.seq, lastLine: i + 1, links: new Map() };
        chains.set(value.chain, chain);
      }
      chain.first = Math.min(chain.first, value.seq);
      if (value.seq >= chain.last) {
        chain.last = value.seq;
        chain.lastLine = i + 1;
      }
      chain.links.set(value.seq, [value.hash, i + 1]);
    }
  }
  return { chains, orgId, signedAt };
}

export async function verifyAgainstCheckpoints(
  exportText: string,
  checkpoints: StoredCheckpoint[],
  pinnedPublicKey?: string,
): Promise<VerifyProblem[]> {
  const problems: VerifyProblem[] = [];
  const { chains, orgId, signedAt } = indexExport(exportText);
  for (const [index, cp] of checkpoints.entries()) {
    const checkpointId = cp.id ?? `#${index + 1}`;
    const own = (reason: string) =>
      problems.push({ line: 0, checkpointId, chain: null, seq: null, eventId: null, reason });
    if (!(await signatureValid(cp))) own('signature_invalid');
    if (pinnedPublicKey && cp.publicKey !== pinnedPublicKey) own('key_mismatch');
    if (orgId !== null && cp.orgId !== orgId) {
      own('checkpoint_other_org');
      continue;
    }
    // A checkpoint made after the export may name seqs the export could not hold yet.
    const olderThanExport = signedAt !== null && cp.createdAt <= signedAt;
    for (const head of cp.heads) {
      const at = (line: number, reason: string) =>
        problems.push({ line, checkpointId, chain: head.chain, seq: head.seq, eventId: null, reason });
      const chain = chains.get(head.chain);
      if (!chain) {
        if (olderThanExport) at(0, 'chain_missing');
        continue;
      }
      if (head.seq < chain.first) continue; // removed by retention
      const link = chain.links.get(head.seq);
      if (link) {
        if (link[0] !== head.hash) at(link[1], 'checkpoint_mismatch');
      } else if (head.seq > chain.last) {
        if (olderThanExport) at(chain.lastLine, 'truncated');
      } else at(chain.lastLine, 'checkpoint_mismatch'); // a gap where a vouched-for link was
    }
  }
  return problems;
}
