/**
 * Alerts: the inbox (docs/observability.md#alert-inbox) — filters, cursor pages, the status
 * workflow open → acknowledged → resolved (or dismissed, and back to open) row by row or in bulk —
 * and the notification channels with their "send test" button, the dead-letter list (replay) and
 * the recent deliveries with their status (a replayed one shows `delivered` once it went through).
 * Changing anything is for owners and admins; auditors read.
 */
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { v1 } from '../api/api.client';
import type { Schemas } from '../api/api.types';
import { useOrg } from '../api/auth.context';
import { SelectField } from '../ui/field';
import { Badge, PageHeader, Time } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import { Channels } from './alerts.channels';

type Alert = Schemas['Alert'];
type Status = Alert['status'];
type Severity = Alert['severity'];
type Filters = { status: Status | ''; severity: Severity | ''; type: string };

const SEVERITY_TONES: Record<Severity, string> = {
  critical: 'bad',
  high: 'bad',
  medium: 'warn',
  low: 'muted',
  info: 'muted',
};
const STATUS_TONES: Record<Status, string> = {
  open: 'warn',
  acknowledged: 'ok',
  resolved: 'muted',
  dismissed: 'muted',
};
/** The moves the API allows from each status, as buttons. */
const MOVES: Record<Status, Array<[Status, string]>> = {
  open: [
    ['acknowledged', 'Acknowledge'],
    ['resolved', 'Resolve'],
    ['dismissed', 'Dismiss'],
  ],
  acknowledged: [
    ['resolved', 'Resolve'],
    ['dismissed', 'Dismiss'],
  ],
  resolved: [['open', 'Reopen']],
  dismissed: [['open', 'Reopen']],
};
const TYPES = ['kill_switch', 'detection', 'drift', 'anomaly', 'deny_spike', 'budget', 'approval', 'policy'];

function useAlerts(filters: Filters) {
  return useInfiniteQuery({
    queryKey: ['alerts', filters],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      v1('get', '/alerts', {
        query: {
          limit: 50,
          ...(filters.status ? { status: filters.status } : {}),
          ...(filters.severity ? { severity: filters.severity } : {}),
          ...(filters.type ? { type: filters.type as never } : {}),
          ...(pageParam ? { cursor: pageParam } : {}),
        },
        signal,
      }),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    refetchInterval: 10_000,
  });
}

function useChangeStatus() {
  const queryClient = useQueryClient();
  const { notify } = useToast();
  return useMutation({
    mutationFn: async ({ ids, status }: { ids: string[]; status: Status }) =>
      ids.length === 1
        ? v1('patch', '/alerts/{id}', { path: { id: ids[0]! }, body: { status } }).then(() => ({
            updated: ids,
            failed: [] as Array<{ id: string; code: string }>,
          }))
        : v1('post', '/alerts/bulk', { body: { ids, status } }),
    onSuccess: (result, { status }) => {
      notify(
        result.failed.length === 0
          ? `${result.updated.length} alert${result.updated.length === 1 ? '' : 's'} ${status}`
          : `${result.updated.length} ${status}, ${result.failed.length} could not change`,
        result.failed.length === 0 ? 'success' : 'danger',
      );
      void queryClient.invalidateQueries({ queryKey: ['alerts'] });
    },
  });
}

function AlertRow(props: {
  alert: Alert;
  canChange: boolean;
  selected: boolean;
  onSelect: (on: boolean) => void;
  change: ReturnType<typeof useChangeStatus>;
}) {
  const { alert, canChange, change } = props;
  return (
    <tr data-testid={`alert-row-${alert.id}`}>
      {canChange ? (
        <td>
          <input
            type="checkbox"
            checked={props.selected}
            onChange={(e) => props.onSelect(e.target.checked)}
            aria-label={`Select ${alert.title}`}
          />
        </td>
      ) : null}
      <td>
        <span className="strong">{alert.title}</span>
        <div className="muted small mono">
          {alert.type}
          {alert.count > 1 ? ` · ×${alert.count}` : ''}
          {alert.assignee ? ` · ${alert.assignee}` : ''}
        </div>
      </td>
      <td>
        <Badge value={alert.severity} tone={SEVERITY_TONES[alert.severity]} />
      </td>
      <td>
        <Badge value={alert.status} tone={STATUS_TONES[alert.status]} />
      </td>
      <td>
        <Time iso={alert.lastSeenAt} />
      </td>
      <td className="row-actions">
        {canChange
          ? MOVES[alert.status].map(([next, label]) => (
              <button
                key={next}
                type="button"
                className="btn btn-small"
                disabled={change.isPending}
                onClick={() => change.mutate({ ids: [alert.id], status: next })}
                aria-label={`${label} ${alert.title}`}
              >
                {label}
              </button>
            ))
          : null}
      </td>
    </tr>
  );
}

function Inbox({ canChange }: { canChange: boolean }) {
  const [filters, setFilters] = useState<Filters>({ status: 'open', severity: '', type: '' });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const alerts = useAlerts(filters);
  const change = useChangeStatus();
  const rows = alerts.data?.pages.flatMap((p) => p.alerts) ?? [];
  const set = (patch: Partial<Filters>) => {
    setFilters((f) => ({ ...f, ...patch }));
    setSelected(new Set());
  };
  const bulk = (status: Status) =>
    change.mutate({ ids: [...selected], status }, { onSuccess: () => setSelected(new Set()) });
  return (
    <section className="card" aria-labelledby="inbox-title">
      <div className="card-head">
        <h2 id="inbox-title">Inbox</h2>
        <SelectField
          label="Status"
          value={filters.status}
          onChange={(e) => set({ status: e.target.value as Status })}
          className="inline-field"
        >
          <option value="open">Open</option>
          <option value="acknowledged">Acknowledged</option>
          <option value="resolved">Resolved</option>
          <option value="dismissed">Dismissed</option>
          <option value="">All</option>
        </SelectField>
        <SelectField
          label="Severity"
          value={filters.severity}
          onChange={(e) => set({ severity: e.target.value as Severity })}
          className="inline-field"
        >
          <option value="">Any</option>
          {(['critical', 'high', 'medium', 'low', 'info'] as const).map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </SelectField>
        <SelectField
          label="Type"
          value={filters.type}
          onChange={(e) => set({ type: e.target.value })}
          className="inline-field"
        >
          <option value="">Any</option>
          {TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </SelectField>
      </div>
      {canChange && selected.size > 0 ? (
        <div className="row-actions" role="toolbar" aria-label="Bulk actions">
          <span className="muted small">{selected.size} selected</span>
          {(['acknowledged', 'resolved', 'dismissed'] as const).map((s) => (
            <button
              key={s}
              type="button"
              className="btn btn-small"
              disabled={change.isPending}
              onClick={() => bulk(s)}
            >
              {{ acknowledged: 'Acknowledge', resolved: 'Resolve', dismissed: 'Dismiss' }[s]} selected
            </button>
          ))}
        </div>
      ) : null}
      <InlineError error={change.error} />
      {alerts.isPending ? <Loading label="Loading alerts…" /> : null}
      {alerts.isError ? <ErrorState error={alerts.error} retry={() => void alerts.refetch()} /> : null}
      {alerts.data && rows.length === 0 ? (
        <Empty title="No alerts here">
          Kill switches, detections, drift, anomalies, deny spikes and budgets raise alerts.
        </Empty>
      ) : null}
      {rows.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-label="Alerts">
            <thead>
              <tr>
                {canChange ? <th aria-label="Select" /> : null}
                <th>Alert</th>
                <th>Severity</th>
                <th>Status</th>
                <th>Last seen</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => (
                <AlertRow
                  key={a.id}
                  alert={a}
                  canChange={canChange}
                  change={change}
                  selected={selected.has(a.id)}
                  onSelect={(on) =>
                    setSelected((s) => {
                      const next = new Set(s);
                      if (on) next.add(a.id);
                      else next.delete(a.id);
                      return next;
                    })
                  }
                />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {alerts.hasNextPage ? (
        <button
          type="button"
          className="btn btn-small"
          onClick={() => void alerts.fetchNextPage()}
          disabled={alerts.isFetchingNextPage}
        >
          Load more
        </button>
      ) : null}
    </section>
  );
}

export function AlertsScreen() {
  const { role } = useOrg();
  const canChange = role === 'owner' || role === 'admin';
  return (
    <>
      <PageHeader
        title="Alerts"
        subtitle="What the gateway raised: acknowledge what you are looking at, resolve what is dealt with. New alerts go to the notification channels."
      />
      <Inbox canChange={canChange} />
      <Channels canChange={canChange} />
    </>
  );
}
