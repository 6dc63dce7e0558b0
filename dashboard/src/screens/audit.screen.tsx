/**
 * Audit: every decision the gateway and the API recorded. Filters live in the URL (shareable, and
 * the browser's back button works); pages follow the API's cursor; export downloads exactly the
 * filtered events as NDJSON or CSV.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { ApiError, apiUrl, authHeaders, getCredentials, v1 } from '../api/api.client';
import type { AuditEvent } from '../api/api.types';
import { formatShortTime, formatTime } from '../lib/format';
import { Link, useLocation } from '../lib/router';
import { LlmCallLine } from '../ui/llm.figures';
import { DecisionBadge, DecisionLegend } from '../ui/outcome';
import { Badge, PageHeader } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { FilterForm, type Filters, filtersFrom, toApiQuery } from './audit.filters';

const PAGE_SIZE = 50;

/** Streams the export to a file download, with the same filters and credentials as the table. */
async function download(format: 'ndjson' | 'csv', filters: Filters): Promise<void> {
  const res = await fetch(apiUrl('/api/v1/audit-events/export', { ...toApiQuery(filters), format }), {
    headers: authHeaders('GET'),
    credentials: getCredentials().kind === 'apiKey' ? 'omit' : 'include',
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as {
      error?: { code?: string; message?: string };
    } | null;
    throw new ApiError(
      res.status,
      body?.error?.code ?? 'export_failed',
      body?.error?.message ?? `Export failed (HTTP ${res.status})`,
      null,
      null,
    );
  }
  const disposition = res.headers.get('Content-Disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `audit-events.${format}`;
  const url = URL.createObjectURL(await res.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function EventDetails({ event }: { event: AuditEvent }) {
  const { id, ...rest } = event;
  return (
    <div className="event-details">
      <dl className="details">
        <dt>Event id</dt>
        <dd className="mono">{id}</dd>
        {event.traceId ? (
          <>
            <dt>Trace</dt>
            <dd>
              <Link to={`/audit/traces/${encodeURIComponent(event.traceId)}`}>Show the whole trace</Link>
            </dd>
          </>
        ) : null}
        {event.ruleIndex !== null ? (
          <>
            <dt>Matched rule</dt>
            <dd>
              #{event.ruleIndex + 1} of policy v{event.policyVersion}
            </dd>
          </>
        ) : null}
      </dl>
      <pre className="json-block">{JSON.stringify(rest, null, 2)}</pre>
    </div>
  );
}

export function AuditScreen(_props: { params: Record<string, string> }) {
  const { query } = useLocation();
  const queryText = query.toString();
  const filters = useMemo(() => filtersFrom(new URLSearchParams(queryText)), [queryText]);
  // Cursors of the pages before the current one (Newer pops, Older pushes), reset by new filters.
  const [paging, setPaging] = useState<{ filters: string; cursors: string[] }>({
    filters: queryText,
    cursors: [],
  });
  const cursors = paging.filters === queryText ? paging.cursors : [];
  const setCursors = (next: string[]) => setPaging({ filters: queryText, cursors: next });
  const cursor = cursors[cursors.length - 1];
  const [open, setOpen] = useState<string | null>(null);
  const [exporting, setExporting] = useState<'ndjson' | 'csv' | null>(null);
  const [exportError, setExportError] = useState<unknown>(null);

  const page = useQuery({
    queryKey: ['audit', 'list', filters, cursor ?? null],
    queryFn: ({ signal }) =>
      v1('get', '/audit-events', { query: { ...toApiQuery(filters), cursor, limit: PAGE_SIZE }, signal }),
    placeholderData: keepPreviousData,
    // The newest page follows new events during an incident; older pages hold still.
    refetchInterval: cursors.length === 0 ? 5000 : false,
  });
  const active = Object.keys(filters).filter((name) => name !== 'lifecycle').length;

  const exportAs = (format: 'ndjson' | 'csv') => {
    setExporting(format);
    setExportError(null);
    download(format, filters)
      .catch(setExportError)
      .finally(() => setExporting(null));
  };

  return (
    <>
      <PageHeader
        title="Audit"
        subtitle="Every gateway decision and administrative change, newest first."
        actions={
          <>
            <button
              type="button"
              className="btn"
              onClick={() => exportAs('ndjson')}
              disabled={exporting !== null}
            >
              {exporting === 'ndjson' ? 'Exporting…' : 'Export NDJSON'}
            </button>
            <button
              type="button"
              className="btn"
              onClick={() => exportAs('csv')}
              disabled={exporting !== null}
            >
              {exporting === 'csv' ? 'Exporting…' : 'Export CSV'}
            </button>
          </>
        }
      />
      <InlineError error={exportError} />
      <FilterForm filters={filters} />
      {active > 0 ? (
        <p className="muted small">
          {active} filter{active === 1 ? '' : 's'} applied — exports use the same filters.
        </p>
      ) : null}
      <DecisionLegend />
      {page.isPending ? <Loading label="Loading events…" /> : null}
      {page.isError ? <ErrorState error={page.error} retry={() => void page.refetch()} /> : null}
      {page.data && page.data.events.length === 0 ? (
        <Empty title={active > 0 ? 'No events match these filters' : 'No events yet'}>
          {active > 0
            ? 'Try a wider time range or fewer filters.'
            : 'Calls through the gateway appear here as they are decided.'}
        </Empty>
      ) : null}
      {page.data && page.data.events.length > 0 ? (
        <>
          <div className="table-wrap">
            <table
              className="table audit-table"
              aria-label="Audit events"
              aria-busy={page.isFetching}
              data-stale={page.isPlaceholderData || undefined}
            >
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Connection</th>
                  <th scope="col">Tool / method</th>
                  <th scope="col">Decision</th>
                  <th scope="col">User</th>
                  <th scope="col">Trace</th>
                  <th scope="col" className="num">
                    Latency
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.data.events.map((e) => (
                  <AuditRow
                    key={e.id}
                    event={e}
                    open={open === e.id}
                    onToggle={() => setOpen(open === e.id ? null : e.id)}
                  />
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages">
            <button
              type="button"
              className="btn"
              disabled={cursors.length === 0}
              onClick={() => setCursors(cursors.slice(0, -1))}
            >
              ← Newer
            </button>
            <span className="muted">Page {cursors.length + 1}</span>
            <button
              type="button"
              className="btn"
              disabled={!page.data.nextCursor}
              onClick={() => page.data?.nextCursor && setCursors([...cursors, page.data.nextCursor])}
            >
              Older →
            </button>
          </nav>
        </>
      ) : null}
    </>
  );
}

function AuditRow({ event, open, onToggle }: { event: AuditEvent; open: boolean; onToggle(): void }) {
  return (
    <>
      <tr className={open ? 'row-selected' : undefined} data-testid="audit-row">
        <td>
          <button
            type="button"
            className="link-button"
            aria-expanded={open}
            onClick={onToggle}
            title="Show details"
          >
            <time dateTime={event.createdAt} title={formatTime(event.createdAt)}>
              {formatShortTime(event.createdAt)}
            </time>
          </button>
        </td>
        <td className="mono small">{event.connectionSlug ?? '—'}</td>
        <td>
          <span className="mono">{event.tool ?? event.method ?? '—'}</span>
          {event.type === 'tool_call' || event.type === 'request' ? null : (
            <span className="badge badge-muted type-badge">{event.type}</span>
          )}
          <LlmCallLine call={event} />
        </td>
        <td>{event.outcome !== null ? <DecisionBadge call={event} /> : <Badge value={event.action} />}</td>
        <td>{event.user ?? <span className="muted">{event.actor ?? '—'}</span>}</td>
        <td className="mono small">
          {event.traceId ? (
            <Link
              to={`/audit/traces/${encodeURIComponent(event.traceId)}`}
              title="Show the whole trace"
              className="truncate trace-link"
            >
              {event.traceId}
            </Link>
          ) : (
            '—'
          )}
        </td>
        <td className="num">{event.latencyMs === null ? '—' : `${event.latencyMs} ms`}</td>
      </tr>
      {open ? (
        <tr className="row-details">
          <td colSpan={7}>
            <EventDetails event={event} />
          </td>
        </tr>
      ) : null}
    </>
  );
}
