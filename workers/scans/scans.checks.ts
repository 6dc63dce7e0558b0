/**
 * The scanner's checks (docs/tool-integrity.md#mcp-scanner), pure: what the server said in its
 * handshake and lists, plus how it was reached, in; findings with severities out. The poisoning
 * and shadowing rules are the gateway's own (integrity.scan.ts); the rest are transport and
 * capability checks only a scan can make. Linear in the input: fixed expressions, no nesting.
 */
import type { Severity as DriftSeverity } from '../integrity/integrity.classify';
import { type OtherTool, scanDefinition, scanShadowing } from '../integrity/integrity.scan';
import { isRecord } from '../lib/values';

export const SCAN_SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type ScanSeverity = (typeof SCAN_SEVERITIES)[number];

export interface ScanResultFinding {
  /** A rule id: the integrity scan's kinds, or the scanner's own (see RULES in scans.sarif.ts). */
  kind: string;
  severity: ScanSeverity;
  /** `tool:<name>`, `prompt:<name>`, `resource:<uri>`, or `server` for the endpoint itself. */
  item: string;
  /** Where in the item (`description`, `inputSchema.properties.x`…); `` for the item itself. */
  path: string;
  /** What matched, ≤ 80 characters (never a credential: secrets are cut by the integrity scan). */
  match: string;
}

export interface ScanInput {
  url: string;
  /** How the connection authenticates upstream ('none': it sends no credential). */
  authType: 'bearer' | 'header' | 'query' | 'none';
  /** Did the server answer initialize without the credential? Null when not probed. */
  answeredWithoutCredential: boolean | null;
  /** Did the server answer initialize sent with a foreign Origin? Null when not probed. */
  acceptsForeignOrigin?: boolean | null;
  protocolVersion: string | null;
  sessionId: string | null;
  tools: Record<string, unknown>[];
  prompts: Record<string, unknown>[];
  resources: Record<string, unknown>[];
  truncated: boolean;
  others: readonly OtherTool[];
}

const DRIFT_TO_SCAN: Record<DriftSeverity, ScanSeverity> = {
  critical: 'critical',
  warning: 'medium',
  info: 'info',
};

const LOOPBACK = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/i;

/** Names and descriptions of tools that act on the world (shell, file writes, network, deletion). */
const DANGEROUS =
  /\b(?:exec|execute|shell|bash|run_command|command|terminal|subprocess|eval|write_file|delete|remove|rm|drop|upload|http_request|fetch_url|send_email|transfer)\b/i;
/** Parameters that take free-form code or commands: a tool that can do anything. */
const BROAD_PARAMS = new Set([
  'command',
  'cmd',
  'shell',
  'script',
  'code',
  'sql',
  'query_sql',
  'eval',
  'expression',
]);

function transportFindings(input: ScanInput): ScanResultFinding[] {
  const out: ScanResultFinding[] = [];
  const url = new URL(input.url);
  if (url.protocol === 'http:') {
    const local = LOOPBACK.test(url.hostname);
    out.push({
      kind: 'insecure_transport',
      severity: local ? 'low' : 'high',
      item: 'server',
      path: 'url',
      match: `${url.protocol}//${url.host}`,
    });
  }
  if (input.authType === 'none') {
    out.push({
      kind: 'missing_authentication',
      severity: 'medium',
      item: 'server',
      path: '',
      match: 'no credential configured',
    });
  } else if (input.answeredWithoutCredential) {
    out.push({
      kind: 'authentication_not_enforced',
      severity: 'high',
      item: 'server',
      path: '',
      match: 'initialize answered without the credential',
    });
  }
  if (input.acceptsForeignOrigin) {
    // DNS rebinding turns a page the user visits into a client of servers on their machine or
    // network: on a loopback host this is the attack the Origin rule exists for.
    out.push({
      kind: 'origin_not_validated',
      severity: LOOPBACK.test(url.hostname) ? 'high' : 'medium',
      item: 'server',
      path: 'Origin',
      match: 'initialize answered with a foreign Origin',
    });
  }
  if (input.sessionId !== null && weakSessionId(input.sessionId)) {
    out.push({
      kind: 'weak_session_id',
      severity: 'medium',
      item: 'server',
      path: 'Mcp-Session-Id',
      match: `${input.sessionId.length} characters`,
    });
  }
  if (input.protocolVersion !== null && input.protocolVersion < '2025-03-26') {
    out.push({
      kind: 'outdated_protocol',
      severity: 'low',
      item: 'server',
      path: 'protocolVersion',
      match: input.protocolVersion.slice(0, 80),
    });
  }
  if (input.truncated) {
    out.push({
      kind: 'list_truncated',
      severity: 'info',
      item: 'server',
      path: '',
      match: 'page or item cap reached',
    });
  }
  return out;
}

/** Shorter than 16 characters, or fewer than 8 distinct characters: guessable. */
export function weakSessionId(id: string): boolean {
  return id.length < 16 || new Set(id).size < 8;
}

function annotated(tool: Record<string, unknown>): boolean {
  const a = tool.annotations;
  return isRecord(a) && (typeof a.readOnlyHint === 'boolean' || typeof a.destructiveHint === 'boolean');
}

function capabilityFindings(tool: Record<string, unknown>, item: string): ScanResultFinding[] {
  const out: ScanResultFinding[] = [];
  const name = String(tool.name ?? '');
  const words = `${name.replace(/_/g, ' ')} ${String(tool.description ?? '').slice(0, 4096)}`;
  const hit = DANGEROUS.exec(`${name} ${words}`);
  if (hit && !annotated(tool)) {
    out.push({
      kind: 'dangerous_capability_unannotated',
      severity: 'medium',
      item,
      path: 'annotations',
      match: hit[0].slice(0, 80),
    });
  }
  const schema = isRecord(tool.inputSchema) ? tool.inputSchema : {};
  const props = isRecord(schema.properties) ? schema.properties : {};
  for (const [param, spec] of Object.entries(props).slice(0, 200)) {
    if (
      BROAD_PARAMS.has(param.toLowerCase()) &&
      isRecord(spec) &&
      spec.type === 'string' &&
      spec.enum === undefined
    ) {
      out.push({
        kind: 'overly_broad_tool',
        severity: 'high',
        item,
        path: `inputSchema.properties.${param}`,
        match: param.slice(0, 80),
      });
    }
  }
  return out;
}

function itemFindings(
  kind: 'tool' | 'prompt' | 'resource',
  def: Record<string, unknown>,
): ScanResultFinding[] {
  const key = String((kind === 'resource' ? def.uri : def.name) ?? '').slice(0, 200);
  const item = `${kind}:${key}`;
  return scanDefinition(def).map((f) => ({
    kind: f.kind,
    severity: DRIFT_TO_SCAN[f.severity],
    item,
    path: f.path,
    match: f.match,
  }));
}

/** Every finding of one scan, most severe first. */
export function runChecks(input: ScanInput): ScanResultFinding[] {
  const out = transportFindings(input);
  for (const tool of input.tools) {
    const item = `tool:${String(tool.name ?? '').slice(0, 200)}`;
    out.push(...itemFindings('tool', tool), ...capabilityFindings(tool, item));
    for (const f of scanShadowing(String(tool.name ?? ''), String(tool.description ?? ''), input.others)) {
      out.push({ kind: f.kind, severity: DRIFT_TO_SCAN[f.severity], item, path: f.path, match: f.match });
    }
  }
  for (const prompt of input.prompts) out.push(...itemFindings('prompt', prompt));
  for (const resource of input.resources) out.push(...itemFindings('resource', resource));
  const rank = (s: ScanSeverity) => SCAN_SEVERITIES.indexOf(s);
  return out.sort((a, b) => rank(a.severity) - rank(b.severity));
}
