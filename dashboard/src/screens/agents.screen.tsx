/**
 * Agents: the organization's A2A agents (type "a2a" connections, docs/a2a.md), one card each —
 * what the agent says it is (its AgentCard: description, skills), whether it is enabled, when its
 * card was last refreshed, and which teams may call it. Each opens the agent's page.
 */
import { useState } from 'react';
import { issueFor } from '../api/api.client';
import type { Connection } from '../api/api.types';
import { useCanWrite } from '../api/auth.context';
import { Link, navigate } from '../lib/router';
import { Dialog } from '../ui/dialog';
import { TextField } from '../ui/field';
import { Badge, PageHeader, Time } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import { useAgentCard, useAgents, useTeams } from './agents.queries';
import { useCreateConnection } from './connections.queries';

/** Registers an agent by its URL (its card is read from /.well-known/agent-card.json). */
function RegisterAgentDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const create = useCreateConnection();
  const { notify } = useToast();
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const [cardUrl, setCardUrl] = useState('');
  const [credential, setCredential] = useState('');
  const error = create.error;
  return (
    <Dialog open={open} title="Register an agent" onClose={onClose}>
      <form
        className="form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate(
            {
              slug,
              name,
              type: 'a2a',
              agentCardUrl: cardUrl,
              ...(credential ? { credential } : { authType: 'none' }),
            },
            {
              onSuccess: (created) => {
                notify(`Agent ${created.slug} registered`);
                onClose();
                navigate(`/agents/${created.slug}`);
              },
            },
          );
        }}
      >
        <TextField
          label="Slug"
          value={slug}
          onChange={(e) => setSlug(e.target.value)}
          error={issueFor(error, 'slug')}
        />
        <TextField
          label="Name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={issueFor(error, 'name')}
        />
        <TextField
          label="Agent URL"
          type="url"
          value={cardUrl}
          onChange={(e) => setCardUrl(e.target.value)}
          error={issueFor(error, 'agentCardUrl')}
          hint="Its card is read from <url>/.well-known/agent-card.json (or the URL itself when it names a .json file)."
        />
        <TextField
          label="Agent credential"
          type="password"
          value={credential}
          onChange={(e) => setCredential(e.target.value)}
          hint="Sent to the agent as a bearer token; kept in the vault, never shown again. Empty: none."
        />
        {error && !issueFor(error, 'slug') && !issueFor(error, 'agentCardUrl') ? (
          <InlineError error={error} />
        ) : null}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>
            Register
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Team names of an agent's `allowedTeams` ("Every caller" when it lists none). */
export function TeamAccess({ allowed }: { allowed: readonly string[] | undefined }) {
  const teams = useTeams();
  if (!allowed || allowed.length === 0) return <span className="muted">Every caller allowed to use it</span>;
  const names = new Map((teams.data ?? []).map((t) => [t.id, t.name]));
  return (
    <ul className="chips" aria-label="Teams allowed">
      {allowed.map((id) => (
        <li key={id}>
          <Badge value={names.get(id) ?? id} tone="neutral" />
        </li>
      ))}
    </ul>
  );
}

function AgentCardSummary({ agent }: { agent: Connection }) {
  const card = useAgentCard(agent.slug);
  const description = typeof card.data?.card.description === 'string' ? card.data.card.description : '';
  return (
    <section className="card" aria-label={agent.name} data-testid={`agent-${agent.slug}`}>
      <div className="card-head">
        <h2>
          <Link to={`/agents/${agent.slug}`} className="strong">
            {agent.name}
          </Link>
        </h2>
        <Badge value={agent.enabled ? 'enabled' : 'disabled'} />
      </div>
      <p className="muted mono">{agent.slug}</p>
      {card.isError ? <ErrorState error={card.error} retry={() => void card.refetch()} /> : null}
      {description ? <p>{description}</p> : null}
      <dl className="details">
        <dt>Skills</dt>
        <dd>
          {card.data ? (
            card.data.skills.length > 0 ? (
              <ul className="chips" aria-label="Skills">
                {card.data.skills.map((skill) => (
                  <li key={skill}>
                    <code>{skill}</code>
                  </li>
                ))}
              </ul>
            ) : (
              <span className="muted">none</span>
            )
          ) : (
            <Loading />
          )}
        </dd>
        <dt>Last refresh</dt>
        <dd>{card.data ? <Time iso={card.data.fetchedAt} /> : null}</dd>
        <dt>Access</dt>
        <dd>
          <TeamAccess allowed={agent.settings.allowedTeams} />
        </dd>
      </dl>
    </section>
  );
}

export function AgentsScreen(_props: { params: Record<string, string> }) {
  const agents = useAgents();
  const canWrite = useCanWrite();
  const [registering, setRegistering] = useState(false);
  return (
    <>
      <PageHeader
        title="Agents"
        subtitle="A2A agents behind the gateway: their cards and skills, who may call them, and the tasks they ran."
        actions={
          canWrite ? (
            <button type="button" className="btn btn-primary" onClick={() => setRegistering(true)}>
              Register an agent
            </button>
          ) : null
        }
      />
      <RegisterAgentDialog open={registering} onClose={() => setRegistering(false)} />
      {agents.isPending ? <Loading label="Loading agents…" /> : null}
      {agents.isError ? <ErrorState error={agents.error} retry={() => void agents.refetch()} /> : null}
      {agents.data && agents.data.length === 0 ? (
        <Empty title="No agents yet">
          <p>
            Register an A2A agent as a connection of type <code>a2a</code> (by its card URL or by pasting its
            card): callers then reach it at <code>/v1/a2a/&lt;slug&gt;</code>.
          </p>
        </Empty>
      ) : null}
      {agents.data && agents.data.length > 0 ? (
        <div className="grid-2">
          {agents.data.map((agent) => (
            <AgentCardSummary key={agent.id} agent={agent} />
          ))}
        </div>
      ) : null}
    </>
  );
}
