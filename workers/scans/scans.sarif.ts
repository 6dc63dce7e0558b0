/**
 * A scan as SARIF 2.1.0 (the format code-scanning tools read): one run, one rule per finding
 * kind, one result per finding with a logical location naming the connection and the item.
 * Levels: critical/high → error, medium → warning, low/info → note; the scanner's severity is
 * kept in `properties.severity` and as GitHub's `security-severity` on the rule.
 */
import type { ScanResultFinding, ScanSeverity } from './scans.checks';

const RULES: Record<string, string> = {
  hidden_instruction_tag: 'A hidden-instruction tag (<IMPORTANT>, <system>…) in a definition',
  model_directive: 'Text addressing the model ("ignore previous instructions"…)',
  concealment: 'Text asking the model to hide something from the user',
  sensitive_file: 'A reference to a sensitive file (~/.ssh, /etc/passwd…)',
  exfiltration: 'A request to send data somewhere',
  url: 'A URL in a definition',
  invisible_characters: 'Invisible or bidi control characters',
  secret_in_description: 'A credential-shaped string in a definition',
  shadowing: "A tool with the same name as another connection's tool",
  confusable_name: "A name confusable with another connection's tool",
  typosquat: "A name one or two edits from another connection's tool",
  cross_tool_reference: "A description naming another connection's tool",
  insecure_transport: 'The endpoint is plain HTTP',
  missing_authentication: 'The connection sends no credential to the endpoint',
  authentication_not_enforced: 'The endpoint answers without the credential',
  weak_session_id: 'A short or low-entropy Mcp-Session-Id',
  origin_not_validated: 'The endpoint accepts a foreign Origin (DNS rebinding)',
  outdated_protocol: 'An MCP protocol version older than 2025-03-26',
  list_truncated: 'A list was longer than the scanner reads',
  dangerous_capability_unannotated: 'A tool acting on the world without readOnlyHint/destructiveHint',
  overly_broad_tool: 'A tool taking a free-form command, script or query',
};

const LEVEL: Record<ScanSeverity, 'error' | 'warning' | 'note'> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
};

const SECURITY_SEVERITY: Record<ScanSeverity, string> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.0',
  low: '3.0',
  info: '0.0',
};

export interface SarifScan {
  id: string;
  /** The connection's slug, or the scanned URL's host for a bare-URL scan. */
  connectionSlug: string;
  /** `suppression`: accepted by an owner/admin (scans.suppress.ts), reported as a SARIF suppression. */
  findings: Array<ScanResultFinding & { suppression?: { reason: string } | null }>;
  createdAt: string;
  /** A failed scan (unreachable, timed out…) is an unsuccessful invocation, not a clean result. */
  status: 'completed' | 'failed';
  error: string | null;
}

export function toSarif(scan: SarifScan) {
  const kinds = [...new Set(scan.findings.map((f) => f.kind))];
  const worst = (kind: string) => scan.findings.find((f) => f.kind === kind)!.severity;
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0' as const,
    runs: [
      {
        tool: {
          driver: {
            name: 'igris-edge-scan',
            rules: kinds.map((kind) => ({
              id: kind,
              shortDescription: { text: RULES[kind] ?? kind },
              properties: { 'security-severity': SECURITY_SEVERITY[worst(kind)] },
            })),
          },
        },
        automationDetails: { id: `igris-edge-scan/${scan.connectionSlug}/${scan.id}` },
        invocations: [
          {
            executionSuccessful: scan.status === 'completed',
            endTimeUtc: scan.createdAt,
            ...(scan.status === 'failed'
              ? {
                  toolExecutionNotifications: [
                    {
                      level: 'error',
                      message: { text: `The scan failed: ${scan.error ?? 'unknown error'}` },
                    },
                  ],
                }
              : {}),
          },
        ],
        results: scan.findings.map((f) => ({
          ruleId: f.kind,
          ruleIndex: kinds.indexOf(f.kind),
          level: LEVEL[f.severity],
          message: { text: `${RULES[f.kind] ?? f.kind}: ${f.match}` },
          locations: [
            {
              logicalLocations: [
                {
                  name: f.item,
                  fullyQualifiedName: `${scan.connectionSlug}/${f.item}${f.path ? `#${f.path}` : ''}`,
                  kind: f.item === 'server' ? 'module' : 'function',
                },
              ],
            },
          ],
          properties: { severity: f.severity, item: f.item, path: f.path },
          ...(f.suppression
            ? {
                suppressions: [{ kind: 'external', status: 'accepted', justification: f.suppression.reason }],
              }
            : {}),
        })),
      },
    ],
  };
}
