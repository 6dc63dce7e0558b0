/**
 * Sessions and the kill switch: the live list of agent sessions (one per connection in use) with
 * suspend/resume, and kill switches at organization, connection, user and API key scope. Every
 * confirmation names exactly what will stop.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { v1 } from '../api/api.client';
import type { AgentSession } from '../api/api.types';
import { useCanWrite } from '../api/auth.context';
import { Link } from '../lib/router';
import { ConfirmDialog } from '../ui/dialog';
import { SelectField, TextField } from '../ui/field';
import { Badge, PageHeader, Time } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import { KillSwitchPanel, useApiKeys } from './killswitch.panel';

function useSessions() {
  return useQuery({
    queryKey: ['sessions'],
    queryFn: ({ signal }) => v1('get', '/sessions', { signal }).then((r) => r.sessions),
    refetchInterval: 10_000,
  });
}

function SessionRow({
  session,
  canWrite,
  keyName,
  onSuspend,
}: {
  session: AgentSession;
  canWrite: boolean;
  keyName(id: string): string;
  onSuspend(s: AgentSession): void;
}) {
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const resume = useMutation({
    mutationFn: () => v1('post', '/sessions/{id}/resume', { path: { id: session.id } }),
    onSuccess: (s) => {
      notify(
        s.status === 'active'
          ? `Session of ${s.connectionSlug} resumed`
          : `Still suspended by ${s.heldBy.length} kill switch(es)`,
      );
      void queryClient.invalidateQueries({ queryKey: ['sessions'] });
    },
  });
  const held = session.heldBy.filter((h) => h.scope !== 'session');
  return (
    <tr data-testid={`session-row-${session.connectionSlug}`}>
      <td>
        <Link to={`/connections/${session.connectionSlug}`} className="strong">
          {session.connectionSlug}
        </Link>
        <div className="muted mono small">{session.id}</div>
      </td>
      <td>
        <Badge value={session.status} />
        {session.suspendedReason ? <div className="muted small">{session.suspendedReason}</div> : null}
        {held.length > 0 ? (
          <div className="muted small">held by {held.map((h) => `${h.scope} switch`).join(', ')}</div>
        ) : null}
      </td>
      <td>
        {session.user ?? <span className="muted">no user</span>}
        <div className="muted small">{session.apiKeyId ? `key ${keyName(session.apiKeyId)}` : null}</div>
      </td>
      <td className="num">{session.callCount}</td>
      <td>
        <Time iso={session.lastSeenAt} />
      </td>
      <td className="row-actions">
        <Link className="btn btn-small" to={`/audit?session=${encodeURIComponent(session.id)}`}>
          Audit
        </Link>
        {canWrite ? (
          session.status === 'active' ? (
            <button type="button" className="btn btn-small btn-danger" onClick={() => onSuspend(session)}>
              Suspend
            </button>
          ) : (
            <button
              type="button"
              className="btn btn-small"
              onClick={() => resume.mutate()}
              disabled={resume.isPending}
            >
              Resume
            </button>
          )
        ) : null}
        <InlineError error={resume.error} />
      </td>
    </tr>
  );
}

function SuspendDialog({ session, onClose }: { session: AgentSession | null; onClose(): void }) {
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const [reason, setReason] = useState('');
  return (
    <ConfirmDialog
      open={session !== null}
      title={`Suspend the session of ${session?.connectionSlug}?`}
      confirmLabel="Suspend session"
      danger
      onConfirm={async () => {
        if (!session) return;
        await v1('post', '/sessions/{id}/suspend', {
          path: { id: session.id },
          body: reason ? { reason } : {},
        });
        notify(`Session of ${session.connectionSlug} suspended`);
        setReason('');
        await queryClient.invalidateQueries({ queryKey: ['sessions'] });
      }}
      onClose={onClose}
    >
      <p>
        Every call of session <code>{session?.id}</code> on connection{' '}
        <strong>{session?.connectionSlug}</strong>
        {session?.user ? (
          <>
            {' '}
            (last used by <strong>{session.user}</strong>)
          </>
        ) : null}{' '}
        will be answered <code>503 Session Suspended</code>, and its open streams end, until it is resumed.
      </p>
      <TextField
        label="Reason (recorded in the audit trail)"
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        maxLength={500}
      />
    </ConfirmDialog>
  );
}

export function SessionsScreen(_props: { params: Record<string, string> }) {
  const sessions = useSessions();
  const keys = useApiKeys();
  const keyName = (id: string) => {
    const key = keys.data?.find((k) => k.id === id);
    return key ? `"${key.name}" (${key.prefix}…)` : id;
  };
  const canWrite = useCanWrite();
  const [suspending, setSuspending] = useState<AgentSession | null>(null);
  const [statusFilter, setStatusFilter] = useState<'all' | 'active' | 'suspended'>('all');
  const list = (sessions.data ?? []).filter((s) => statusFilter === 'all' || s.status === statusFilter);
  return (
    <>
      <PageHeader
        title="Sessions & kill switch"
        subtitle="Agent sessions update live. Suspend one, or stop a whole scope at once."
      />
      <div>
        <section className="card" aria-labelledby="sessions-title">
          <div className="card-head">
            <h2 id="sessions-title">Sessions</h2>
            <SelectField
              label="Status"
              value={statusFilter}
              onChange={(e) => setStatusFilter(e.target.value as typeof statusFilter)}
              className="inline-field"
            >
              <option value="all">All</option>
              <option value="active">Active</option>
              <option value="suspended">Suspended</option>
            </SelectField>
          </div>
          {sessions.isPending ? <Loading label="Loading sessions…" /> : null}
          {sessions.isError ? (
            <ErrorState error={sessions.error} retry={() => void sessions.refetch()} />
          ) : null}
          {sessions.data && list.length === 0 ? (
            <Empty title={statusFilter === 'all' ? 'No sessions yet' : `No ${statusFilter} sessions`}>
              A session appears when an agent first calls a connection.
            </Empty>
          ) : null}
          {list.length > 0 ? (
            <div className="table-wrap">
              <table className="table" aria-label="Agent sessions">
                <thead>
                  <tr>
                    <th scope="col">Connection</th>
                    <th scope="col">Status</th>
                    <th scope="col">Last caller</th>
                    <th scope="col" className="num">
                      Calls
                    </th>
                    <th scope="col">Last seen</th>
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((s) => (
                    <SessionRow
                      key={s.id}
                      session={s}
                      canWrite={canWrite}
                      keyName={keyName}
                      onSuspend={setSuspending}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
        </section>
        <KillSwitchPanel sessions={sessions.data ?? []} />
      </div>
      <SuspendDialog session={suspending} onClose={() => setSuspending(null)} />
    </>
  );
}
