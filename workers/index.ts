/** Entry point: the Hono app for requests, the cron for retention, the notification queue, and the Durable Object classes. */
import { createApp } from './app';
import { handleNotifyBatch } from './notify/notify.deliver';
import { runScheduled } from './scheduled';

export { AuditSpool } from '../durable-objects/audit-spool.do';
export { BudgetCounter } from '../durable-objects/budget-counter.do';
export { ConnectionGuard } from '../durable-objects/connection-guard.do';
export { EventHub } from '../durable-objects/event-hub.do';
export { LoginLimiter } from '../durable-objects/login-limiter.do';
export { MetricsHub } from '../durable-objects/metrics-hub.do';

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled: (controller, env, ctx) => {
    ctx.waitUntil(runScheduled(controller, env));
  },
  // The notification queue (wrangler.toml NOTIFY_QUEUE): alert routing and channel delivery.
  queue: (batch, env) => handleNotifyBatch(batch, env),
} satisfies ExportedHandler<Env>;
