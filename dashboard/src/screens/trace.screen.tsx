/**
 * One trace (X-Igris-Trace-Id): every event of one agent task, across connections, oldest first,
 * so the chain reads top to bottom — which tool, who, what was decided, and how long it took.
 */
import { useQuery } from '@tanstack/react-query';
import { v1 } from '../api/api.client';
import { formatTime } from '../lib/format';
import { Link } from '../lib/router';
import { Badge, PageHeader } from '../ui/page';
import { Empty, ErrorState, Loading } from '../ui/states';

export function TraceScreen({ params }: { params: Record<string, string> }) {
  const traceId = params.traceId ?? '';
  const trace = useQuery({
    queryKey: ['audit', 'trace', traceId],
    queryFn: ({ signal }) => v1('get', '/traces/{traceId}', { path: { traceId }, signal }),
    refetchInterval: 10_000,
  });
  const events = trace.data?.events ?? [];
  const start = events[0] ? Date.parse(events[0].createdAt) : 0;
  const end = events.length > 0 ? Date.parse(events[events.length - 1]?.createdAt ?? '') : 0;
  const connections = [...new Set(events.map((e) => e.connectionSlug).filter(Boolean))];
  const refused = events.filter(
    (e) => !['allow', 'pass', 'alert', 'approve'].includes(e.action) && e.type === 'tool_call',
  ).length;

  return (
    <>
      <PageHeader
        title="Trace"
        subtitle={<code data-testid="trace-id">{traceId}</code>}
        actions={
          <Link className="btn" to={`/audit?traceId=${encodeURIComponent(traceId)}`}>
            Open as a filtered list
          </Link>
        }
      />
      {trace.isPending ? <Loading label="Loading trace…" /> : null}
      {trace.isError ? <ErrorState error={trace.error} retry={() => void trace.refetch()} /> : null}
      {trace.data && events.length === 0 ? (
        <Empty title="No events with this trace id">
          It may be too recent, or outside the retention period.
        </Empty>
      ) : null}
      {events.length > 0 ? (
        <>
          <div className="stat-row">
            <div className="stat">
              <span className="stat-value">{events.length}</span>
              <span className="stat-label">events{trace.data?.truncated ? ' (first 1,000)' : ''}</span>
            </div>
            <div className="stat">
              <span className="stat-value">{((end - start) / 1000).toFixed(1)} s</span>
              <span className="stat-label">from first to last</span>
            </div>
            <div className="stat">
              <span className="stat-value">{connections.length}</span>
              <span className="stat-label">connection{connections.length === 1 ? '' : 's'}</span>
            </div>
            <div className="stat">
              <span className={`stat-value ${refused > 0 ? 'text-bad' : ''}`}>{refused}</span>
              <span className="stat-label">refused</span>
            </div>
          </div>
          <ol className="timeline" aria-label="Trace events, oldest first">
            {events.map((e, i) => (
              <li key={e.id} className={`timeline-item outcome-${e.action}`} data-testid="trace-event">
                <div className="timeline-marker" aria-hidden="true">
                  {i + 1}
                </div>
                <div className="timeline-body">
                  <div className="timeline-head">
                    <Badge value={e.action} />
                    <strong className="mono">{e.tool ?? e.method ?? e.type}</strong>
                    {e.connectionSlug ? (
                      <Link to={`/connections/${e.connectionSlug}`} className="muted">
                        on {e.connectionSlug}
                      </Link>
                    ) : null}
                    <span className="muted small">
                      +{((Date.parse(e.createdAt) - start) / 1000).toFixed(3)} s · {formatTime(e.createdAt)}
                    </span>
                  </div>
                  <div className="timeline-meta small">
                    <span>type {e.type}</span>
                    {e.user ? <span>user {e.user}</span> : null}
                    {e.ruleIndex !== null ? (
                      <span>
                        rule #{e.ruleIndex + 1} (policy v{e.policyVersion})
                      </span>
                    ) : null}
                    {e.latencyMs !== null ? <span>{e.latencyMs} ms</span> : null}
                    {e.upstreamStatus !== null ? <span>upstream {e.upstreamStatus}</span> : null}
                    {e.errorCode ? <span className="text-bad">{e.errorCode}</span> : null}
                    {e.sessionId ? <span className="mono">{e.sessionId}</span> : null}
                  </div>
                  {e.metadata ? <pre className="json-inline">{JSON.stringify(e.metadata)}</pre> : null}
                </div>
              </li>
            ))}
          </ol>
        </>
      ) : null}
    </>
  );
}
