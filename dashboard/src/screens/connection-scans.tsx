/**
 * The Scans tab of an MCP connection (docs/tool-integrity.md#mcp-scanner): run a scan, the recent
 * scans, and the findings of the selected one — each suppressible with a reason (owner and admin;
 * audited; the finding is not reported again until it changes).
 */
import { useState } from 'react';
import { issueFor } from '../api/api.client';
import type { Schemas } from '../api/api.types';
import { useOrg } from '../api/auth.context';
import { Dialog } from '../ui/dialog';
import { TextField } from '../ui/field';
import { Badge, Time } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import { useScan, useScanActions, useScans } from './connection-integrity.queries';

type Finding = Schemas['Scan']['findings'][number];

const TONE: Record<string, string> = {
  critical: 'bad',
  high: 'bad',
  medium: 'warn',
  low: 'muted',
  info: 'muted',
};

function SuppressDialog({
  slug,
  scanId,
  finding,
  onClose,
}: {
  slug: string;
  scanId: string;
  finding: Finding | null;
  onClose: () => void;
}) {
  const { suppress } = useScanActions(slug);
  const { notify } = useToast();
  const [reason, setReason] = useState('');
  return (
    <Dialog
      open={finding !== null}
      title={`Suppress ${finding?.kind ?? ''} on ${finding?.item ?? ''}`}
      onClose={onClose}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!finding) return;
          suppress.mutate(
            { scanId, finding: finding.id, reason },
            {
              onSuccess: () => {
                notify('Finding suppressed');
                setReason('');
                onClose();
              },
            },
          );
        }}
      >
        <p>
          The finding is accepted and not reported again while it stays the same. The suppression is recorded
          in the audit trail with your name and reason.
        </p>
        <TextField
          label="Reason"
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          error={issueFor(suppress.error, 'reason')}
          required
        />
        <InlineError error={suppress.error && !issueFor(suppress.error, 'reason') ? suppress.error : null} />
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={!reason.trim() || suppress.isPending}>
            Suppress
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function Findings({ slug, scanId, canSuppress }: { slug: string; scanId: string; canSuppress: boolean }) {
  const scan = useScan(scanId);
  const [suppressing, setSuppressing] = useState<Finding | null>(null);
  if (scan.isPending) return <Loading />;
  if (scan.isError) return <ErrorState error={scan.error} retry={() => void scan.refetch()} />;
  const s = scan.data;
  if (s.status === 'failed') return <p className="error-text">The scan failed: {s.error}</p>;
  if (s.findings.length === 0) return <Empty title="No findings" />;
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Findings">
        <thead>
          <tr>
            <th scope="col">Severity</th>
            <th scope="col">Finding</th>
            <th scope="col">Item</th>
            <th scope="col">Match</th>
            <th scope="col">Suppression</th>
          </tr>
        </thead>
        <tbody>
          {s.findings.map((f) => (
            <tr key={f.id} data-testid={`finding-${f.kind}-${f.item}`}>
              <td>
                <Badge value={f.severity} tone={f.suppression ? 'muted' : TONE[f.severity]} />
              </td>
              <td className="mono">{f.kind}</td>
              <td className="mono">
                {f.item}
                {f.path ? <span className="muted"> {f.path}</span> : null}
              </td>
              <td className="mono break">{f.match}</td>
              <td>
                {f.suppression ? (
                  <span>
                    suppressed: {f.suppression.reason} <span className="muted">({f.suppression.by})</span>
                  </span>
                ) : canSuppress ? (
                  <button type="button" className="btn btn-small" onClick={() => setSuppressing(f)}>
                    Suppress {f.kind} on {f.item}
                  </button>
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <SuppressDialog slug={slug} scanId={s.id} finding={suppressing} onClose={() => setSuppressing(null)} />
    </div>
  );
}

export function ConnectionScans({ slug }: { slug: string }) {
  const scans = useScans(slug);
  const { run } = useScanActions(slug);
  const { notify } = useToast();
  const role = useOrg().role;
  const [selected, setSelected] = useState<string | null>(null);
  const list = scans.data?.scans ?? [];
  const current = selected ?? list[0]?.id ?? null;
  return (
    <section className="card" aria-labelledby="scans-heading">
      <div className="card-head">
        <h2 id="scans-heading">Scans</h2>
        {role !== 'auditor' ? (
          <button
            type="button"
            className="btn btn-primary"
            disabled={run.isPending}
            onClick={() =>
              run.mutate(undefined, {
                onSuccess: (scan) => {
                  setSelected(scan.id);
                  notify(`Scan ${scan.status}: ${scan.findings.length} finding(s)`);
                },
              })
            }
          >
            {run.isPending ? 'Scanning…' : 'Run scan'}
          </button>
        ) : null}
      </div>
      <InlineError error={run.error} />
      {scans.isPending ? <Loading /> : null}
      {scans.isError ? <ErrorState error={scans.error} retry={() => void scans.refetch()} /> : null}
      {scans.data && list.length === 0 ? <Empty title="Not scanned yet" /> : null}
      {list.length > 0 ? (
        <ul className="activity-list" aria-label="Recent scans">
          {list.map((s) => (
            <li key={s.id}>
              <button
                type="button"
                className="btn btn-small"
                aria-pressed={s.id === current}
                onClick={() => setSelected(s.id)}
              >
                <span className="mono">{s.id}</span>
              </button>
              <Badge value={s.status} tone={s.status === 'completed' ? 'ok' : 'bad'} />
              <span data-testid={s.id === current ? 'scan-summary' : undefined}>
                {s.summary.critical ?? 0} critical · {s.summary.high ?? 0} high · {s.summary.medium ?? 0}{' '}
                medium
                {s.suppressed > 0 ? ` · ${s.suppressed} suppressed` : ''}
              </span>
              <Time iso={s.createdAt} />
            </li>
          ))}
        </ul>
      ) : null}
      {current ? (
        <Findings slug={slug} scanId={current} canSuppress={role === 'owner' || role === 'admin'} />
      ) : null}
    </section>
  );
}
