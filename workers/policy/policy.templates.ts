/**
 * Ready-made policies (`GET /api/v1/policy/templates`), applied with `PUT …/policy` like any
 * document. Pure data, validated by the policy schema in a unit test.
 *
 * `read_only` is built on tool annotations (docs/tool-integrity.md#annotations-as-policy-input):
 * only tools whose **pinned** baseline says `readOnlyHint: true` are allowed. A tool never approved,
 * changed since its approval, or not annotated has no pinned `readOnlyHint` and is denied — the
 * server's own live answer never makes a tool "read-only".
 *
 * The two session-taint templates (docs/policies.md#session-taint-toxic-flows) label tools by
 * common names and by their pinned annotations — `openWorldHint` (the tool reaches the open world)
 * and `readOnlyHint` — and end with an allow of everything else, so they are a starting point to
 * adapt to a connection's own tool names:
 *   - `untrusted_input_network_approval`: open-world reads (fetch, browse, search…) add
 *     `untrusted_input`; after one, a network sink (send, post, upload, webhooks, other open-world
 *     tools) is held for an approver of that exact call (`onTaint: "approve"`).
 *   - `private_data_no_untrusted_output`: every closed-world tool adds `private_data` (any of them
 *     may return it); after one, open-world tools — which send to or read from outside — are refused.
 */
import type { Rule } from './policy.schema';

export interface PolicyTemplate {
  id: string;
  name: string;
  description: string;
  rules: Rule[];
}

/** Tool names that usually send data out of the organization. */
const NETWORK_SINKS = ['send_*', 'post_*', 'upload_*', '*webhook*'] as const;
/** Tool names that usually bring outside content in. */
const UNTRUSTED_READS = ['fetch*', 'browse*', 'web_*', '*search*'] as const;

const SINK_REASON = 'After untrusted input, a network sink needs an approval';
const sinkRule = (tool: string, conditions?: Rule['conditions']): Rule => ({
  tool,
  action: 'allow',
  ...(conditions ? { conditions } : {}),
  labels: ['sink:network'],
  cleanOf: [['untrusted_input']],
  onTaint: 'approve',
  reason: SINK_REASON,
});
const untrustedRule = (tool: string, conditions?: Rule['conditions']): Rule => ({
  tool,
  action: 'allow',
  ...(conditions ? { conditions } : {}),
  labels: ['untrusted_input'],
});

const OUTPUT_REASON = 'After private data, tools that reach the open world are refused';
const openWorldRule = (tool: string, conditions?: Rule['conditions']): Rule => ({
  tool,
  action: 'allow',
  ...(conditions ? { conditions } : {}),
  cleanOf: [['private_data']],
  reason: OUTPUT_REASON,
});

export const POLICY_TEMPLATES: readonly PolicyTemplate[] = [
  {
    id: 'read_only',
    name: 'Read-only by default',
    description:
      'Allows only tools whose approved (pinned) definition is annotated readOnlyHint: true; denies every other tool, resource and prompt.',
    rules: [
      { tool: '*', action: 'allow', conditions: { 'annotations.readOnlyHint': true } },
      {
        tool: '*',
        action: 'deny',
        reason:
          'Read-only policy: only tools whose approved definition is annotated readOnlyHint are allowed',
      },
    ],
  },
  {
    id: 'untrusted_input_network_approval',
    name: 'After untrusted input, no network sinks without approval',
    description:
      'Tools that read the open world (fetch*, browse*, web_*, *search*, or pinned openWorldHint + readOnlyHint) mark the session untrusted_input; after that, network sinks (send_*, post_*, upload_*, *webhook*, other open-world tools) are held until an approver allows that exact call. Everything else is allowed.',
    rules: [
      ...NETWORK_SINKS.map((tool) => sinkRule(tool)),
      ...UNTRUSTED_READS.map((tool) => untrustedRule(tool)),
      untrustedRule('*', { 'annotations.openWorldHint': true, 'annotations.readOnlyHint': true }),
      sinkRule('*', { 'annotations.openWorldHint': true }),
      { tool: '*', action: 'allow' },
    ],
  },
  {
    id: 'private_data_no_untrusted_output',
    name: 'After private data, no untrusted-output tools',
    description:
      'Every closed-world tool marks the session private_data (any of them may return it); after that, tools that reach the open world (send_*, post_*, upload_*, *webhook*, fetch*, browse*, web_*, *search*, or pinned openWorldHint) are refused.',
    rules: [
      ...[...NETWORK_SINKS, ...UNTRUSTED_READS].map((tool) => openWorldRule(tool)),
      openWorldRule('*', { 'annotations.openWorldHint': true }),
      { tool: '*', action: 'allow', labels: ['private_data'] },
    ],
  },
];
