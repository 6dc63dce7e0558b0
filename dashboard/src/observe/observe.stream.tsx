/**
 * The Observe screen's event stream (observe.screen.tsx): which events each "Show" choice keeps,
 * and one line per event — a call with its decision, an anomaly (flashing while fresh), a session
 * suspended or resumed, findings, policy and connection changes, A2A task states.
 */
import type { GatewayEvent } from '../api/api.types';
import { formatClock, formatFigure } from '../lib/format';
import { Link } from '../lib/router';
import { DecisionBadge } from '../ui/outcome';
import { Badge } from '../ui/page';
import { isCall, type StreamItem } from './observe.store';

/** How long a live item stays highlighted after it arrives (ms). */
export const FLASH_MS = 8000;
export type StreamFilter =
  | 'all'
  | 'tool_call'
  | 'refused'
  | 'failed'
  | 'anomaly'
  | 'session_update'
  | 'changes';

export function matches(item: StreamItem, filter: StreamFilter): boolean {
  const e = item.event;
  if (filter === 'all') return true;
  if (filter === 'refused') return isCall(e) && !['allow', 'pass', 'alert', 'approve'].includes(e.action);
  if (filter === 'failed') return isCall(e) && (e.outcome === 'upstream_error' || e.outcome === 'timeout');
  if (filter === 'changes') return e.type === 'policy_update' || e.type === 'connection_update';
  return e.type === filter;
}

export function EventLine({
  item,
  slugOf,
  now,
}: {
  item: StreamItem;
  slugOf(id: string | null): string;
  now: number;
}) {
  const e: GatewayEvent = item.event;
  const fresh = item.live && now - item.receivedAt < FLASH_MS;
  const at = formatClock(Date.parse(e.timestamp));
  if (isCall(e)) {
    return (
      <li className={`stream-item ${fresh ? 'stream-new' : ''}`} data-testid="stream-item" data-type={e.type}>
        <time>{at}</time>
        <DecisionBadge call={e} />
        <span className="mono strong">{e.toolName ?? e.method ?? 'request'}</span>
        <span className="muted">on {slugOf(e.serverId)}</span>
        {e.user ? <span>{e.user}</span> : null}
        {e.latencyMs !== null ? <span className="muted small">{e.latencyMs} ms</span> : null}
        {e.traceId ? (
          <Link className="mono small" to={`/audit/traces/${encodeURIComponent(e.traceId)}`}>
            {e.traceId}
          </Link>
        ) : null}
      </li>
    );
  }
  if (e.type === 'anomaly') {
    return (
      <li
        className={`stream-item stream-anomaly ${fresh ? 'stream-flash' : ''}`}
        data-testid="stream-item"
        data-type={e.type}
        role={fresh ? 'alert' : undefined}
      >
        <time>{at}</time>
        <Badge value={e.anomalyType} />
        <strong>Anomaly</strong>
        <span className="mono">{e.toolName ?? 'connection-wide'}</span>
        <span className="muted">on {slugOf(e.serverId)}</span>
        {e.currentRate !== null ? (
          <span className="small">
            {formatFigure(e.currentRate)}/min vs threshold{' '}
            {e.threshold === null ? '—' : `${formatFigure(e.threshold)}/min`}
          </span>
        ) : null}
      </li>
    );
  }
  if (e.type === 'session_update') {
    return (
      <li className={`stream-item ${fresh ? 'stream-new' : ''}`} data-testid="stream-item" data-type={e.type}>
        <time>{at}</time>
        <Badge value={e.status} />
        <span>Session {e.status === 'suspended' ? 'suspended' : 'resumed'}</span>
        <span className="muted">on {slugOf(e.serverId)}</span>
        <span className="mono small muted">{e.sessionId}</span>
      </li>
    );
  }
  if (e.type === 'findings') {
    return (
      <li className={`stream-item ${fresh ? 'stream-new' : ''}`} data-testid="stream-item" data-type={e.type}>
        <time>{at}</time>
        <Badge value="findings" tone="neutral" />
        <span>
          {e.findings.length} finding{e.findings.length === 1 ? '' : 's'} in the answer of{' '}
          {e.toolName ?? 'a call'}: {[...new Set(e.findings.map((f) => f.kind))].join(', ')}
        </span>
        <span className="muted">on {slugOf(e.serverId)}</span>
      </li>
    );
  }
  if (e.type === 'policy_update' || e.type === 'connection_update') {
    return (
      <li className={`stream-item ${fresh ? 'stream-new' : ''}`} data-testid="stream-item" data-type={e.type}>
        <time>{at}</time>
        <Badge value={e.type === 'policy_update' ? 'policy' : 'connection'} tone="neutral" />
        <span>
          {e.slug}: {e.change}
          {e.version ? ` (v${e.version})` : ''}
        </span>
      </li>
    );
  }
  if (e.type === 'a2a_task') {
    return (
      <li className={`stream-item ${fresh ? 'stream-new' : ''}`} data-testid="stream-item" data-type={e.type}>
        <time>{at}</time>
        <Badge value="task" tone="neutral" />
        <span>
          <span className="mono">{e.taskId}</span> {e.state}
          {e.skill ? <span className="muted"> ({e.skill})</span> : null}
        </span>
        <span className="muted">on {e.slug}</span>
      </li>
    );
  }
  // Any other kind of event (tool drift, budget warnings…): its type, and where it happened.
  const where = 'serverId' in e && typeof e.serverId === 'string' ? slugOf(e.serverId) : null;
  return (
    <li className={`stream-item ${fresh ? 'stream-new' : ''}`} data-testid="stream-item" data-type={e.type}>
      <time>{at}</time>
      <Badge value={e.type.replace('_', ' ')} tone="neutral" />
      {where ? <span className="muted">on {where}</span> : null}
    </li>
  );
}
