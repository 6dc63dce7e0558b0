/**
 * The kill switch panel of the Sessions screen (sessions.screen.tsx): kill switches in force at
 * organization, connection, user and API key scope, and the form that engages one. Every
 * confirmation names exactly what will stop.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { issueFor, v1 } from '../api/api.client';
import type { AgentSession, CreateKillSwitch, KillScope, KillSwitch, Organization } from '../api/api.types';
import { useCanWrite, useOrg } from '../api/auth.context';
import { ConfirmDialog } from '../ui/dialog';
import { SelectField, TextField } from '../ui/field';
import { Badge, Time } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import { useConnections } from './connections.queries';

function useKillSwitches() {
  return useQuery({
    queryKey: ['sessions', 'kill-switches'],
    queryFn: ({ signal }) =>
      v1('get', '/kill-switch', { query: { status: 'active' }, signal }).then((r) => r.killSwitches),
    refetchInterval: 15_000,
  });
}

export function useApiKeys() {
  return useQuery({
    queryKey: ['api-keys'],
    queryFn: ({ signal }) => v1('get', '/api-keys', { signal }).then((r) => r.apiKeys),
  });
}

const SCOPE_LABELS: Record<Exclude<KillScope, 'session'>, string> = {
  organization: 'Whole organization',
  connection: 'One connection',
  user: 'One user (X-Igris-User)',
  apiKey: 'One API key',
};

/** What will stop, in words, for the confirmation. */
function describeKill(
  scope: KillScope,
  target: string,
  org: Organization,
  sessions: AgentSession[],
  keyName: (id: string) => string,
): { what: string; affected: AgentSession[] } {
  const active = sessions.filter((s) => s.status === 'active');
  switch (scope) {
    case 'organization':
      return {
        what: `every gateway call in organization ${org.name}, on every connection`,
        affected: active,
      };
    case 'connection':
      return {
        what: `every call to connection ${target}`,
        affected: active.filter((s) => s.connectionSlug === target || s.connectionId === target),
      };
    case 'user':
      return {
        what: `every call made as user ${target}, on any connection`,
        affected: active.filter((s) => s.user === target),
      };
    case 'apiKey':
      return {
        what: `every call made with API key ${keyName(target)}`,
        affected: active.filter((s) => s.apiKeyId === target),
      };
    case 'session':
      return { what: `every call of session ${target}`, affected: active.filter((s) => s.id === target) };
  }
}

export function KillSwitchPanel({ sessions }: { sessions: AgentSession[] }) {
  const org = useOrg();
  const canWrite = useCanWrite();
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const connections = useConnections();
  const keys = useApiKeys();
  const switches = useKillSwitches();
  const [scope, setScope] = useState<Exclude<KillScope, 'session'>>('connection');
  const [target, setTarget] = useState('');
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState<CreateKillSwitch | null>(null);
  const [lifting, setLifting] = useState<KillSwitch | null>(null);
  const [formError, setFormError] = useState<unknown>(null);

  const keyName = (id: string) => {
    const key = keys.data?.find((k) => k.id === id);
    return key ? `"${key.name}" (${key.prefix}…)` : id;
  };
  const connectionName = (id: string) =>
    connections.data?.find((c) => c.id === id || c.slug === id)?.slug ?? id;
  const users = [...new Set(sessions.map((s) => s.user).filter((u): u is string => Boolean(u)))];
  const effectiveTarget = scope === 'organization' ? org.id : target;
  const describe = (ks: Pick<KillSwitch, 'scope' | 'target'>) => {
    if (ks.scope === 'organization') return `organization ${org.name}`;
    if (ks.scope === 'connection') return `connection ${connectionName(ks.target)}`;
    if (ks.scope === 'apiKey') return `API key ${keyName(ks.target)}`;
    if (ks.scope === 'session') {
      const held = sessions.find((s) => s.id === ks.target);
      return held ? `session of connection ${held.connectionSlug}` : `session ${ks.target}`;
    }
    return `${ks.scope} ${ks.target}`;
  };

  const pull = async (input: CreateKillSwitch) => {
    await v1('post', '/kill-switch', { body: input });
    notify(`Kill switch pulled: ${describe(input)}`, 'danger');
    setTarget('');
    setReason('');
    await queryClient.invalidateQueries({ queryKey: ['sessions'] });
  };
  const described = confirming
    ? describeKill(confirming.scope, confirming.target, org, sessions, keyName)
    : null;

  return (
    <div className="grid-2">
      <section className="card" aria-labelledby="kill-title">
        <h2 id="kill-title">Kill switch</h2>
        <p className="muted small">
          Stops matching gateway calls everywhere by the time it answers (503 "Session Suspended"). Lifting it
          lets calls through again.
        </p>
        {canWrite ? (
          <form
            className="kill-form"
            onSubmit={(e) => {
              e.preventDefault();
              setFormError(null);
              if (!effectiveTarget) {
                setFormError(new Error('Choose what to stop'));
                return;
              }
              setConfirming({ scope, target: effectiveTarget, ...(reason ? { reason } : {}) });
            }}
          >
            <SelectField
              label="Scope"
              value={scope}
              onChange={(e) => {
                setScope(e.target.value as typeof scope);
                setTarget('');
              }}
            >
              {(Object.keys(SCOPE_LABELS) as Array<keyof typeof SCOPE_LABELS>).map((s) => (
                <option key={s} value={s}>
                  {SCOPE_LABELS[s]}
                </option>
              ))}
            </SelectField>
            {scope === 'connection' ? (
              <SelectField
                label="Connection"
                value={target}
                onChange={(e) => setTarget(e.target.value)}
                error={issueFor(formError, 'target')}
              >
                <option value="">Choose…</option>
                {(connections.data ?? []).map((c) => (
                  <option key={c.id} value={c.slug}>
                    {c.name} ({c.slug})
                  </option>
                ))}
              </SelectField>
            ) : null}
            {scope === 'user' ? (
              <TextField
                label="User"
                value={target}
                onChange={(e) => setTarget(e.target.value)}
                list="known-users"
                placeholder="alice@company.com"
                error={issueFor(formError, 'target')}
              />
            ) : null}
            <datalist id="known-users">
              {users.map((u) => (
                <option key={u} value={u} />
              ))}
            </datalist>
            {scope === 'apiKey' ? (
              <SelectField
                label="API key"
                value={target}
                onChange={(e) => setTarget(e.target.value)}
                error={issueFor(formError, 'target')}
              >
                <option value="">Choose…</option>
                {(keys.data ?? [])
                  .filter((k) => !k.revokedAt)
                  .map((k) => (
                    <option key={k.id} value={k.id}>
                      {k.name} ({k.prefix}…)
                    </option>
                  ))}
              </SelectField>
            ) : null}
            <TextField
              label="Reason"
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              maxLength={500}
              placeholder="Agent deleting production data"
            />
            <div className="form-actions">
              <button type="submit" className="btn btn-danger">
                Pull kill switch…
              </button>
            </div>
            <InlineError error={formError} />
          </form>
        ) : null}
      </section>
      <section className="card" aria-labelledby="active-kills">
        <h2 id="active-kills">Active kill switches</h2>
        {switches.isPending ? <Loading /> : null}
        {switches.isError ? (
          <ErrorState error={switches.error} retry={() => void switches.refetch()} />
        ) : null}
        {switches.data && switches.data.length === 0 ? (
          <Empty title="None active: nothing is being stopped" />
        ) : null}
        {switches.data && switches.data.length > 0 ? (
          <ul className="kill-list">
            {switches.data.map((ks) => (
              <li key={ks.id} className="kill-item">
                <Badge value={ks.scope} tone="bad" />
                <span>
                  <strong>{describe(ks)}</strong>
                  {ks.reason ? <span className="muted"> — {ks.reason}</span> : null}
                </span>
                <Time iso={ks.createdAt} />
                {canWrite ? (
                  <button type="button" className="btn btn-small" onClick={() => setLifting(ks)}>
                    Lift
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        ) : null}
        <ConfirmDialog
          open={confirming !== null}
          title="Pull the kill switch?"
          confirmLabel="Stop these calls now"
          danger
          typeToConfirm={confirming?.scope === 'organization' ? org.slug : undefined}
          onConfirm={() => (confirming ? pull(confirming) : Promise.resolve())}
          onClose={() => setConfirming(null)}
        >
          {described ? (
            <>
              <p>
                This stops <strong>{described.what}</strong>. Each is answered{' '}
                <code>503 Session Suspended</code> and open streams end, until the switch is lifted.
              </p>
              {described.affected.length > 0 ? (
                <>
                  <p>Active sessions that stop now:</p>
                  <ul className="affected-list">
                    {described.affected.map((s) => (
                      <li key={s.id}>
                        <strong>{s.connectionSlug}</strong> {s.user ? <>· {s.user}</> : null}{' '}
                        <span className="muted mono small">{s.id}</span>
                      </li>
                    ))}
                  </ul>
                </>
              ) : (
                <p className="muted">No session is active for it right now; new calls will be refused too.</p>
              )}
            </>
          ) : null}
        </ConfirmDialog>
        <ConfirmDialog
          open={lifting !== null}
          title="Lift the kill switch?"
          confirmLabel="Lift"
          onConfirm={async () => {
            if (!lifting) return;
            await v1('delete', '/kill-switch/{id}', { path: { id: lifting.id } });
            notify(`Kill switch lifted: ${describe(lifting)}`);
            await queryClient.invalidateQueries({ queryKey: ['sessions'] });
          }}
          onClose={() => setLifting(null)}
        >
          <p>
            Calls of {lifting ? describe(lifting) : ''} will be let through again (unless another switch still
            holds them).
          </p>
        </ConfirmDialog>
      </section>
    </div>
  );
}
