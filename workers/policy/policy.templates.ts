/**
 * Ready-made policies (`GET /api/v1/policy/templates`), applied with `PUT …/policy` like any
 * document. Pure data, validated by the policy schema in a unit test.
 *
 * `read_only` is built on tool annotations (docs/tool-integrity.md#annotations-as-policy-input):
 * only tools whose **pinned** baseline says `readOnlyHint: true` are allowed. A tool never approved,
 * changed since its approval, or not annotated has no pinned `readOnlyHint` and is denied — the
 * server's own live answer never makes a tool "read-only".
 */
import type { Rule } from './policy.schema';

export interface PolicyTemplate {
  id: string;
  name: string;
  description: string;
  rules: Rule[];
}

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
];
