/** Entry point: the Hono app for requests, the crons (retention; audit checkpoints), the notification queue, and the Durable Object classes. */
import { createFetch } from './app';
import { CHECKPOINT_CRON, runCheckpoints } from './audit/audit.checkpoints';
import { handleLangfuseMessages } from './langfuse/langfuse.deliver';
import { isLangfuseMessage } from './langfuse/langfuse.event';
import { handleNotifyBatch } from './notify/notify.deliver';
import { runScheduled } from './scheduled';

export { AuditSpool } from '../durable-objects/audit-spool.do';
export { BudgetCounter } from '../durable-objects/budget-counter.do';
export { ConnectionGuard } from '../durable-objects/connection-guard.do';
export { EventHub } from '../durable-objects/event-hub.do';
export { LoginLimiter } from '../durable-objects/login-limiter.do';
export { MetricsHub } from '../durable-objects/metrics-hub.do';
export { SessionFacts } from '../durable-objects/session-facts.do';

export default {
  fetch: createFetch(),
  scheduled: (controller, env, ctx) => {
    // Two triggers (wrangler.toml): the audit chains' signed checkpoints every 15 minutes
    // (workers/audit/audit.checkpoints.ts), and the daily work (retention, cards, re-encryption).
    ctx.waitUntil(
      controller.cron === CHECKPOINT_CRON
        ? runCheckpoints(env, controller.scheduledTime)
        : runScheduled(controller, env),
    );
  },
  // The notification queue (wrangler.toml NOTIFY_QUEUE): alert routing and channel delivery, and
  // the LLM calls bound for an organization's Langfuse project (workers/langfuse/).
  queue: async (batch, env) => {
    const langfuse = batch.messages.filter((m) => isLangfuseMessage(m.body));
    if (langfuse.length > 0) await handleLangfuseMessages(langfuse, env);
    await handleNotifyBatch({ messages: batch.messages.filter((m) => !isLangfuseMessage(m.body)) }, env);
  },
} satisfies ExportedHandler<Env>;
