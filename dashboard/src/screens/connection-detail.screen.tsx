/**
 * One connection: how to use it (gateway URL, MCP client configs, SDK snippet), its recent calls,
 * the viewer's own upstream account when the connection is in OAuth upstream mode, and the
 * operator actions — rotate the credential, disable/enable, delete.
 */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { issueFor, v1 } from '../api/api.client';
import { useCanWrite } from '../api/auth.context';
import { Link, navigate } from '../lib/router';
import { ConfirmDialog, Dialog } from '../ui/dialog';
import { TextField } from '../ui/field';
import { DecisionBadge, HealthBadge } from '../ui/outcome';
import { Badge, PageHeader, Time } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import { useLlmProviders } from './connection-create.llm';
import { LlmUseIt } from './connection-detail.llm';
import { SharedConnectionView } from './connection-detail.shared';
import { UseIt } from './connection-detail.use-it';
import { ConnectionToolLabels } from './connection-labels';
import { LlmProviderSettings } from './connection-llm.settings';
import { ConnectionOAuth } from './connection-oauth';
import { ConnectionScans } from './connection-scans';
import { ConnectionTools } from './connection-tools';
import { ConnectionUpstreamAccount } from './connection-upstream-account';
import { useConnection, useConnectionActions } from './connections.queries';

/** MCP connections have Tools and Scans tabs (tool integrity, docs/tool-integrity.md). */
type DetailTab = 'overview' | 'tools' | 'scans';
const TAB_LABELS: Record<DetailTab, string> = { overview: 'Overview', tools: 'Tools', scans: 'Scans' };

function RecentCalls({ slug }: { slug: string }) {
  const calls = useQuery({
    queryKey: ['audit', 'connection', slug],
    queryFn: ({ signal }) =>
      v1('get', '/audit-events', { query: { connection: slug, limit: 8, lifecycle: 'exclude' }, signal }),
    refetchInterval: 10_000,
  });
  return (
    <section className="card" aria-labelledby="recent-calls">
      <div className="card-head">
        <h2 id="recent-calls">Recent activity</h2>
        <Link to={`/audit?connection=${encodeURIComponent(slug)}`}>Open in Audit</Link>
      </div>
      {calls.isPending ? <Loading /> : null}
      {calls.isError ? <ErrorState error={calls.error} retry={() => void calls.refetch()} /> : null}
      {calls.data && calls.data.events.length === 0 ? <Empty title="No calls yet" /> : null}
      {calls.data && calls.data.events.length > 0 ? (
        <ul className="activity-list">
          {calls.data.events.map((e) => (
            <li key={e.id}>
              {e.outcome !== null ? <DecisionBadge call={e} /> : <Badge value={e.action} />}
              <span className="mono">{e.tool ?? e.method ?? e.type}</span>
              <span className="muted">{e.user ?? ''}</span>
              <Time iso={e.createdAt} />
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function RotateDialog({ slug, open, onClose }: { slug: string; open: boolean; onClose: () => void }) {
  const { rotate } = useConnectionActions(slug);
  const { notify } = useToast();
  const [credential, setCredential] = useState('');
  return (
    <Dialog open={open} title={`Rotate the credential of ${slug}`} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          rotate.mutate(credential, {
            onSuccess: () => {
              notify('Credential rotated: the next call uses it');
              setCredential('');
              onClose();
            },
          });
        }}
      >
        <p>The new credential applies to the very next gateway call. Agents keep their configuration.</p>
        <TextField
          label="New credential"
          type="password"
          autoComplete="new-password"
          value={credential}
          onChange={(e) => setCredential(e.target.value)}
          error={issueFor(rotate.error, 'credential')}
          required
        />
        <InlineError error={rotate.error && !issueFor(rotate.error, 'credential') ? rotate.error : null} />
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={!credential || rotate.isPending}>
            Rotate
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function ConnectionDetailScreen({ params }: { params: Record<string, string> }) {
  const slug = params.slug ?? '';
  const connection = useConnection(slug);
  const actions = useConnectionActions(slug);
  const providers = useLlmProviders();
  const canWrite = useCanWrite();
  const { notify } = useToast();
  const [dialog, setDialog] = useState<'rotate' | 'disable' | 'delete' | null>(null);
  const [tab, setTab] = useState<DetailTab>('overview');

  if (connection.isPending) return <Loading label="Loading connection…" />;
  if (connection.isError) {
    return (
      <>
        <PageHeader title={slug} />
        <ErrorState
          error={connection.error}
          retry={() => void connection.refetch()}
          title="Could not load this connection"
        />
      </>
    );
  }
  const c = connection.data;
  // Shared with this developer: the API answered its shared view (what they need to call it).
  if ('access' in c) return <SharedConnectionView connection={c} />;
  return (
    <>
      <PageHeader
        title={
          <>
            {c.name} <Badge value={c.enabled ? 'enabled' : 'disabled'} />
          </>
        }
        subtitle={<span className="mono">{c.slug}</span>}
        actions={
          <>
            <Link to={`/connections/${c.slug}/policy`} className="btn btn-primary">
              Policy
            </Link>
            {canWrite ? (
              <>
                {c.authType !== 'none' ? (
                  <button type="button" className="btn" onClick={() => setDialog('rotate')}>
                    Rotate credential
                  </button>
                ) : null}
                {c.enabled ? (
                  <button type="button" className="btn" onClick={() => setDialog('disable')}>
                    Disable
                  </button>
                ) : (
                  <button
                    type="button"
                    className="btn"
                    onClick={() =>
                      actions.enable.mutate(undefined, { onSuccess: () => notify(`${c.slug} enabled`) })
                    }
                  >
                    Enable
                  </button>
                )}
                <button type="button" className="btn btn-danger" onClick={() => setDialog('delete')}>
                  Delete
                </button>
              </>
            ) : null}
          </>
        }
      />
      <InlineError error={actions.enable.error} />
      {c.type === 'mcp' ? (
        <div className="segmented" role="tablist" aria-label="Connection sections">
          {(Object.keys(TAB_LABELS) as DetailTab[]).map((key) => (
            <button
              key={key}
              type="button"
              role="tab"
              aria-selected={tab === key}
              onClick={() => setTab(key)}
            >
              {TAB_LABELS[key]}
            </button>
          ))}
        </div>
      ) : null}
      {tab === 'tools' && c.type === 'mcp' ? <ConnectionTools slug={c.slug} /> : null}
      {tab === 'scans' && c.type === 'mcp' ? <ConnectionScans slug={c.slug} /> : null}
      {tab === 'overview' || c.type !== 'mcp' ? (
        <>
          <div className="grid-2">
            <section className="card" aria-labelledby="details">
              <h2 id="details">Details</h2>
              <dl className="details">
                {c.type === 'llm' ? (
                  <>
                    <dt>Provider</dt>
                    <dd>
                      {providers.data?.find((p) => p.id === c.settings.provider)?.name ?? c.settings.provider}
                    </dd>
                    <dt>Models</dt>
                    <dd className="mono">
                      {c.settings.allowedModels?.length ? c.settings.allowedModels.join(', ') : 'any'}
                    </dd>
                  </>
                ) : null}
                <dt>Upstream</dt>
                <dd className="mono break">{c.upstreamUrl}</dd>
                <dt>Auth</dt>
                <dd>
                  {c.authType}
                  {c.authHeaderName ? <span className="mono"> ({c.authHeaderName})</span> : null}
                  {c.authType !== 'none' ? (
                    <span className="muted"> · credential {c.hasCredential ? 'stored' : 'missing'}</span>
                  ) : null}
                </dd>
                <dt>Fail mode</dt>
                <dd>{c.settings.failMode ?? 'closed'}</dd>
                <dt>Created</dt>
                <dd>
                  <Time iso={c.createdAt} relative={false} />
                </dd>
                <dt>Last activity</dt>
                <dd>
                  <Time iso={c.lastUsedAt} />
                </dd>
                <dt>Upstream health</dt>
                <dd>
                  <HealthBadge health={c.health} detailed />
                </dd>
              </dl>
            </section>
            <RecentCalls slug={c.slug} />
          </div>
          {c.settings.upstreamOAuth ? (
            <ConnectionUpstreamAccount connection={c} upstream={c.settings.upstreamOAuth} />
          ) : null}
          {c.type === 'llm' ? (
            <>
              <LlmUseIt
                connection={{
                  slug: c.slug,
                  gatewayUrl: c.gatewayUrl,
                  allowedModels: c.settings.allowedModels,
                }}
                family={providers.data?.find((p) => p.id === c.settings.provider)?.family ?? 'openai'}
              />
              <LlmProviderSettings key={`llm-${c.updatedAt}`} connection={c} canWrite={canWrite} />
            </>
          ) : (
            <UseIt slug={c.slug} gatewayUrl={c.gatewayUrl} />
          )}
          <ConnectionOAuth key={c.updatedAt} connection={c} canWrite={canWrite} />
          <ConnectionToolLabels key={`labels-${c.updatedAt}`} connection={c} canWrite={canWrite} />
        </>
      ) : null}
      <RotateDialog slug={c.slug} open={dialog === 'rotate'} onClose={() => setDialog(null)} />
      <ConfirmDialog
        open={dialog === 'disable'}
        title={`Disable ${c.slug}?`}
        confirmLabel="Disable connection"
        danger
        onConfirm={() => actions.disable.mutateAsync().then(() => notify(`${c.slug} disabled`))}
        onClose={() => setDialog(null)}
      >
        <p>
          Every gateway call to <strong>{c.name}</strong> (<code>{c.gatewayUrl}</code>) will be refused and
          nothing will be forwarded to <code>{c.upstreamUrl}</code> until it is enabled again. Its policy and
          audit trail are kept.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={dialog === 'delete'}
        title={`Delete ${c.slug}?`}
        confirmLabel="Delete connection"
        danger
        typeToConfirm={c.slug}
        onConfirm={() =>
          actions.remove.mutateAsync().then(() => {
            notify(`${c.slug} deleted`);
            navigate('/connections');
          })
        }
        onClose={() => setDialog(null)}
      >
        <p>
          This deletes <strong>{c.name}</strong>, its stored credential and every policy version. Agents using{' '}
          <code>{c.gatewayUrl}</code> start getting errors at once. The audit trail keeps its past events.
        </p>
      </ConfirmDialog>
    </>
  );
}
