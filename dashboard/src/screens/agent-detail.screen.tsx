/**
 * One A2A agent: its card (skills, last refresh, refresh on demand), which teams may call it, the
 * tasks it ran through the gateway (list, state filter, and one task's lifecycle and messages'
 * metadata), and its invocation log (the `a2a_call` audit rows).
 */
import { useState } from 'react';
import { useCanWrite } from '../api/auth.context';
import { Link } from '../lib/router';
import { DecisionBadge } from '../ui/outcome';
import { Badge, PageHeader, Time } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import {
  type A2aTaskDetail,
  useAgentActions,
  useAgentCalls,
  useAgentCard,
  useAgentTask,
  useAgentTasks,
  useTeams,
} from './agents.queries';
import { TeamAccess } from './agents.screen';
import { useConnection } from './connections.queries';

const STATES = ['', 'submitted', 'working', 'input-required', 'completed', 'failed', 'canceled'];
const STATE_TONES: Record<string, string> = {
  completed: 'ok',
  working: 'warn',
  submitted: 'neutral',
  'input-required': 'warn',
  failed: 'bad',
  canceled: 'muted',
  rejected: 'bad',
};

function StateBadge({ state }: { state: string }) {
  return <Badge value={state} tone={STATE_TONES[state] ?? 'neutral'} />;
}

function CardSection({ slug }: { slug: string }) {
  const card = useAgentCard(slug);
  const { refresh } = useAgentActions(slug);
  const { notify } = useToast();
  const canWrite = useCanWrite();
  return (
    <section className="card" aria-labelledby="agent-card">
      <div className="card-head">
        <h2 id="agent-card">Card</h2>
        {canWrite && card.data?.cardUrl ? (
          <button
            type="button"
            className="btn"
            disabled={refresh.isPending}
            onClick={() =>
              refresh.mutate(undefined, {
                onSuccess: (r) => notify(r.changed ? 'Card changed: recorded in Audit' : 'Card unchanged'),
              })
            }
          >
            Refresh card
          </button>
        ) : null}
      </div>
      {card.isPending ? <Loading /> : null}
      {card.isError ? <ErrorState error={card.error} retry={() => void card.refetch()} /> : null}
      {refresh.isError ? <InlineError error={refresh.error} /> : null}
      {card.data ? (
        <dl className="details">
          <dt>Description</dt>
          <dd>{String(card.data.card.description ?? '')}</dd>
          <dt>Skills</dt>
          <dd>
            <ul className="chips" aria-label="Skills">
              {card.data.skills.map((skill) => (
                <li key={skill}>
                  <code>{skill}</code>
                </li>
              ))}
            </ul>
          </dd>
          <dt>Card URL</dt>
          <dd className="mono">{card.data.cardUrl ?? 'pasted'}</dd>
          <dt>Last refresh</dt>
          <dd>
            <Time iso={card.data.fetchedAt} />
          </dd>
        </dl>
      ) : null}
    </section>
  );
}

function AccessSection({ slug, allowed }: { slug: string; allowed: readonly string[] }) {
  const teams = useTeams();
  const { setTeams } = useAgentActions(slug);
  const { notify } = useToast();
  const canWrite = useCanWrite();
  const [chosen, setChosen] = useState<Set<string> | null>(null);
  const current = chosen ?? new Set(allowed);
  return (
    <section className="card" aria-labelledby="agent-access">
      <h2 id="agent-access">Access by team</h2>
      <p className="muted small">
        With teams chosen, only calls of those teams (their keys, members or X-Igris-User values) reach the
        agent; others get a JSON-RPC error. None chosen: every caller allowed to use the connection.
      </p>
      <TeamAccess allowed={allowed} />
      {canWrite && teams.data ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setTeams.mutate(
              { allowedTeams: [...current] },
              {
                onSuccess: () => {
                  notify('Access saved');
                  setChosen(null);
                },
              },
            );
          }}
        >
          <fieldset>
            <legend>Teams allowed</legend>
            {teams.data.length === 0 ? <p className="muted">No teams yet: create them in Teams.</p> : null}
            {teams.data.map((team) => (
              <label key={team.id} className="check">
                <input
                  type="checkbox"
                  checked={current.has(team.id)}
                  onChange={(e) => {
                    const next = new Set(current);
                    if (e.target.checked) next.add(team.id);
                    else next.delete(team.id);
                    setChosen(next);
                  }}
                />{' '}
                {team.name}
              </label>
            ))}
          </fieldset>
          {setTeams.isError ? <InlineError error={setTeams.error} /> : null}
          <button type="submit" className="btn" disabled={setTeams.isPending || chosen === null}>
            Save access
          </button>
        </form>
      ) : null}
    </section>
  );
}

function TaskDetail({ task }: { task: A2aTaskDetail }) {
  return (
    <section className="card" aria-label={`Task ${task.taskId}`}>
      <div className="card-head">
        <h2>
          Task <code>{task.taskId}</code>
        </h2>
        <StateBadge state={task.state} />
      </div>
      <ol className="plain-list" aria-label="Task events">
        {task.events.map((e) => (
          <li key={`${e.at}-${e.kind}-${e.state ?? ''}`}>
            <Badge value={e.kind} tone="neutral" /> {e.state ? <StateBadge state={e.state} /> : null}{' '}
            <span className="muted">{e.method ?? ''}</span> <Time iso={e.at} />
            {e.traceId ? (
              <>
                {' '}
                <Link to={`/audit/traces/${encodeURIComponent(e.traceId)}`}>trace</Link>
              </>
            ) : null}
            {e.detail ? <pre className="mono small">{JSON.stringify(e.detail, null, 2)}</pre> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

function TasksSection({ slug }: { slug: string }) {
  const [state, setState] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const tasks = useAgentTasks(slug, state);
  const task = useAgentTask(slug, selected);
  return (
    <>
      <section className="card" aria-labelledby="agent-tasks">
        <div className="card-head">
          <h2 id="agent-tasks">Tasks</h2>
          <label>
            State{' '}
            <select value={state} onChange={(e) => setState(e.target.value)}>
              {STATES.map((s) => (
                <option key={s} value={s}>
                  {s || 'any'}
                </option>
              ))}
            </select>
          </label>
        </div>
        {tasks.isPending ? <Loading /> : null}
        {tasks.isError ? <ErrorState error={tasks.error} retry={() => void tasks.refetch()} /> : null}
        {tasks.data && tasks.data.length === 0 ? <Empty title="No tasks yet" /> : null}
        {tasks.data && tasks.data.length > 0 ? (
          <div className="table-wrap">
            <table className="table" aria-label="Tasks">
              <thead>
                <tr>
                  <th scope="col">Task</th>
                  <th scope="col">State</th>
                  <th scope="col">Skill</th>
                  <th scope="col">User</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {tasks.data.map((t) => (
                  <tr key={t.taskId} data-testid={`task-${t.taskId}`}>
                    <td>
                      <button
                        type="button"
                        className="link-button mono"
                        onClick={() => setSelected(t.taskId)}
                      >
                        {t.taskId}
                      </button>
                    </td>
                    <td>
                      <StateBadge state={t.state} />
                    </td>
                    <td className="mono">{t.skill ?? ''}</td>
                    <td>{t.user ?? ''}</td>
                    <td>
                      <Time iso={t.updatedAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
      {selected && task.isError ? <ErrorState error={task.error} retry={() => void task.refetch()} /> : null}
      {selected && task.data ? <TaskDetail task={task.data} /> : null}
    </>
  );
}

function CallsSection({ slug }: { slug: string }) {
  const calls = useAgentCalls(slug);
  return (
    <section className="card" aria-labelledby="agent-calls">
      <div className="card-head">
        <h2 id="agent-calls">Invocations</h2>
        <Link to={`/audit?connection=${encodeURIComponent(slug)}`}>Open in Audit</Link>
      </div>
      {calls.isPending ? <Loading /> : null}
      {calls.isError ? <ErrorState error={calls.error} retry={() => void calls.refetch()} /> : null}
      {calls.data && calls.data.events.length === 0 ? <Empty title="No calls yet" /> : null}
      {calls.data && calls.data.events.length > 0 ? (
        <ul className="activity-list" aria-label="Invocations">
          {calls.data.events.map((e) => (
            <li key={e.id}>
              {e.outcome !== null ? <DecisionBadge call={e} /> : <Badge value={e.action} />}
              <span className="mono">{e.method ?? ''}</span>
              <span className="mono">{e.tool ?? ''}</span>
              <span className="muted">{e.user ?? ''}</span>
              <Time iso={e.createdAt} />
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

export function AgentDetailScreen({ params }: { params: Record<string, string> }) {
  const slug = params.slug ?? '';
  const connection = useConnection(slug);
  return (
    <>
      <PageHeader
        title={connection.data?.name ?? slug}
        subtitle={
          <>
            A2A agent <code>{slug}</code> · <Link to="/agents">All agents</Link> ·{' '}
            <Link to={`/connections/${slug}/policy`}>Policy</Link>
          </>
        }
      />
      {connection.isPending ? <Loading /> : null}
      {connection.isError ? (
        <ErrorState error={connection.error} retry={() => void connection.refetch()} />
      ) : null}
      {connection.data && 'access' in connection.data ? (
        // Shared with this developer: they may call it, not read its settings, tasks or calls.
        <p data-testid="agent-shared">
          This agent is shared with you. <Link to={`/connections/${slug}`}>How to call it</Link>
        </p>
      ) : null}
      {connection.data && !('access' in connection.data) ? (
        <>
          <div className="grid-2">
            <CardSection slug={slug} />
            <AccessSection slug={slug} allowed={connection.data.settings.allowedTeams ?? []} />
          </div>
          <TasksSection slug={slug} />
          <CallsSection slug={slug} />
        </>
      ) : null}
    </>
  );
}
