/**
 * Live events published to an organization's hub and streamed on GET /api/v1/events.
 * Field names follow Igris (`serverId` is the connection id) so existing dashboards keep working.
 */
export interface ToolCallEvent {
  type: 'tool_call';
  serverId: string;
  sessionId: string | null;
  toolName: string | null;
  method: string | null;
  action: string;
  latencyMs: number | null;
  user: string | null;
  traceId: string | null;
  timestamp: string;
}

export interface AnomalyEvent {
  type: 'anomaly';
  serverId: string;
  anomalyType: 'rate_spike' | 'destructive_pattern';
  toolName: string | null;
  currentRate: number | null;
  threshold: number | null;
  timestamp: string;
}

export interface SessionUpdateEvent {
  type: 'session_update';
  sessionId: string;
  serverId: string | null;
  status: 'active' | 'suspended';
  timestamp: string;
}

export interface ManagementEvent {
  type: 'policy_update' | 'connection_update';
  serverId: string;
  slug: string;
  change: string;
  version?: number;
  timestamp: string;
}

export type GatewayEvent = ToolCallEvent | AnomalyEvent | SessionUpdateEvent | ManagementEvent;

/** The connection an event belongs to, for the `?connection=` filter. */
export function eventConnection(event: GatewayEvent): string | null {
  return event.serverId;
}
