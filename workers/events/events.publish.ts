import { eventHubFor } from '../../durable-objects/do.client';
import { log } from '../lib/log';
import type { GatewayEvent } from '../shared/events.types';

/**
 * Publishes to the organization's hub without holding up the response (live events are
 * best-effort; the audit trail is the record). Several events travel in one call, in order;
 * an empty list publishes nothing.
 */
export function publishEvent(
  env: Pick<Env, 'EVENT_HUB'>,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  orgId: string,
  event: GatewayEvent | GatewayEvent[],
): void {
  const events = Array.isArray(event) ? event : [event];
  if (events.length === 0) return;
  ctx.waitUntil(
    eventHubFor(env, orgId)
      .publish(event)
      .then(() => undefined)
      .catch((err: unknown) => log('warn', 'event publish failed', { err, type: events[0]!.type })),
  );
}
