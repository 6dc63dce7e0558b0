/**
 * Approvals: calls the gateway held because their rule says `action: "approve"`
 * (docs/policies.md#approvals). Pending ones first, with the exact arguments the approver is
 * agreeing to; Approve lets the identical call through once, Deny refuses it. `/approvals/:id` —
 * the link an agent's error names — opens one approval on its own.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { v1 } from '../api/api.client';
import type { Schemas } from '../api/api.types';
import { useCanWrite } from '../api/auth.context';
import { Link } from '../lib/router';
import { SelectField } from '../ui/field';
import { Badge, PageHeader, Time } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';

type Approval = Schemas['Approval'];
type Status = Approval['status'];

const STATUS_TONES: Record<Status, string> = {
  pending: 'warn',
  approved: 'ok',
  used: 'muted',
  denied: 'bad',
  expired: 'muted',
};

function useApprovals(status: Status | 'all') {
  return useQuery({
    queryKey: ['approvals', status],
    queryFn: ({ signal }) =>
      v1('get', '/approvals', { query: status === 'all' ? {} : { status }, signal }).then((r) => r.approvals),
    refetchInterval: 5_000,
  });
}

function useApproval(id: string | undefined) {
  return useQuery({
    queryKey: ['approvals', 'one', id],
    queryFn: ({ signal }) => v1('get', '/approvals/{id}', { path: { id: id! }, signal }),
    enabled: id !== undefined,
  });
}

function Decide({ approval }: { approval: Approval }) {
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const decide = useMutation({
    mutationFn: (verdict: 'approve' | 'deny') =>
      verdict === 'approve'
        ? v1('post', '/approvals/{id}/approve', { path: { id: approval.id }, body: {} })
        : v1('post', '/approvals/{id}/deny', { path: { id: approval.id }, body: {} }),
    onSuccess: (decided) => {
      notify(
        decided.status === 'approved'
          ? `Approved: the identical ${decided.tool} call passes once`
          : `Denied: ${decided.tool} stays refused`,
        decided.status === 'approved' ? 'success' : 'danger',
      );
      void queryClient.invalidateQueries({ queryKey: ['approvals'] });
    },
  });
  if (approval.status !== 'pending') return null;
  return (
    <>
      <button
        type="button"
        className="btn btn-small btn-primary"
        disabled={decide.isPending}
        onClick={() => decide.mutate('approve')}
        aria-label={`Approve ${approval.tool} ${approval.id}`}
      >
        Approve
      </button>
      <button
        type="button"
        className="btn btn-small btn-danger"
        disabled={decide.isPending}
        onClick={() => decide.mutate('deny')}
        aria-label={`Deny ${approval.tool} ${approval.id}`}
      >
        Deny
      </button>
      <InlineError error={decide.error} />
    </>
  );
}

function Args({ approval }: { approval: Approval }) {
  if (approval.args === null) {
    return <span className="muted small">too large to show (sha256 {approval.argsHash.slice(0, 12)}…)</span>;
  }
  return <pre className="json-inline">{JSON.stringify(approval.args)}</pre>;
}

/** Held for session taint (onTaint "approve"): what the session had touched. */
function TaintLabels({ approval }: { approval: Approval }) {
  // `taint` is newer than some generated SDK types: read it defensively.
  const taint = (approval as Approval & { taint?: string[] | null }).taint;
  if (!taint || taint.length === 0) return null;
  return (
    <div className="small" data-testid={`approval-taint-${approval.id}`}>
      Session touched{' '}
      {taint.map((label) => (
        <Badge key={label} value={label} tone="warn" />
      ))}
    </div>
  );
}

function ApprovalRow({ approval, canWrite }: { approval: Approval; canWrite: boolean }) {
  return (
    <tr data-testid={`approval-row-${approval.id}`}>
      <td>
        <Link to={`/approvals/${approval.id}`} className="strong mono">
          {approval.tool}
        </Link>
        <div className="muted small">
          on <Link to={`/connections/${approval.connectionSlug}`}>{approval.connectionSlug}</Link>
          {approval.reason ? ` — ${approval.reason}` : null}
        </div>
        <TaintLabels approval={approval} />
      </td>
      <td>
        <Args approval={approval} />
      </td>
      <td>
        {approval.caller ?? <span className="muted">no user</span>}
        <div className="muted small mono">{approval.apiKeyId ? `key ${approval.apiKeyId}` : null}</div>
      </td>
      <td>
        <Badge value={approval.status} tone={STATUS_TONES[approval.status]} />
        <div className="muted small">
          {approval.status === 'pending' ? (
            <>
              expires <Time iso={approval.expiresAt} relative={false} />
            </>
          ) : approval.decidedBy ? (
            `by ${approval.decidedBy}`
          ) : null}
        </div>
      </td>
      <td>
        <Time iso={approval.requestedAt} />
      </td>
      <td className="row-actions">{canWrite ? <Decide approval={approval} /> : null}</td>
    </tr>
  );
}

function ApprovalTable({ approvals, canWrite }: { approvals: Approval[]; canWrite: boolean }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Approvals">
        <thead>
          <tr>
            <th>Call</th>
            <th>Arguments</th>
            <th>Caller</th>
            <th>Status</th>
            <th>Requested</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {approvals.map((a) => (
            <ApprovalRow key={a.id} approval={a} canWrite={canWrite} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function OneApproval({ id, canWrite }: { id: string; canWrite: boolean }) {
  const one = useApproval(id);
  return (
    <section className="card" aria-labelledby="approval-title">
      <div className="card-head">
        <h2 id="approval-title">
          Approval <span className="mono">{id}</span>
        </h2>
        <Link to="/approvals" className="btn btn-small">
          All approvals
        </Link>
      </div>
      {one.isPending ? <Loading label="Loading the approval…" /> : null}
      {one.isError ? <ErrorState error={one.error} retry={() => void one.refetch()} /> : null}
      {one.data ? <ApprovalTable approvals={[one.data]} canWrite={canWrite} /> : null}
    </section>
  );
}

export function ApprovalsScreen({ params }: { params: Record<string, string> }) {
  const canWrite = useCanWrite();
  const [status, setStatus] = useState<Status | 'all'>('pending');
  const approvals = useApprovals(status);
  return (
    <>
      <PageHeader
        title="Approvals"
        subtitle="Calls held by an approve rule. Approving lets the identical call — same caller, connection, tool and arguments — through once, until it expires."
      />
      {params.id ? <OneApproval id={params.id} canWrite={canWrite} /> : null}
      <section className="card" aria-labelledby="approvals-title">
        <div className="card-head">
          <h2 id="approvals-title">{status === 'pending' ? 'Waiting for a decision' : 'Approvals'}</h2>
          <SelectField
            label="Status"
            value={status}
            onChange={(e) => setStatus(e.target.value as typeof status)}
            className="inline-field"
          >
            <option value="pending">Pending</option>
            <option value="approved">Approved</option>
            <option value="used">Used</option>
            <option value="denied">Denied</option>
            <option value="expired">Expired</option>
            <option value="all">All</option>
          </SelectField>
        </div>
        {approvals.isPending ? <Loading label="Loading approvals…" /> : null}
        {approvals.isError ? (
          <ErrorState error={approvals.error} retry={() => void approvals.refetch()} />
        ) : null}
        {approvals.data && approvals.data.length === 0 ? (
          <Empty title={status === 'pending' ? 'Nothing is waiting for approval' : `No ${status} approvals`}>
            A call appears here when a rule with <code>action: "approve"</code> holds it.
          </Empty>
        ) : null}
        {approvals.data && approvals.data.length > 0 ? (
          <ApprovalTable approvals={approvals.data} canWrite={canWrite} />
        ) : null}
      </section>
    </>
  );
}
