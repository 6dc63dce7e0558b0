/** Connections: every upstream MCP server of the organization, its status and last activity. */
import { useCanWrite } from '../api/auth.context';
import { Link } from '../lib/router';
import { CopyButton } from '../ui/copy.button';
import { HealthBadge } from '../ui/outcome';
import { Badge, PageHeader, Time } from '../ui/page';
import { Empty, ErrorState, Loading } from '../ui/states';
import { useConnections } from './connections.queries';

export function ConnectionsScreen(_props: { params: Record<string, string> }) {
  const connections = useConnections();
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
                <tr key={c.id} data-testid={`connection-row-${c.slug}`}>
                  <td>
                    <Link to={`/connections/${c.slug}`} className="strong">
                      {c.name}
                    </Link>
                    <div className="muted mono">{c.slug}</div>
                  </td>
                  <td>
                    <Badge value={c.enabled ? 'enabled' : 'disabled'} />
                  </td>
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
                  <td className="cell-url">
                    <code className="truncate" title={c.gatewayUrl}>
                      {c.gatewayUrl}
                    </code>
                    <CopyButton text={c.gatewayUrl} label="Copy URL" />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
