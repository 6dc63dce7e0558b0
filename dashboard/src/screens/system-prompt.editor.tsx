/**
 * One governed system prompt: its text (every save is a new version), a preview of the text
 * rendered for a chosen agent user and team (POST /system-prompts/preview, nothing saved), and
 * where it applies (assignments to LLM connections and teams, with priority and mode).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { issueFor, v1 } from '../api/api.client';
import type { SystemPrompt, SystemPromptAssignment, SystemPromptAssignmentInput } from '../api/api.types';
import { ConfirmDialog } from '../ui/dialog';
import { SelectField, TextAreaField, TextField } from '../ui/field';
import { Time } from '../ui/page';
import { ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import { useConnections } from './connections.queries';
import { useTeams } from './teams.screen';

export const PROMPTS_KEY = ['system-prompts'] as const;
export const PROMPT_VARIABLES_HINT =
  'Variables: {{user}}, {{team}}, {{organization}}, {{connection}}, {{date}}, {{datetime}}. Any other is refused.';

function Preview({ text }: { text: string }) {
  const teams = useTeams();
  const [user, setUser] = useState('');
  const [team, setTeam] = useState('');
  const preview = useMutation({
    mutationFn: () =>
      v1('post', '/system-prompts/preview', {
        body: { text, user: user.trim() || undefined, team: team || undefined },
      }),
  });
  return (
    <section className="card" aria-labelledby="prompt-preview">
      <div className="card-head">
        <h2 id="prompt-preview">Preview</h2>
      </div>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          preview.mutate();
        }}
      >
        <TextField
          label="Agent user"
          value={user}
          onChange={(e) => setUser(e.target.value)}
          placeholder="alice@example.com"
          maxLength={256}
        />
        <SelectField label="Team" value={team} onChange={(e) => setTeam(e.target.value)}>
          <option value="">No team</option>
          {teams.data?.map((t) => (
            <option key={t.id} value={t.name}>
              {t.name}
            </option>
          ))}
        </SelectField>
        <button type="submit" className="btn" disabled={!text.trim() || preview.isPending}>
          Render preview
        </button>
      </form>
      <InlineError error={preview.error} />
      {preview.data ? (
        <pre className="json-block" data-testid="prompt-preview" aria-live="polite">
          {preview.data.rendered}
        </pre>
      ) : null}
    </section>
  );
}

function Assignments({ prompt, canWrite }: { prompt: SystemPrompt; canWrite: boolean }) {
  const queryClient = useQueryClient();
  const teams = useTeams();
  const connections = useConnections();
  const [target, setTarget] = useState<SystemPromptAssignmentInput['target']>('team');
  const [targetId, setTargetId] = useState('');
  const [priority, setPriority] = useState('0');
  const [mode, setMode] = useState<'prepend' | 'replace'>('prepend');
  const [removing, setRemoving] = useState<SystemPromptAssignment | null>(null);
  const llmConnections = (connections.data ?? []).filter((c) => c.type === 'llm');
  const targetName = (a: SystemPromptAssignment) =>
    a.target === 'team'
      ? (teams.data?.find((t) => t.id === a.targetId)?.name ?? a.targetId)
      : (llmConnections.find((c) => c.id === a.targetId)?.slug ?? a.targetId);
  const refresh = () => queryClient.invalidateQueries({ queryKey: PROMPTS_KEY });
  const assign = useMutation({
    mutationFn: () =>
      v1('post', '/system-prompts/{id}/assignments', {
        path: { id: prompt.id },
        body: { target, targetId, priority: Number(priority), mode },
      }),
    onSuccess: async () => {
      setTargetId('');
      await refresh();
    },
  });
  const choices =
    target === 'team'
      ? (teams.data ?? []).map((t) => ({ id: t.id, label: t.name }))
      : llmConnections.map((c) => ({ id: c.id, label: c.slug }));
  return (
    <section className="card" aria-labelledby="prompt-assignments">
      <div className="card-head">
        <h2 id="prompt-assignments">Assignments</h2>
      </div>
      {prompt.assignments.length === 0 ? (
        <p className="muted small">Not assigned: the prompt is not injected anywhere yet.</p>
      ) : (
        <ul className="plain-list" aria-label="Assignments">
          {prompt.assignments.map((a) => (
            <li key={a.id} className="list-row">
              <span>
                {a.target} <strong>{targetName(a)}</strong>
              </span>
              <span className="muted small">
                {a.mode} · priority {a.priority}
              </span>
              {canWrite ? (
                <button
                  type="button"
                  className="btn btn-small btn-danger"
                  aria-label={`Remove the assignment to ${targetName(a)}`}
                  onClick={() => setRemoving(a)}
                >
                  Remove
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {canWrite ? (
        <form
          className="inline-form"
          aria-label="Assign the prompt"
          onSubmit={(e) => {
            e.preventDefault();
            assign.mutate();
          }}
        >
          <SelectField
            label="Target"
            value={target}
            onChange={(e) => {
              setTarget(e.target.value as SystemPromptAssignmentInput['target']);
              setTargetId('');
            }}
          >
            <option value="team">Team</option>
            <option value="connection">LLM connection</option>
          </SelectField>
          <SelectField
            label={target === 'team' ? 'Team' : 'Connection'}
            value={targetId}
            onChange={(e) => setTargetId(e.target.value)}
            error={issueFor(assign.error, 'targetId')}
            required
          >
            <option value="">Choose…</option>
            {choices.map((c) => (
              <option key={c.id} value={c.id}>
                {c.label}
              </option>
            ))}
          </SelectField>
          <TextField
            label="Priority"
            type="number"
            min={-1000}
            max={1000}
            value={priority}
            onChange={(e) => setPriority(e.target.value)}
            error={issueFor(assign.error, 'priority')}
          />
          <SelectField
            label="Mode"
            value={mode}
            onChange={(e) => setMode(e.target.value as 'prepend' | 'replace')}
          >
            <option value="prepend">Prepend to the caller’s system prompt</option>
            <option value="replace">Replace the caller’s system prompt</option>
          </SelectField>
          <button type="submit" className="btn" disabled={!targetId || assign.isPending}>
            Assign
          </button>
        </form>
      ) : null}
      {assign.error && !issueFor(assign.error, 'targetId') && !issueFor(assign.error, 'priority') ? (
        <InlineError error={assign.error} />
      ) : null}
      <ConfirmDialog
        open={removing !== null}
        title="Remove this assignment?"
        confirmLabel="Remove assignment"
        danger
        onConfirm={async () => {
          if (!removing) return;
          await v1('delete', '/system-prompts/{id}/assignments/{assignmentId}', {
            path: { id: prompt.id, assignmentId: removing.id },
          });
          await refresh();
        }}
        onClose={() => setRemoving(null)}
      >
        <p>
          Calls through {removing ? targetName(removing) : ''} stop getting {prompt.name} from their next
          request on.
        </p>
      </ConfirmDialog>
    </section>
  );
}

export function PromptEditor({ id, canWrite }: { id: string; canWrite: boolean }) {
  const prompt = useQuery({
    queryKey: [...PROMPTS_KEY, id],
    queryFn: ({ signal }) => v1('get', '/system-prompts/{id}', { path: { id }, signal }),
  });
  if (prompt.isPending) return <Loading label="Loading prompt…" />;
  if (prompt.isError) return <ErrorState error={prompt.error} retry={() => void prompt.refetch()} />;
  // Keyed by version: the editor starts again from the saved text when a new version loads.
  return <PromptBody key={`${prompt.data.id}:${prompt.data.version}`} p={prompt.data} canWrite={canWrite} />;
}

function PromptBody({ p, canWrite }: { p: SystemPrompt; canWrite: boolean }) {
  // The API's own judgment (a developer changes only prompts they created, assigned to nothing
  // but their own connections): the editor is offered only where saving can succeed.
  const canEdit = canWrite && p.canEdit;
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const [text, setText] = useState(p.text);
  const save = useMutation({
    mutationFn: () => v1('patch', '/system-prompts/{id}', { path: { id: p.id }, body: { text } }),
    onSuccess: async (saved) => {
      notify(`${saved.name} saved as version ${saved.version}`);
      await queryClient.invalidateQueries({ queryKey: PROMPTS_KEY });
    },
  });
  return (
    <div>
      <section className="card" aria-labelledby="prompt-editor">
        <div className="card-head wrap">
          <h2 id="prompt-editor">{p.name}</h2>
          <span className="muted small">
            version {p.version} · <span className="mono">{p.sha256.slice(0, 12)}</span>
          </span>
        </div>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate();
          }}
        >
          <TextAreaField
            label="Text"
            className="prompt-text"
            value={text}
            onChange={(e) => setText(e.target.value)}
            readOnly={!canEdit}
            rows={8}
            maxLength={20000}
            hint={PROMPT_VARIABLES_HINT}
            error={issueFor(save.error, 'text')}
          />
          {save.error && !issueFor(save.error, 'text') ? <InlineError error={save.error} /> : null}
          {canWrite && !canEdit ? (
            <p className="muted small" data-testid="prompt-read-only">
              Read-only: only its creator (while it is assigned to nothing but their own connections), an
              owner or an admin may change this prompt.
            </p>
          ) : null}
          {canEdit ? (
            <div className="form-actions">
              <button
                type="button"
                className="btn"
                disabled={text === p.text}
                onClick={() => setText(p.text)}
              >
                Discard changes
              </button>
              <button
                type="submit"
                className="btn btn-primary"
                disabled={text === p.text || !text.trim() || save.isPending}
              >
                Save as version {p.version + 1}
              </button>
            </div>
          ) : null}
        </form>
        {p.versions && p.versions.length > 0 ? (
          <details className="prompt-versions">
            <summary>Versions ({p.versions.length})</summary>
            <ul className="plain-list">
              {p.versions.map((v) => (
                <li key={v.version} className="list-row">
                  <span>version {v.version}</span>
                  <span className="mono small">{v.sha256.slice(0, 12)}</span>
                  <Time iso={v.createdAt} />
                </li>
              ))}
            </ul>
          </details>
        ) : null}
      </section>
      <Preview text={text} />
      <Assignments prompt={p} canWrite={canWrite} />
    </div>
  );
}
