/**
 * The signed export of an organization's audit hash chains (docs/observability.md#signed-export-and-offline-verification),
 * verified offline by `npx igris-edge audit verify <export.ndjson>` (sdk/src/cli.audit.ts) — no access to the
 * gateway or D1 needed, so a copy kept elsewhere proves what the trail said when it was exported.
 *
 * NDJSON, one object a line, chain by chain in seq order, then one checkpoint:
 *   {"kind":"link","chain","seq","eventId","rowHash","prevHash","hash","row":[…]|null}
 *     `row`: the audit row's D1 values (the columns of durable-objects/audit.rows.ts, in order) on the
 *     newest link of each row — the one its content must match (row_hash = SHA-256(JSON of row));
 *     null on older links of a row written again, and for a row retention has removed.
 *   {"kind":"checkpoint","version":1,"orgId","createdAt","heads":[{"chain","first","seq","hash"}],"keyId","publicKey","signature"}
 *     Ed25519 over the JSON of {version, orgId, createdAt, heads}: where each chain starts in the export
 *     (`first`: retention removes the oldest links) and the head it ends at.
 *
 * The key: one Ed25519 pair per organization, made on first use; the private key sealed in the vault
 * (`audit_signing_keys`, AAD `<org>:<id>:audit-signing`, re-sealed on master-key rotation).
 */
import { COLUMNS } from '../../durable-objects/audit.rows';
import type { Principal } from '../app.types';
import { forbidden, grantOf } from '../auth/permissions';
import { randomId } from '../lib/ids';
import { getVault, type VaultEnv } from '../vault/vault.crypto';

const PAGE = 500;
const ID_INDEX = COLUMNS.findIndex(([column]) => column === 'id');

type SigningEnv = VaultEnv & Pick<Env, 'DB'>;

const b64 = (bytes: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
const b64url = (bytes: ArrayBuffer) => b64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const unb64 = (text: string) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));

export const signingAad = (orgId: string, id: string) => `${orgId}:${id}:audit-signing`;

export interface SigningKey {
  keyId: string;
  publicKey: string;
  privateKey: CryptoKey;
}

/** The organization's key, made (and sealed) on first use; a concurrent first use keeps one. */
export async function signingKey(env: SigningEnv, orgId: string): Promise<SigningKey> {
  const vault = await getVault(env);
  const read = () =>
    env.DB.prepare('SELECT id, public_key, private_ciphertext FROM audit_signing_keys WHERE org_id = ?')
      .bind(orgId)
      .first<{ id: string; public_key: string; private_ciphertext: string }>();
  let row = await read();
  if (!row) {
    const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const id = randomId('ask');
    const pkcs8 = b64((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer);
    const raw = b64url((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer);
    await env.DB.prepare(
      'INSERT OR IGNORE INTO audit_signing_keys (id, org_id, public_key, private_ciphertext) VALUES (?, ?, ?, ?)',
    )
      .bind(id, orgId, raw, await vault.encrypt(pkcs8, signingAad(orgId, id)))
      .run();
    row = await read();
  }
  if (!row) throw new Error('audit signing key could not be stored');
  const pkcs8 = unb64(await vault.decrypt(row.private_ciphertext, signingAad(orgId, row.id)));
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
  return { keyId: row.id, publicKey: row.public_key, privateKey };
}

/** What the checkpoint's signature covers: this exact JSON (key order as written here). */
export function checkpointPayload(p: { orgId: string; createdAt: string; heads: Head[] }): string {
  return JSON.stringify({ version: 1, orgId: p.orgId, createdAt: p.createdAt, heads: p.heads });
}

/** A chain as exported: from `first` (retention may have removed earlier links) to `seq`, its head. */
export type Head = { chain: string; first: number; seq: number; hash: string };

/** Every chain of the organization: where it starts now and its head (ordered by chain). */
export async function chainHeads(db: D1Database, orgId: string): Promise<Head[]> {
  const { results } = await db
    .prepare(
      `SELECT c.chain AS chain, h.first AS first, c.seq AS seq, c.hash AS hash FROM audit_chain c
     JOIN (SELECT chain, min(seq) AS first, max(seq) AS seq FROM audit_chain WHERE org_id = ? GROUP BY chain) h
       ON h.chain = c.chain AND h.seq = c.seq
     WHERE c.org_id = ? ORDER BY c.chain`,
    )
    .bind(orgId, orgId)
    .all<Head>();
  return results;
}

/** The signed checkpoint object (the export's last line; a row of audit_checkpoints). */
export async function signCheckpoint(
  key: SigningKey,
  orgId: string,
  createdAt: string,
  heads: Head[],
): Promise<{
  kind: 'checkpoint';
  version: 1;
  orgId: string;
  createdAt: string;
  heads: Head[];
  keyId: string;
  publicKey: string;
  signature: string;
}> {
  const payload = checkpointPayload({ orgId, createdAt, heads });
  const signature = b64url(
    await crypto.subtle.sign('Ed25519', key.privateKey, new TextEncoder().encode(payload)),
  );
  return {
    kind: 'checkpoint',
    version: 1,
    orgId,
    createdAt,
    heads,
    keyId: key.keyId,
    publicKey: key.publicKey,
    signature,
  };
}

async function* lines(env: SigningEnv, orgId: string, heads: Head[]): AsyncGenerator<string> {
  const columns = COLUMNS.map(([c]) => `"${c}"`).join(', ');
  for (const head of heads) {
    // The newest link of each row within the export (the one its content must match).
    const newest = await env.DB.prepare(
      'SELECT event_id, max(seq) AS seq FROM audit_chain WHERE chain = ? AND org_id = ? AND seq <= ? GROUP BY event_id',
    )
      .bind(head.chain, orgId, head.seq)
      .all<{ event_id: string; seq: number }>();
    const newestSeq = new Map(newest.results.map((r) => [r.event_id, r.seq]));
    for (let after = 0; after < head.seq; ) {
      const page = await env.DB.prepare(
        `SELECT seq, event_id, row_hash, prev_hash, hash FROM audit_chain
         WHERE chain = ? AND org_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ${PAGE}`,
      )
        .bind(head.chain, orgId, after, head.seq)
        .all<{ seq: number; event_id: string; row_hash: string; prev_hash: string; hash: string }>();
      if (page.results.length === 0) break;
      const wanted = page.results.filter((l) => newestSeq.get(l.event_id) === l.seq).map((l) => l.event_id);
      const rows = new Map<string, unknown[]>();
      for (let i = 0; i < wanted.length; i += 50) {
        const chunk = wanted.slice(i, i + 50);
        const values = await env.DB.prepare(
          `SELECT ${columns} FROM audit_events WHERE org_id = ? AND id IN (${chunk.map(() => '?').join(', ')})`,
        )
          .bind(orgId, ...chunk)
          .raw();
        for (const v of values) rows.set(v[ID_INDEX] as string, v);
      }
      for (const l of page.results) {
        yield `${JSON.stringify({
          kind: 'link',
          chain: head.chain,
          seq: l.seq,
          eventId: l.event_id,
          rowHash: l.row_hash,
          prevHash: l.prev_hash,
          hash: l.hash,
          row: newestSeq.get(l.event_id) === l.seq ? (rows.get(l.event_id) ?? null) : null,
        })}\n`;
      }
      after = page.results[page.results.length - 1]!.seq;
    }
  }
}

/** The export as a stream (pages pulled as the client reads), ending with the signed checkpoint. */
export async function signedChainExport(
  env: SigningEnv,
  principal: Principal,
): Promise<ReadableStream<Uint8Array>> {
  if (grantOf(principal, 'audit:read') !== 'all') throw forbidden('audit:read', principal.role);
  const orgId = principal.orgId;
  const key = await signingKey(env, orgId);
  // The heads are fixed first: links written while the export runs are not in it (nor signed).
  const heads = await chainHeads(env.DB, orgId);
  const checkpoint = `${JSON.stringify(await signCheckpoint(key, orgId, new Date().toISOString(), heads))}\n`;
  const source = lines(env, orgId, heads);
  const encoder = new TextEncoder();
  let done = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (done) return;
      const next = await source.next();
      if (next.done) {
        done = true;
        controller.enqueue(encoder.encode(checkpoint));
        controller.close();
      } else controller.enqueue(encoder.encode(next.value));
    },
  });
}

/** The organization's public key (base64url raw Ed25519), to pin when verifying offline. */
export async function signingPublicKey(
  env: SigningEnv,
  principal: Principal,
): Promise<{ keyId: string; publicKey: string; algorithm: 'Ed25519' }> {
  if (grantOf(principal, 'audit:read') !== 'all') throw forbidden('audit:read', principal.role);
  const key = await signingKey(env, principal.orgId);
  return { keyId: key.keyId, publicKey: key.publicKey, algorithm: 'Ed25519' };
}
