/**
 * `POST /api/v1/scans` and `GET /api/v1/scans/{id}` (docs/tool-integrity.md#mcp-scanner): scan a
 * connection's upstream with its stored credential, through the gateway's transport, and keep
 * the result. Who: a member who may read the connection and use it (owner/admin: any; developer:
 * their own or shared with them; auditor: none — a scan sends the credential). Another
 * organization's connection, or scan, is 404. An upstream that cannot be scanned is a `failed`
 * scan with an error code, not an API error: the answer says what happened to the server.
 */
import type { Principal } from '../app.types';
import { adminAuditStatement } from '../audit/audit.admin';
import { requireOnResource } from '../auth/permissions';
import { checkUpstreamUrl } from '../connections/connection.rules';
import { type ConnectionEnv, getConnectionRow } from '../connections/connections.service';
import {
  type ResolvedConnection,
  requireConnectionUse,
  upstreamCredential,
} from '../gateway/gateway.connection';
import type { UpstreamTarget } from '../gateway/gateway.forward';
import { otherConnectionTools } from '../integrity/integrity.store';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { iso, parseStoredJson } from '../lib/values';
import { readConnectionSettings } from '../shared/connection.settings';
import { runChecks, type ScanInput, type ScanResultFinding } from './scans.checks';
import {
  CLIENT_INFO,
  endSession,
  listAll,
  type McpSession,
  PROTOCOL_VERSION,
  resultOf,
  send,
} from './scans.client';

/** The whole scan (handshake, probe, three lists) must finish within this. */
const SCAN_DEADLINE_MS = 30_000;
/** Each upstream answer's headers must arrive within this. */
const HEADER_TIMEOUT_MS = 10_000;

export interface ScanDto {
  id: string;
  connection: string;
  status: 'completed' | 'failed';
  error: string | null;
  server: Record<string, unknown> | null;
  summary: Record<'critical' | 'high' | 'medium' | 'low' | 'info', number>;
  findings: ScanResultFinding[];
  createdBy: string | null;
  createdAt: string;
}

interface StoredScan {
  id: string;
  connection_id: string;
  connection_slug: string;
  created_by: string | null;
  status: 'completed' | 'failed';
  server: string | null;
  findings: string;
  error: string | null;
  created_at: number;
}

function toDto(row: StoredScan): ScanDto {
  const findings = parseStoredJson(row.findings) as ScanResultFinding[];
  const summary = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const f of findings) summary[f.severity]++;
  return {
    id: row.id,
    connection: row.connection_slug,
    status: row.status,
    error: row.error,
    server: row.server === null ? null : (parseStoredJson(row.server) as Record<string, unknown>),
    summary,
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

/** Handshake and lists; returns what the checks read (minus the organization's other tools). */
async function probe(connection: ResolvedConnection, credential: string | null, signal: AbortSignal) {
  const session: McpSession = {
    target: targetOf(connection, credential),
    signal,
    sessionId: null,
    nextId: 1,
  };
  const init = await send(session, 'initialize', {
    protocolVersion: PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: CLIENT_INFO,
  });
  const initResult = resultOf(init, 'initialize');
  session.sessionId = init.headers.get('mcp-session-id');
  await send(session, 'notifications/initialized', undefined, true);
  const caps = (initResult.capabilities ?? {}) as Record<string, unknown>;
  const tools = await listAll(session, 'tools');
  const prompts = caps.prompts ? await listAll(session, 'prompts') : { items: [], truncated: false };
  const resources = caps.resources ? await listAll(session, 'resources') : { items: [], truncated: false };
  await endSession(session);
  // Does the endpoint insist on the credential? One initialize without it.
  let answeredWithoutCredential: boolean | null = null;
  if (credential !== null) {
    const bare: McpSession = { target: targetOf(connection, null), signal, sessionId: null, nextId: 1 };
    const answer = await send(bare, 'initialize', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: CLIENT_INFO,
    }).catch(() => null);
    answeredWithoutCredential =
      answer !== null && answer.status < 300 && answer.message?.result !== undefined;
  }
  const serverInfo = (initResult.serverInfo ?? null) as Record<string, unknown> | null;
  return {
    server: {
      name: typeof serverInfo?.name === 'string' ? serverInfo.name.slice(0, 200) : null,
      version: typeof serverInfo?.version === 'string' ? serverInfo.version.slice(0, 80) : null,
      protocolVersion:
        typeof initResult.protocolVersion === 'string' ? initResult.protocolVersion.slice(0, 40) : null,
      tools: tools.items.length,
      prompts: prompts.items.length,
      resources: resources.items.length,
    },
    input: {
      url: connection.upstreamUrl,
      authType: connection.authType,
      answeredWithoutCredential,
      protocolVersion: typeof initResult.protocolVersion === 'string' ? initResult.protocolVersion : null,
      sessionId: session.sessionId,
      tools: tools.items,
      prompts: prompts.items,
      resources: resources.items,
      truncated: tools.truncated || prompts.truncated || resources.truncated,
    } satisfies Omit<ScanInput, 'others'>,
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

export async function createScan(env: Env, principal: Principal, slug: string): Promise<ScanDto> {
  const connection = resolvedOf(await getConnectionRow(env, principal, slug));
  requireConnectionUse(principal, connection);
  if (connection.type !== 'mcp') {
    throw new AppError('validation_failed', {
      message: 'Only MCP connections can be scanned',
      details: { location: 'body', path: 'connection' },
    });
  }
  // The stored URL passed these rules when it was saved; ask again (the rules may have tightened).
  const allow = env.ALLOW_PRIVATE_UPSTREAMS === 'true';
  if (!checkUpstreamUrl(connection.upstreamUrl, { allowPrivate: allow, allowHttp: allow }).ok) {
    throw new AppError('validation_failed', {
      message: "The connection's upstream URL is not allowed",
      details: { location: 'body', path: 'connection' },
    });
  }
  const id = randomId('scn');
  let status: 'completed' | 'failed' = 'completed';
  let error: string | null = null;
  let server: Record<string, unknown> | null = null;
  let findings: ScanResultFinding[] = [];
  try {
    const credential = await upstreamCredential(env, connection);
    const probed = await probe(connection, credential, AbortSignal.timeout(SCAN_DEADLINE_MS));
    const others = await otherConnectionTools(env.DB, connection.orgId, connection.id);
    server = probed.server;
    findings = runChecks({ ...probed.input, others });
  } catch (err) {
    status = 'failed';
    error = err instanceof AppError ? err.code : 'upstream_unreachable';
  }
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO scans (id, org_id, connection_id, connection_slug, created_by, status, server, findings, error, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).bind(
      id,
      connection.orgId,
      connection.id,
      connection.slug,
      principal.userId,
      status,
      server === null ? null : JSON.stringify(server),
      JSON.stringify(findings),
      error,
      now,
    ),
    adminAuditStatement(env.DB, principal, {
      action: 'scans.create',
      connectionId: connection.id,
      connectionSlug: connection.slug,
      details: { scanId: id, status, findings: findings.length },
    }),
  ]);
  return toDto({
    id,
    connection_id: connection.id,
    connection_slug: connection.slug,
    created_by: principal.userId,
    status,
    server: server === null ? null : JSON.stringify(server),
    findings: JSON.stringify(findings),
    error,
    created_at: now,
  });
}

export async function getScan(env: ConnectionEnv, principal: Principal, id: string): Promise<ScanDto> {
  const row = await env.DB.prepare(
    `SELECT s.id, s.connection_id, s.connection_slug, s.created_by, s.status, s.server, s.findings, s.error,
            s.created_at, c.created_by AS owner
     FROM scans s JOIN connections c ON c.id = s.connection_id AND c.org_id = s.org_id
     WHERE s.org_id = ? AND s.id = ?`,
  )
    .bind(principal.orgId, id)
    .first<StoredScan & { owner: string | null }>();
  if (!row) {
    throw new AppError('not_found', { message: 'Scan not found', details: { location: 'path', path: 'id' } });
  }
  requireOnResource(principal, 'connections:read', row.owner);
  return toDto(row);
}
