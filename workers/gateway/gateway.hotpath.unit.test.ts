/**
 * Issue 20: no zod on the hot path for data the gateway wrote itself. The modules below run for
 * every call (or every exported call) and only ever see data the gateway validated when it was
 * written — keys, connections, policies, guard results, queue messages — so none of them may
 * parse with a schema. Caller input is validated at the boundary (the adapters' readers, the LLM
 * request reader) and cache fills may validate what they load (policy.store.ts, inspection.store.ts,
 * the guard's 30-second D1 sync, the memoized connection settings of gateway.connection.ts): those
 * files are not listed. A module added to the call path belongs here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

const PER_CALL = [
  'workers/gateway/gateway.call.ts',
  'workers/gateway/gateway.prepare.ts',
  'workers/gateway/gateway.forward.ts',
  'workers/gateway/gateway.redact.ts',
  'workers/gateway/gateway.outcome.ts',
  'workers/gateway/gateway.rewrite.ts',
  'workers/gateway/gateway.body-end.ts',
  'workers/gateway/gateway.stages.ts',
  'workers/gateway/gateway.decide.ts',
  'workers/gateway/gateway.audit.ts',
  'workers/gateway/gateway.rates.ts',
  'workers/gateway/gateway.respond.ts',
  'workers/gateway/gateway.taint.ts',
  'workers/gateway/gateway.claims.ts',
  'workers/gateway/llm.response.access.ts',
  'workers/gateway/llm.passthrough-read.ts',
  'workers/policy/policy.published.ts',
  'workers/policy/policy.compile.ts',
  'workers/policy/policy.evaluate.ts',
  'workers/governance/governance.cache.ts',
  'workers/integrity/integrity.state.ts',
  'workers/inspection/inspection.load.ts',
  'workers/inspection/inspection.engine.ts',
  'workers/inspection/inspection.mcp.stage.ts',
  'workers/inspection/inspection.a2a.stage.ts',
  'workers/inspection/inspection.rpc-error.ts',
  'workers/inspection/inspection.mcp.server-messages.ts',
  'workers/budgets/budget.gate.ts',
  'workers/approvals/approval.gate.ts',
  'workers/tracing/trace.call.ts',
  'workers/langfuse/langfuse.report.ts',
  'workers/langfuse/langfuse.deliver.ts',
  'workers/shared/audit.row.ts',
  'workers/oauth/oauth.cache.ts',
  'workers/config/config.epoch.ts',
  'durable-objects/session-facts.do.ts',
  'durable-objects/session.taint.ts',
  'durable-objects/session.record.ts',
  'durable-objects/session.gates.ts',
  'durable-objects/rate.window.ts',
  'durable-objects/kill.match.ts',
  'durable-objects/audit.spool.ts',
  'durable-objects/metrics.outbox.ts',
  'durable-objects/refusal.bursts.ts',
  'durable-objects/anomaly.detect.ts',
  'durable-objects/response.owners.ts',
  'durable-objects/owner.store.ts',
];

/** Source text without comments, so a comment that names a schema does not count. */
function code(file: string): string {
  return readFileSync(path.join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
}

const SCHEMA_PARSE = [
  /from '(zod|@hono\/zod-openapi)'/,
  /\b\w*[Ss]chema\.(safeParse|parse|parseAsync|safeParseAsync)\(/,
  /\breadConnectionSettings\(/,
  /\bparsePolicy\(/,
];

describe('hot path', () => {
  it('parses nothing with zod per call in the modules every call runs', () => {
    const offending = PER_CALL.flatMap((file) =>
      SCHEMA_PARSE.filter((pattern) => pattern.test(code(file))).map((pattern) => `${file}: ${pattern}`),
    );
    expect(offending).toEqual([]);
  });
});
