/**
 * The messages of the notification queue (wrangler.toml `NOTIFY_QUEUE`, docs/observability.md):
 * shared by who sends them (the organization's MetricsHub for alerts, the budget gate, the API's
 * replay) and the Worker's queue handler that routes and delivers them (workers/notify/).
 *
 *   route    an event of an organization: fanned out to every channel whose routing matches
 *   deliver  one delivery row (notify_deliveries): sent to its channel, retried with backoff
 */
import { z } from 'zod';

export const NOTIFY_SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;

/** What a channel receives about an event: identifiers and figures, never content or secrets. */
export const notifyEventSchema = z.object({
  /** The alert's id for an alert; otherwise an id of the event itself. */
  id: z.string().min(1).max(100),
  /** An alert type (kill_switch, detection, …), `budget`, `approval_requested` or `test`. */
  type: z.string().min(1).max(64),
  severity: z.enum(NOTIFY_SEVERITIES),
  title: z.string().min(1).max(500),
  alertId: z.string().max(100).nullable(),
  connectionId: z.string().max(100).nullable(),
  fingerprint: z.string().max(500).nullable(),
  details: z.record(z.string(), z.unknown()),
  occurredAt: z.string().max(40),
});
export type NotifyEvent = z.infer<typeof notifyEventSchema>;

export const notifyMessageSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('route'), orgId: z.string().min(1).max(100), event: notifyEventSchema }),
  z.object({
    kind: z.literal('deliver'),
    orgId: z.string().min(1).max(100),
    deliveryId: z.string().min(1).max(100),
  }),
]);
export type NotifyMessage = z.infer<typeof notifyMessageSchema>;

/**
 * Hands events to the notification queue. Best effort by design: a notification never fails the
 * write of the alert it is about (the alert is in the inbox either way); a failed send is logged by
 * the caller.
 */
export async function sendNotifyEvents(
  queue: { sendBatch(messages: Iterable<{ body: NotifyMessage }>): Promise<unknown> },
  orgId: string,
  events: readonly NotifyEvent[],
): Promise<void> {
  // A queue batch holds at most 100 messages.
  for (let i = 0; i < events.length; i += 100) {
    await queue.sendBatch(
      events
        .slice(i, i + 100)
        .map((event) => ({ body: { kind: 'route', orgId, event } satisfies NotifyMessage })),
    );
  }
}
