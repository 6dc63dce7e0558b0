/**
 * Connections: every upstream MCP server of the organization, its status and last activity, and
 * which of those in OAuth upstream mode the viewer has not linked their own account to yet. A
 * developer's list holds their own and, marked "shared with you", those shared with them: what
 * they need to call those (the gateway URL, their link), nothing of how they are run.
 */

import type { ListedConnection } from '../api/api.types';
import { useCanWrite } from '../api/auth.context';
import { Link } from '../lib/router';
import { CopyButton } from '../ui/copy.button';
import { HealthBadge } from '../ui/outcome';
import { Badge, PageHeader, Time } from '../ui/page';
import { Empty, ErrorState, Loading } from '../ui/states';
import { useConnectionList } from './connections.queries';

/**
 * The viewer's calls through this connection need their own upstream account, not linked yet
 * (`upstreamLinked`, about the viewer only). Linking is on the connection's page: it needs the
 * dashboard's sign-in cookie, which that card checks and explains.
 */
function NotLinked({ slug }: { slug: string }) {
  return (
    <div className="small" data-testid={`upstream-not-linked-${slug}`}>
      <Badge value="not linked" tone="warn" />{' '}
      <Link to={`/connections/${slug}`} aria-label={`Link your account for ${slug}`}>
        Link account
      </Link>
    </div>
  );
}

/**
 * One row. A connection only shared with the viewer (`access: "shared"`) shows what its shared view
 * holds: its link leads to that view, and its auth, activity and health are its owner's business.
 */
function ConnectionRow({ connection: c }: { connection: ListedConnection }) {
  const shared = 'access' in c;
  return (
    <tr data-testid={`connection-row-${c.slug}`}>
      <td>
        <Link to={`/connections/${c.slug}`} className="strong">
          {c.name}
        </Link>
        <div className="muted mono">{c.slug}</div>
        {shared ? (
          <div className="small" data-testid={`connection-shared-${c.slug}`}>
            <Badge value="shared with you" tone="neutral" />
          </div>
        ) : null}
        {c.upstreamLinked === false ? <NotLinked slug={c.slug} /> : null}
      </td>
      <td>
        <Badge value={c.enabled ? 'enabled' : 'disabled'} />
      </td>
      {shared ? (
        <>
          <td className="muted">—</td>
          <td className="muted">—</td>
          <td className="muted">—</td>
        </>
      ) : (
        <>
          <td>
            {c.authType}
            {c.authType === 'header' && c.authHeaderName ? (
              <span className="muted mono"> {c.authHeaderName}</span>
            ) : null}
          </td>
          <td>
            <Time iso={c.lastUsedAt} />
          </td>
          <td>
            <HealthBadge health={c.health} />
          </td>
        </>
      )}
      <td className="cell-url">
        <code className="truncate" title={c.gatewayUrl}>
          {c.gatewayUrl}
        </code>
        <CopyButton text={c.gatewayUrl} label="Copy URL" />
      </td>
    </tr>
  );
}

export function ConnectionsScreen(_props: { params: Record<string, string> }) {
  const connections = useConnectionList();
  const canWrite = useCanWrite();
  return (
    <>
      <PageHeader
        title="Connections"
        subtitle="Upstream MCP servers behind the gateway. Credentials are encrypted and never shown again."
        actions={
          canWrite ? (
            <Link to="/connections/new" className="btn btn-primary">
              New connection
            </Link>
          ) : null
        }
      />
      {connections.isPending ? <Loading label="Loading connections…" /> : null}
      {connections.isError ? (
        <ErrorState error={connections.error} retry={() => void connections.refetch()} />
      ) : null}
      {connections.data && connections.data.length === 0 ? (
        <Empty title="No connections yet">
          <p>Create one to give agents a gateway URL instead of the upstream's real credential.</p>
          {canWrite ? (
            <Link to="/connections/new" className="btn btn-primary">
              Create your first connection
            </Link>
          ) : null}
        </Empty>
      ) : null}
      {connections.data && connections.data.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-label="Connections">
            <thead>
              <tr>
                <th scope="col">Connection</th>
                <th scope="col">Status</th>
                <th scope="col">Auth</th>
                <th scope="col">Last activity</th>
                <th scope="col">Upstream health</th>
                <th scope="col">Gateway URL</th>
              </tr>
            </thead>
            <tbody>
              {connections.data.map((c) => (
                <ConnectionRow key={c.id} connection={c} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
