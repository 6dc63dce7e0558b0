/**
 * OAuth apps (docs/oauth.md#grants-and-clients-owners-and-admins): which MCP clients members let
 * call which connection as them, and since when. Owners and admins revoke one grant, or every
 * grant an app holds in the organization; the tokens stop at once and each revocation is audited.
 * A registration itself is shared by every organization, so keeping an app out for good is a
 * connection's "approved apps only" setting (the connection's page). Cross App Access, when the
 * deployment turns it on, is managed here too (xaa.section.tsx).
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { v1 } from '../api/api.client';
import type { Schemas } from '../api/api.types';
import { useOrg } from '../api/auth.context';
import { Link } from '../lib/router';
import { ConfirmDialog } from '../ui/dialog';
import { Badge, PageHeader, Time } from '../ui/page';
import { Empty, ErrorState, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import { XaaSection } from './xaa.section';

type Grant = Schemas['OAuthGrant'];
type OAuthApp = Schemas['OAuthClient'];

const appName = (name: string | null, id: string) => name ?? `Unnamed app (${id.slice(0, 8)}…)`;

function hostOf(uri: string): string {
  try {
    return new URL(uri).host || uri;
  } catch {
    return uri;
  }
}

function GrantsTable({ grants, onRevoke }: { grants: Grant[]; onRevoke(g: Grant): void }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="OAuth grants">
        <thead>
          <tr>
            <th scope="col">App</th>
            <th scope="col">Person</th>
            <th scope="col">Connection</th>
            <th scope="col">Scopes</th>
            <th scope="col">Granted</th>
            <th scope="col">Expires</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {grants.map((g) => (
            <tr key={g.id} data-testid={`oauth-grant-${g.id}`}>
              <td>
                <strong>{appName(g.clientName, g.clientId)}</strong>
                <div className="muted mono small">{g.clientId}</div>
              </td>
              <td>{g.email ?? <span className="mono small">{g.userId}</span>}</td>
              <td>
                {g.connectionSlug ? (
                  <Link to={`/connections/${g.connectionSlug}`}>{g.connectionSlug}</Link>
                ) : (
                  <span className="muted">deleted connection</span>
                )}
              </td>
              <td>
                {g.scope.map((s) => (
                  <Badge key={s} value={s} tone="muted" />
                ))}
              </td>
              <td>
                <Time iso={g.createdAt} />
              </td>
              <td>
                {/* A future date: the relative form speaks of the past only. */}
                <Time iso={g.expiresAt} relative={false} />
              </td>
              <td className="row-actions">
                <button type="button" className="btn btn-small btn-danger" onClick={() => onRevoke(g)}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AppsTable({ apps, onRevoke }: { apps: OAuthApp[]; onRevoke(a: OAuthApp): void }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="OAuth apps">
        <thead>
          <tr>
            <th scope="col">App</th>
            <th scope="col">Sends tokens to</th>
            <th scope="col">Active grants</th>
            <th scope="col">Approved on</th>
            <th scope="col">Registered</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {apps.map((a) => (
            <tr key={a.clientId} data-testid={`oauth-app-${a.clientId}`}>
              <td>
                <strong>{appName(a.clientName, a.clientId)}</strong>
                <div className="muted mono small">{a.clientId}</div>
                <div className="muted small">name chosen by the app when it registered</div>
              </td>
              <td className="mono small">{[...new Set(a.redirectUris.map(hostOf))].join(', ') || '—'}</td>
              <td className="num">{a.grants}</td>
              <td>
                {a.approvedFor.length > 0 ? (
                  a.approvedFor.map((slug) => (
                    <Link key={slug} to={`/connections/${slug}`} className="small">
                      {slug}{' '}
                    </Link>
                  ))
                ) : (
                  <span className="muted small">no connection approves it explicitly</span>
                )}
              </td>
              <td>
                <Time iso={a.registeredAt} />
              </td>
              <td className="row-actions">
                {a.grants > 0 ? (
                  <button type="button" className="btn btn-small btn-danger" onClick={() => onRevoke(a)}>
                    Revoke all grants
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function OAuthScreen(_props: { params: Record<string, string> }) {
  const org = useOrg();
  const allowed = org.role === 'owner' || org.role === 'admin';
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const [revokingGrant, setRevokingGrant] = useState<Grant | null>(null);
  const [revokingApp, setRevokingApp] = useState<OAuthApp | null>(null);
  const grants = useQuery({
    queryKey: ['oauth', 'grants'],
    queryFn: ({ signal }) => v1('get', '/oauth/grants', { signal }).then((r) => r.grants),
    enabled: allowed,
  });
  const apps = useQuery({
    queryKey: ['oauth', 'clients'],
    queryFn: ({ signal }) => v1('get', '/oauth/clients', { signal }).then((r) => r.clients),
    enabled: allowed,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['oauth'] });
  return (
    <>
      <PageHeader
        title="OAuth apps"
        subtitle="MCP clients that members signed in to with OAuth: who let which app call which connection as them, and since when."
      />
      {!allowed ? (
        <Empty title="Owners and admins only">
          Ask an owner or admin of {org.name} to review OAuth apps.
        </Empty>
      ) : null}
      {allowed ? (
        <section aria-labelledby="oauth-grants-title" className="section">
          <h2 id="oauth-grants-title">Grants</h2>
          {grants.isPending ? <Loading label="Loading grants…" /> : null}
          {grants.isError ? <ErrorState error={grants.error} retry={() => void grants.refetch()} /> : null}
          {grants.data?.length === 0 ? (
            <Empty title="No active grants">
              When a member approves an app on the consent page, the grant appears here.
            </Empty>
          ) : null}
          {grants.data && grants.data.length > 0 ? (
            <GrantsTable grants={grants.data} onRevoke={setRevokingGrant} />
          ) : null}
        </section>
      ) : null}
      {allowed ? (
        <section aria-labelledby="oauth-apps-title" className="section">
          <h2 id="oauth-apps-title">Apps</h2>
          {apps.isPending ? <Loading label="Loading apps…" /> : null}
          {apps.isError ? <ErrorState error={apps.error} retry={() => void apps.refetch()} /> : null}
          {apps.data?.length === 0 ? <Empty title="No apps hold grants here" /> : null}
          {apps.data && apps.data.length > 0 ? (
            <AppsTable apps={apps.data} onRevoke={setRevokingApp} />
          ) : null}
        </section>
      ) : null}
      {allowed ? <XaaSection /> : null}
      <ConfirmDialog
        open={revokingGrant !== null}
        title={`Revoke ${appName(revokingGrant?.clientName ?? null, revokingGrant?.clientId ?? '')}'s access?`}
        confirmLabel="Revoke grant"
        danger
        onConfirm={async () => {
          if (!revokingGrant) return;
          await v1('delete', '/oauth/grants/{grantId}', { path: { grantId: revokingGrant.id } });
          notify('Grant revoked');
          await refresh();
        }}
        onClose={() => setRevokingGrant(null)}
      >
        <p>
          The app's access and refresh tokens for{' '}
          <strong>{revokingGrant?.connectionSlug ?? 'the connection'}</strong>, acting as{' '}
          <strong>{revokingGrant?.email ?? revokingGrant?.userId}</strong>, stop working at once. The person
          can approve the app again later.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={revokingApp !== null}
        title={`Revoke every grant of ${appName(revokingApp?.clientName ?? null, revokingApp?.clientId ?? '')}?`}
        confirmLabel="Revoke all grants"
        danger
        onConfirm={async () => {
          if (!revokingApp) return;
          const r = await v1('delete', '/oauth/clients/{clientId}', {
            path: { clientId: revokingApp.clientId },
          });
          notify(`${r.revokedGrants} grant(s) revoked`);
          await refresh();
        }}
        onClose={() => setRevokingApp(null)}
      >
        <p>
          All {revokingApp?.grants} grant(s) this app holds in {org.name} stop at once. To keep it out for
          good, set the connection to accept approved apps only.
        </p>
      </ConfirmDialog>
    </>
  );
}
