import { eventHubFor } from '../../durable-objects/do.client';
import { log } from '../lib/log';
import type { GatewayEvent } from '../shared/events.types';

/**
 * Publishes to the organization's hub without holding up the response (live events are
 * best-effort; the audit trail is the record).
 */
export function publishEvent(
  env: Pick<Env, 'EVENT_HUB'>,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  orgId: string,
  event: GatewayEvent,
): void {
  ctx.waitUntil(
    eventHubFor(env, orgId)
      .publish(event)
      .then(() => undefined)
      .catch((err: unknown) => log('warn', 'event publish failed', { err, type: event.type })),
  );
}
