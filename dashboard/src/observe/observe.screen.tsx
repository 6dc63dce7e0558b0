/**
 * Observe: the organization's gateway traffic as it happens — headline numbers, request and
 * deny/alert rates (uPlot), the risk heat map, and the event stream, all updating from the live
 * SSE stream without a reload. Anomalies are highlighted as they arrive.
 */
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type uPlot from 'uplot';
import { useOrg } from '../api/auth.context';
import { formatClock, formatCount } from '../lib/format';
import { Link } from '../lib/router';
import { useConnections } from '../screens/connections.queries';
import { SelectField } from '../ui/field';
import { PageHeader } from '../ui/page';
import { DetectionsHeatMap } from './detections.heatmap';
import { GetStarted } from './get-started';
import { useLive } from './live.context';
import { BUCKET_MS, observeStore, type StreamItem } from './observe.store';
import { EventLine, FLASH_MS, matches, type StreamFilter } from './observe.stream';
import { RateChart } from './rate.chart';
import { type ColourBy, cellKey, type HeatMode, RiskHeatMap } from './risk.heatmap';

/** When anomalies were last dismissed in this browser (ms), and the dismiss action. */
function useAnomalyAcknowledgement(orgId: string): [number, () => void] {
  const key = `igris.anomalies.acknowledged.${orgId}`;
  const [at, setAt] = useState(() => Number(globalThis.localStorage?.getItem(key) ?? 0) || 0);
  const acknowledge = () => {
    const now = Date.now();
    globalThis.localStorage?.setItem(key, String(now));
    setAt(now);
  };
  return [at, acknowledge];
}

export function ObserveScreen(_props: { params: Record<string, string> }) {
  useSyncExternalStore(observeStore.subscribe, observeStore.getVersion);
  const version = observeStore.getVersion();
  const live = useLive();
  const connections = useConnections();
  const [now, setNow] = useState(Date.now());
  const [mode, setMode] = useState<HeatMode>('user');
  const [colourBy, setColourBy] = useState<ColourBy>('risk');
  const [filter, setFilter] = useState<StreamFilter>('all');
  const [paused, setPaused] = useState<StreamItem[] | null>(null);
  const [acknowledgedAt, acknowledge] = useAnomalyAcknowledgement(useOrg().id);

  // The windows roll forward even when nothing happens.
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 2000);
    return () => clearInterval(timer);
  }, []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new event (version) moves "now" so fresh items and buckets show at once
  useEffect(() => setNow(Date.now()), [version]);

  const slugs = useMemo(
    () => new Map((connections.data ?? []).map((c) => [c.id, c.slug])),
    [connections.data],
  );
  const slugOf = (id: string | null) => (id ? (slugs.get(id) ?? id) : '—');
  // biome-ignore lint/correctness/useExhaustiveDependencies: recomputed per store version and clock tick
  const series = useMemo(() => observeStore.series(now), [version, now]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: recomputed per store version and clock tick
  const totals = useMemo(() => observeStore.totals(now), [version, now]);
  const requestData = useMemo<uPlot.AlignedData>(() => [series.t, series.calls], [series]);
  // Stepped lines hold each value until the next point: a trailing point gives the current bucket its width.
  const riskData = useMemo<uPlot.AlignedData>(() => {
    const last = series.t.length - 1;
    const tail = (values: number[]) => [...values, values[last] ?? 0];
    return [[...series.t, (series.t[last] ?? 0) + BUCKET_MS / 1000], tail(series.deny), tail(series.alert)];
  }, [series]);

  const items = paused ?? observeStore.items();
  const shown = items.filter((i) => matches(i, filter)).slice(0, 100);
  const flashing = new Set<string>();
  // The banner holds every anomaly since the last "Dismiss" (kept per organization in this
  // browser, so a reload does not bring back what was acknowledged nor lose what was not).
  const unacknowledged: StreamItem[] = [];
  for (const item of observeStore.items()) {
    if (item.event.type !== 'anomaly') continue;
    if (Date.parse(item.event.timestamp) > acknowledgedAt) unacknowledged.push(item);
    if (!item.live || now - item.receivedAt >= FLASH_MS) continue;
    if (item.cell) flashing.add(cellKey(item.cell.tool, mode === 'user' ? item.cell.user : item.cell.minute));
  }
  const denyShare = totals.calls > 0 ? Math.round((totals.deny / totals.calls) * 100) : 0;

  return (
    <>
      <PageHeader
        title="Observe"
        subtitle="Live gateway traffic of this organization — the last 15 minutes, updating as calls are decided."
        actions={
          <span className={`live-pill live-${live.status}`} data-testid="live-status">
            {live.status === 'live' ? 'Live' : live.status}
          </span>
        }
      />
      {unacknowledged.length > 0 ? (
        <div className="anomaly-banner" role="alert" data-testid="anomaly-banner">
          <strong>
            {unacknowledged.length === 1
              ? 'Anomaly detected:'
              : `${unacknowledged.length} anomalies detected:`}
          </strong>{' '}
          {unacknowledged
            .slice(0, 3)
            .map((a) =>
              a.event.type === 'anomaly'
                ? `${a.event.anomalyType.replace('_', ' ')} on ${a.event.toolName ?? slugOf(a.event.serverId)} at ${formatClock(Date.parse(a.event.timestamp))}`
                : '',
            )
            .join(' · ')}
          {unacknowledged.length > 3 ? ` · and ${unacknowledged.length - 3} more` : ''}
          <Link to="/sessions" className="btn btn-small">
            Open sessions & kill switch
          </Link>
          <button type="button" className="btn btn-small" onClick={acknowledge}>
            Dismiss
          </button>
        </div>
      ) : null}
      {connections.data && connections.data.length === 0 ? <GetStarted /> : null}
      {live.gaps > 0 ? (
        <p className="notice">Some events were missed while disconnected; the Audit trail has all of them.</p>
      ) : null}
      <div className="stat-row">
        <div className="stat">
          <span className="stat-value" data-testid="stat-calls">
            {formatCount(totals.calls)}
          </span>
          <span className="stat-label">requests</span>
        </div>
        <div className="stat">
          <span className={`stat-value ${totals.deny > 0 ? 'text-bad' : ''}`} data-testid="stat-denied">
            {formatCount(totals.deny)}
          </span>
          <span className="stat-label">refused ({denyShare}%)</span>
        </div>
        <div className="stat">
          <span className={`stat-value ${totals.alert > 0 ? 'text-warn' : ''}`}>
            {formatCount(totals.alert)}
          </span>
          <span className="stat-label">alerted</span>
        </div>
        <div className="stat">
          <span
            className={`stat-value ${totals.failed > 0 ? 'text-bad' : ''}`}
            data-testid="stat-upstream-failed"
          >
            {formatCount(totals.failed)}
          </span>
          <span className="stat-label">upstream failures</span>
        </div>
        <div className="stat">
          <span
            className={`stat-value ${totals.anomaly > 0 ? 'text-anomaly' : ''}`}
            data-testid="stat-anomalies"
          >
            {formatCount(totals.anomaly)}
          </span>
          <span className="stat-label">anomalies</span>
        </div>
      </div>
      <div className="grid-2">
        <section className="card">
          <RateChart
            title="Request rate"
            unit="per min"
            padRight={BUCKET_MS / 1000}
            data={requestData}
            series={[
              { label: 'requests/min', color: '#0284c7', fill: 'rgba(2,132,199,0.55)', shape: 'bars' },
            ]}
          />
        </section>
        <section className="card">
          <RateChart
            title="Deny and alert rates"
            unit="per min"
            data={riskData}
            series={[
              { label: 'refused/min', color: '#dc2626', fill: 'rgba(220,38,38,0.12)' },
              { label: 'alerted/min', color: '#d97706', fill: 'rgba(217,119,6,0.10)' },
            ]}
          />
        </section>
      </div>
      <section className="card" aria-labelledby="heatmap-title">
        <div className="card-head wrap">
          <h2 id="heatmap-title">Risk heat map</h2>
          <div className="inline-controls">
            <SelectField
              label="Columns"
              value={mode}
              onChange={(e) => setMode(e.target.value as HeatMode)}
              className="inline-field"
            >
              <option value="user">tools × users</option>
              <option value="time">tools × time</option>
            </SelectField>
            <SelectField
              label="Colour by"
              value={colourBy}
              onChange={(e) => setColourBy(e.target.value as ColourBy)}
              className="inline-field"
            >
              <option value="risk">risk (combined)</option>
              <option value="deny">denies</option>
              <option value="alert">alerts</option>
              <option value="anomaly">anomalies</option>
            </SelectField>
          </div>
        </div>
        <RiskHeatMap
          byUser={observeStore.heatByUser()}
          byMinute={observeStore.heatByMinute()}
          mode={mode}
          colourBy={colourBy}
          flashing={flashing}
          now={now}
        />
      </section>
      <section className="card" aria-labelledby="detections-heatmap-title">
        <div className="card-head wrap">
          <h2 id="detections-heatmap-title">Detections by risk</h2>
          <span className="muted small">content-inspection findings, category × severity</span>
        </div>
        <DetectionsHeatMap heat={observeStore.detectionHeat()} />
      </section>
      <section className="card" aria-labelledby="stream-title">
        <div className="card-head wrap">
          <h2 id="stream-title">Event stream</h2>
          <div className="inline-controls">
            <SelectField
              label="Show"
              value={filter}
              onChange={(e) => setFilter(e.target.value as StreamFilter)}
              className="inline-field"
            >
              <option value="all">everything</option>
              <option value="tool_call">tool calls</option>
              <option value="refused">refused calls</option>
              <option value="failed">upstream failures</option>
              <option value="anomaly">anomalies</option>
              <option value="session_update">session changes</option>
              <option value="changes">policy & connection changes</option>
            </SelectField>
            <button
              type="button"
              className="btn btn-small"
              aria-pressed={paused !== null}
              onClick={() => setPaused(paused ? null : [...observeStore.items()])}
            >
              {paused ? 'Resume' : 'Pause'}
            </button>
          </div>
        </div>
        {shown.length === 0 ? (
          <div className="state state-empty">
            <p className="state-title">
              {live.status === 'live'
                ? 'Waiting for events…'
                : live.status === 'closed'
                  ? 'The live stream is unavailable: your role may not read the audit trail, or the session ended.'
                  : 'Connecting to the live stream…'}
            </p>
            <p className="state-body">
              Calls through any connection of this organization appear here the moment they are decided.
            </p>
          </div>
        ) : (
          // Busy until the history (audit back-fill) is in: until then older calls may still appear.
          <ol
            className="stream"
            aria-label="Live events, newest first"
            aria-busy={observeStore.backfilledFor === null}
          >
            {shown.map((item) => (
              <EventLine key={item.key} item={item} slugOf={slugOf} now={now} />
            ))}
          </ol>
        )}
      </section>
    </>
  );
}
