/**
 * The MCP scanner's API (docs/tool-integrity.md#mcp-scanner): scan a connection's upstream with its
 * stored credential, or a bare URL (no credential; not yet a connection), through the gateway's
 * transport, and keep the result. Who: a connection's scan — a member who may read the connection
 * and use it (owner/admin: any; developer: their own or shared with them; auditor: none — a scan
 * sends the credential); a URL scan — a member who may create connections (it is theirs). Another
 * organization's connection, or scan, is 404. An upstream that cannot be scanned is a `failed`
 * scan with an error code, not an API error: the answer says what happened to the server.
 *
 * A connection's scan re-publishes its tool-integrity state: a critical finding nobody suppressed
 * blocks the connection when it sets `blockOnCriticalScan` (scans.suppress.ts).
 */
import type { Principal } from '../app.types';
import { adminAuditStatement } from '../audit/audit.admin';
import { requireOnResource, requirePermission } from '../auth/permissions';
import { checkOutboundUrl } from '../connections/connection.rules';
import { type ConnectionEnv, getConnectionRow } from '../connections/connections.read';
import { type ResolvedConnection, requireConnectionUse } from '../gateway/gateway.connection';
import type { UpstreamTarget } from '../gateway/gateway.forward';
import { otherConnectionTools, republishState } from '../integrity/integrity.store';
import { blockInForce } from '../integrity/integrity.types';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { iso, parseStoredJson } from '../lib/values';
import { credentialForCall } from '../oauth/upstream.tokens';
import { readConnectionSettings } from '../shared/connection.settings';
import { runChecks, type ScanResultFinding } from './scans.checks';
import { probe } from './scans.probe';
import { pruneScansStatements, scanPruned } from './scans.retention';
import {
  findingFingerprint,
  type Suppression,
  scanBlockOf,
  suppressionFor,
  suppressionsOf,
} from './scans.suppress';

/** The whole scan (handshake, probes, three lists) must finish within this. */
const SCAN_DEADLINE_MS = 30_000;
/** Each upstream answer's headers must arrive within this. */
const HEADER_TIMEOUT_MS = 10_000;

export interface ScanFindingDto extends ScanResultFinding {
  /** The finding's fingerprint: what a suppression names. */
  id: string;
  suppression: { id: string; reason: string; by: string; at: string; expiresAt: string | null } | null;
}

export interface ScanDto {
  id: string;
  /** The connection's slug; null for a bare-URL scan. */
  connection: string | null;
  /** The scanned URL of a bare-URL scan (a connection's URL is not repeated here). */
  url: string | null;
  status: 'completed' | 'failed';
  error: string | null;
  server: Record<string, unknown> | null;
  /** Unsuppressed findings by severity. */
  summary: Record<'critical' | 'high' | 'medium' | 'low' | 'info', number>;
  suppressed: number;
  findings: ScanFindingDto[];
  createdBy: string | null;
  createdAt: string;
}

interface StoredScan {
  id: string;
  connection_id: string | null;
  connection_slug: string | null;
  target_url: string | null;
  created_by: string | null;
  status: 'completed' | 'failed';
  server: string | null;
  findings: string;
  error: string | null;
  created_at: number;
  /** Set once the findings and server were pruned (scans.retention.ts). */
  pruned_at?: number | null;
}

const NO_SUPPRESSIONS: ReadonlyMap<string, Suppression> = new Map();

function toDto(row: StoredScan, suppressions: ReadonlyMap<string, Suppression>): ScanDto {
  const stored = parseStoredJson(row.findings);
  const now = Date.now();
  const summary = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  let suppressed = 0;
  const findings = (Array.isArray(stored) ? (stored as ScanResultFinding[]) : []).map((f) => {
    const id = findingFingerprint(f);
    const s = suppressionFor(id, suppressions, now);
    if (s === null) summary[f.severity]++;
    else suppressed++;
    return {
      ...f,
      id,
      suppression:
        s === null
          ? null
          : {
              id: s.id,
              reason: s.reason,
              by: s.createdBy,
              at: iso(s.createdAt)!,
              expiresAt: iso(s.expiresAt),
            },
    };
  });
  return {
    id: row.id,
    connection: row.connection_slug,
    url: row.target_url,
    status: row.status,
    error: row.error,
    server: row.server === null ? null : (parseStoredJson(row.server) as Record<string, unknown>),
    summary,
    suppressed,
    findings,
    createdBy: row.created_by,
    createdAt: iso(row.created_at)!,
  };
}

function targetOf(connection: ResolvedConnection, credential: string | null): UpstreamTarget {
  return {
    url: connection.upstreamUrl,
    authType: connection.authType,
    authHeaderName: connection.authHeaderName,
    credential,
    timeoutMs: Math.min(connection.settings.upstreamTimeoutMs, HEADER_TIMEOUT_MS),
  };
}

function resolvedOf(row: Awaited<ReturnType<typeof getConnectionRow>>): ResolvedConnection {
  return {
    id: row.id,
    orgId: row.org_id,
    slug: row.slug,
    type: row.type,
    upstreamUrl: row.upstream_url,
    authType: row.auth_type,
    authHeaderName: row.auth_header_name,
    credentialCiphertext: row.credential_ciphertext,
    enabled: row.enabled === 1,
    settings: readConnectionSettings(parseStoredJson(row.settings)),
    createdBy: row.created_by,
  };
}

/** SSRF rules of connection URLs, applied to every scanned URL (loopback only where allowed). */
function requireScannableUrl(env: Env, url: string, path: string) {
  const check = checkOutboundUrl(env, url);
  if (!check.ok) {
    throw new AppError('validation_failed', {
      message:
        path === 'url'
          ? `The URL cannot be scanned: ${check.message}`
          : "The connection's upstream URL is not allowed",
      details: { location: 'body', path, ...(path === 'url' ? { rule: check.rule } : {}) },
    });
  }
}

interface ScanOutcome {
  status: 'completed' | 'failed';
  error: string | null;
  server: Record<string, unknown> | null;
  findings: ScanResultFinding[];
}

async function runScan(
  target: () => Promise<UpstreamTarget>,
  others: () => Promise<Awaited<ReturnType<typeof otherConnectionTools>>>,
): Promise<ScanOutcome> {
  try {
    const probed = await probe(await target(), AbortSignal.timeout(SCAN_DEADLINE_MS));
    const findings = runChecks({ ...probed.input, others: await others() });
    return { status: 'completed', error: null, server: probed.server, findings };
  } catch (err) {
    return {
      status: 'failed',
      error: err instanceof AppError ? err.code : 'upstream_unreachable',
      server: null,
      findings: [],
    };
  }
}

export type CreateScanInput =
  | { connection: string; url?: undefined }
  | { url: string; connection?: undefined };

export async function createScan(env: Env, principal: Principal, input: CreateScanInput): Promise<ScanDto> {
  return input.connection !== undefined
    ? scanConnection(env, principal, input.connection)
    : scanUrl(env, principal, input.url);
}

async function scanConnection(env: Env, principal: Principal, slug: string): Promise<ScanDto> {
  const connection = resolvedOf(
    await getConnectionRow(env, principal, slug, 'connections:read', {
      location: 'body',
      path: 'connection',
    }),
  );
  requireConnectionUse(principal, connection);
  if (connection.type !== 'mcp') {
    throw new AppError('validation_failed', {
      message: 'Only MCP connections can be scanned',
      details: { location: 'body', path: 'connection' },
    });
  }
  // The stored URL passed these rules when it was saved; ask again (the rules may have tightened).
  requireScannableUrl(env, connection.upstreamUrl, 'connection');
  const outcome = await runScan(
    // The scanning member's own upstream token on a connection in OAuth upstream mode (never the
    // connection's client secret, which is for the upstream's authorization server only).
    async () => targetOf(connection, await credentialForCall(env, connection, principal)),
    () => otherConnectionTools(env.DB, connection.orgId, connection.id),
  );
  const suppressions = await suppressionsOf(env.DB, connection.orgId, connection.id);
  // A completed scan with a critical finding nobody suppressed blocks the connection (with
  // blockOnCriticalScan): its `scans.block` row is written in the scan's own batch, so the block
  // is never in force without its record (scanBlockFor reads the same scan and suppressions).
  const blocks = (scanId: string) => {
    if (outcome.status !== 'completed' || !connection.settings.integrity.blockOnCriticalScan) return [];
    const now = Date.now();
    const block = blockInForce(scanBlockOf(scanId, outcome.findings, suppressions, now), now);
    return block
      ? [
          adminAuditStatement(env.DB, principal, {
            action: 'scans.block',
            connectionId: connection.id,
            connectionSlug: connection.slug,
            details: { scanId, critical: block.critical },
          }),
        ]
      : [];
  };
  const row = await store(
    env,
    principal,
    outcome,
    { connectionId: connection.id, slug: connection.slug },
    blocks,
  );
  // The latest scan decides the connection's block (blockOnCriticalScan): publish it now.
  await republishState(env, connection.orgId, connection.id);
  return toDto(row, suppressions);
}

async function scanUrl(env: Env, principal: Principal, url: string): Promise<ScanDto> {
  requirePermission(principal, 'connections:write');
  requireScannableUrl(env, url, 'url');
  const outcome = await runScan(
    async () => ({
      url,
      authType: 'none',
      authHeaderName: null,
      credential: null,
      timeoutMs: HEADER_TIMEOUT_MS,
    }),
    () => otherConnectionTools(env.DB, principal.orgId, ''),
  );
  return toDto(await store(env, principal, outcome, { url }), NO_SUPPRESSIONS);
}

async function store(
  env: Env,
  principal: Principal,
  outcome: ScanOutcome,
  target: { connectionId: string; slug: string } | { url: string },
  alsoRecord: (scanId: string) => D1PreparedStatement[] = () => [],
): Promise<StoredScan> {
  const row: StoredScan = {
    id: randomId('scn'),
    connection_id: 'connectionId' in target ? target.connectionId : null,
    connection_slug: 'slug' in target ? target.slug : null,
    target_url: 'url' in target ? target.url : null,
    created_by: principal.userId,
    status: outcome.status,
    server: outcome.server === null ? null : JSON.stringify(outcome.server),
    findings: JSON.stringify(outcome.findings),
    error: outcome.error,
    created_at: Date.now(),
  };
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO scans (id, org_id, connection_id, connection_slug, target_url, created_by, status, server, findings, error, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).bind(
      row.id,
      principal.orgId,
      row.connection_id,
      row.connection_slug,
      row.target_url,
      row.created_by,
      row.status,
      row.server,
      row.findings,
      row.error,
      row.created_at,
    ),
    // Scans past the newest kept leave their findings behind (and the oldest records go), in the same transaction.
    ...pruneScansStatements(env.DB, principal.orgId, row.connection_id, row.created_at),
    adminAuditStatement(env.DB, principal, {
      action: 'scans.create',
      connectionId: row.connection_id,
      connectionSlug: row.connection_slug,
      details: {
        scanId: row.id,
        status: row.status,
        findings: outcome.findings.length,
        ...(row.target_url !== null ? { url: row.target_url.slice(0, 500) } : {}),
      },
    }),
    ...alsoRecord(row.id),
  ]);
  return row;
}

const SCAN_COLUMNS = `s.id, s.connection_id, s.connection_slug, s.target_url, s.created_by, s.status, s.server,
  s.findings, s.error, s.created_at, s.pruned_at, COALESCE(c.created_by, s.created_by) AS owner`;

export async function getScan(env: ConnectionEnv, principal: Principal, id: string): Promise<ScanDto> {
  const row = await env.DB.prepare(
    `SELECT ${SCAN_COLUMNS} FROM scans s LEFT JOIN connections c ON c.id = s.connection_id AND c.org_id = s.org_id
     WHERE s.org_id = ? AND s.id = ? AND (s.connection_id IS NULL OR c.id IS NOT NULL)`,
  )
    .bind(principal.orgId, id)
    .first<StoredScan & { owner: string | null }>();
  if (!row) {
    throw new AppError('not_found', { message: 'Scan not found', details: { location: 'path', path: 'id' } });
  }
  requireOnResource(principal, 'connections:read', row.owner);
  if (row.pruned_at) throw scanPruned({ ...row, pruned_at: row.pruned_at });
  const suppressions =
    row.connection_id === null
      ? NO_SUPPRESSIONS
      : await suppressionsOf(env.DB, principal.orgId, row.connection_id);
  return toDto(row, suppressions);
}

/**
 * The organization's scans, newest first (`connection`: of one connection; findings left out —
 * `GET /scans/{id}` has them). A developer sees the scans of their own connections and their URL scans.
 */
export async function listScans(
  env: ConnectionEnv,
  principal: Principal,
  query: { connection?: string | undefined; limit: number },
) {
  const grant = requirePermission(principal, 'connections:read');
  const connectionId = query.connection
    ? (
        await getConnectionRow(env, principal, query.connection, 'connections:read', {
          location: 'query',
          path: 'connection',
        })
      ).id
    : null;
  const { results } = await env.DB.prepare(
    `SELECT ${SCAN_COLUMNS} FROM scans s LEFT JOIN connections c ON c.id = s.connection_id AND c.org_id = s.org_id
     WHERE s.org_id = ? AND s.pruned_at IS NULL AND (s.connection_id IS NULL OR c.id IS NOT NULL) AND (? IS NULL OR s.connection_id = ?)
       AND (? = 'all' OR COALESCE(c.created_by, s.created_by) = ?)
     ORDER BY s.created_at DESC, s.id DESC LIMIT ?`,
  )
    .bind(principal.orgId, connectionId, connectionId, grant, principal.userId ?? '', query.limit)
    .all<StoredScan & { owner: string | null }>();
  const byConnection = new Map<string, ReadonlyMap<string, Suppression>>();
  const scans: Omit<ScanDto, 'findings'>[] = [];
  for (const row of results) {
    let suppressions = NO_SUPPRESSIONS;
    if (row.connection_id !== null) {
      suppressions =
        byConnection.get(row.connection_id) ??
        (await suppressionsOf(env.DB, principal.orgId, row.connection_id));
      byConnection.set(row.connection_id, suppressions);
    }
    const { findings: _findings, ...rest } = toDto(row, suppressions);
    scans.push(rest);
  }
  return { scans };
}
