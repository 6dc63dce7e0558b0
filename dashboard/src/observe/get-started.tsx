/**
 * What a new organization sees first (sign-up lands on Observe): not an empty chart, but the three
 * steps that make it fill up — a connection, an API key for the agent, and where to read more.
 * Shown while the organization has no connection.
 */
import { apiUrl } from '../api/api.client';
import { useCanWrite } from '../api/auth.context';
import { Link } from '../lib/router';

export function GetStarted() {
  const canWrite = useCanWrite();
  return (
    <section className="card" aria-labelledby="get-started" data-testid="get-started">
      <h2 id="get-started">Get started</h2>
      <p className="muted">
        This organization has no connection yet. Three steps put an agent's calls through the gateway and on
        this page:
      </p>
      <ol className="onboarding-steps">
        <li>
          <strong>1. Create a connection</strong>
          <p className="small">
            The upstream MCP server and its credential. Agents get a gateway URL instead of the real
            credential.
          </p>
          {canWrite ? (
            <Link to="/connections/new" className="btn btn-primary btn-small">
              Create a connection
            </Link>
          ) : (
            <span className="muted small">Ask an owner, admin or developer to create one.</span>
          )}
        </li>
        <li>
          <strong>2. Create an API key</strong>
          <p className="small">
            The key the agent presents to the gateway; shown once, stored only as a hash.
          </p>
          <Link to="/api-keys" className="btn btn-small">
            Create an API key
          </Link>
        </li>
        <li>
          <strong>3. Write a policy and connect a client</strong>
          <p className="small">
            Allow the tools the agent needs (anything unmatched is denied), then paste the client
            configuration from the connection's page.
          </p>
          <a href={apiUrl('/api/v1/docs')} className="btn btn-small" target="_blank" rel="noreferrer">
            API reference
          </a>
        </li>
      </ol>
    </section>
  );
}
