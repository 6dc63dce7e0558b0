/**
 * The Alerts screen's notification channels (alerts.screen.tsx): each channel with its "send test"
 * button, the dead-letter list (replay) and the recent deliveries with their status (a replayed one
 * shows `delivered` once it went through). Changing anything is for owners and admins; auditors read.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { v1 } from '../api/api.client';
import type { Schemas } from '../api/api.types';
import { Badge, Time } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';

const DELIVERY_TONES: Record<Schemas['NotifyDelivery']['status'], string> = {
  pending: 'warn',
  delivered: 'ok',
  dead: 'bad',
};

export function Channels({ canChange }: { canChange: boolean }) {
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const channels = useQuery({
    queryKey: ['alert-channels'],
    queryFn: ({ signal }) => v1('get', '/alerts/channels', { signal }).then((r) => r.channels),
  });
  // Both lists poll faster while a delivery is on its way (a replay, a retry): its outcome shows soon.
  const recent = useQuery({
    queryKey: ['alert-deliveries', 'recent'],
    queryFn: ({ signal }) => v1('get', '/alerts/deliveries', { query: { limit: 20 }, signal }),
    refetchInterval: (q) => (q.state.data?.deliveries.some((d) => d.status === 'pending') ? 3_000 : 15_000),
  });
  const inFlight = recent.data?.deliveries.some((d) => d.status === 'pending') ?? false;
  const dead = useQuery({
    queryKey: ['alert-deliveries', 'dead'],
    queryFn: ({ signal }) =>
      v1('get', '/alerts/deliveries', { query: { status: 'dead', limit: 50 }, signal }),
    refetchInterval: inFlight ? 3_000 : 15_000,
  });
  const test = useMutation({
    mutationFn: (id: string) => v1('post', '/alerts/channels/{id}/test', { path: { id } }),
    onSuccess: (r) =>
      notify(r.ok ? 'Test notification delivered' : `Test failed: ${r.error}`, r.ok ? 'success' : 'danger'),
  });
  const replay = useMutation({
    mutationFn: (id: string) => v1('post', '/alerts/deliveries/{id}/replay', { path: { id } }),
    onSuccess: () => {
      notify('Delivery queued again', 'success');
      void queryClient.invalidateQueries({ queryKey: ['alert-deliveries'] });
    },
  });
  const letters = dead.data?.deliveries ?? [];
  const channelName = new Map((channels.data ?? []).map((c) => [c.id, c.name]));
  return (
    <section className="card" aria-labelledby="channels-title">
      <div className="card-head">
        <h2 id="channels-title">Notification channels</h2>
      </div>
      {channels.isPending ? <Loading label="Loading channels…" /> : null}
      {channels.isError ? <ErrorState error={channels.error} retry={() => void channels.refetch()} /> : null}
      {channels.data?.length === 0 ? (
        <Empty title="No channels">
          Add webhook, Slack or SIEM channels with the API (docs/observability.md).
        </Empty>
      ) : null}
      <ul className="plain-list">
        {channels.data?.map((c) => (
          <li key={c.id}>
            <span className="strong">{c.name}</span> <Badge value={c.format ?? c.type} />{' '}
            <span className="muted small mono">{c.url}</span>{' '}
            <span className="muted small">
              ≥ {c.minSeverity}
              {c.enabled ? '' : ' · disabled'}
            </span>{' '}
            {canChange ? (
              <button
                type="button"
                className="btn btn-small"
                disabled={test.isPending}
                onClick={() => test.mutate(c.id)}
                aria-label={`Send test to ${c.name}`}
              >
                Send test
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      <InlineError error={test.error ?? replay.error} />
      <h3>Dead letters</h3>
      {letters.length === 0 ? <p className="muted small">No failed deliveries.</p> : null}
      <ul className="plain-list">
        {letters.map((d) => (
          <li key={d.id} data-testid={`dead-letter-${d.id}`}>
            <span>{d.title || d.eventType}</span>{' '}
            <span className="muted small">
              {channelName.get(d.channelId) ?? d.channelId} · {d.attempts} attempts · {d.lastError} ·{' '}
              <Time iso={d.updatedAt} />
            </span>{' '}
            {canChange ? (
              <button
                type="button"
                className="btn btn-small"
                disabled={replay.isPending}
                onClick={() => replay.mutate(d.id)}
                aria-label={`Replay ${d.id}`}
              >
                Replay
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      <h3>Recent deliveries</h3>
      {recent.isError ? <ErrorState error={recent.error} retry={() => void recent.refetch()} /> : null}
      {recent.data?.deliveries.length === 0 ? <p className="muted small">Nothing sent yet.</p> : null}
      <ul className="plain-list">
        {recent.data?.deliveries.map((d) => (
          <li key={d.id} data-testid={`delivery-${d.id}`}>
            <Badge value={d.status} tone={DELIVERY_TONES[d.status]} /> <span>{d.title || d.eventType}</span>{' '}
            <span className="muted small">
              {channelName.get(d.channelId) ?? d.channelId} · {d.attempts}{' '}
              {d.attempts === 1 ? 'attempt' : 'attempts'}
              {d.lastError && d.status !== 'delivered' ? ` · ${d.lastError}` : ''} ·{' '}
              <Time iso={d.deliveredAt ?? d.updatedAt} />
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
