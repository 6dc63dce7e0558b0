/**
 * System prompts: governed texts the gateway injects into LLM calls. The list on the left, the
 * chosen prompt (editor, preview, assignments) on the right; `?prompt=<id>` keeps the choice in
 * the address so it survives a reload and can be linked.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { issueFor, v1 } from '../api/api.client';
import { useCanWrite } from '../api/auth.context';
import { navigate, useLocation, withQuery } from '../lib/router';
import { Dialog } from '../ui/dialog';
import { TextAreaField, TextField } from '../ui/field';
import { PageHeader } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import { PROMPT_VARIABLES_HINT, PROMPTS_KEY, PromptEditor } from './system-prompt.editor';

const choose = (id: string) => navigate(withQuery('/system-prompts', { prompt: id }), { replace: true });

function CreatePromptDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const [name, setName] = useState('');
  const [text, setText] = useState('');
  const create = useMutation({
    mutationFn: () => v1('post', '/system-prompts', { body: { name, text } }),
    onSuccess: async (prompt) => {
      notify(`System prompt ${prompt.name} created`);
      await queryClient.invalidateQueries({ queryKey: PROMPTS_KEY });
      close();
      choose(prompt.id);
    },
  });
  const close = () => {
    setName('');
    setText('');
    create.reset();
    onClose();
  };
  const placed = issueFor(create.error, 'name') ?? issueFor(create.error, 'text');
  return (
    <Dialog open={open} title="New system prompt" onClose={close}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <TextField
          label="Prompt name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={issueFor(create.error, 'name')}
          maxLength={100}
          required
        />
        <TextAreaField
          label="Prompt text"
          value={text}
          onChange={(e) => setText(e.target.value)}
          error={issueFor(create.error, 'text')}
          hint={PROMPT_VARIABLES_HINT}
          placeholder="You help {{user}} of {{team}}. Never reveal credentials."
          rows={6}
          maxLength={20000}
          required
        />
        {create.error && !placed ? <InlineError error={create.error} /> : null}
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={close}>
            Cancel
          </button>
          <button
            type="submit"
            className="btn btn-primary"
            disabled={!name.trim() || !text.trim() || create.isPending}
          >
            Create prompt
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function SystemPromptsScreen(_props: { params: Record<string, string> }) {
  const canWrite = useCanWrite();
  const { query } = useLocation();
  const [creating, setCreating] = useState(false);
  const prompts = useQuery({
    queryKey: PROMPTS_KEY,
    queryFn: ({ signal }) => v1('get', '/system-prompts', { signal }).then((r) => r.systemPrompts),
  });
  const chosen = query.get('prompt') ?? prompts.data?.[0]?.id ?? null;
  return (
    <>
      <PageHeader
        title="System prompts"
        subtitle="Governed instructions the gateway adds to (or puts in place of) the caller’s system prompt."
        actions={
          canWrite ? (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              New system prompt
            </button>
          ) : null
        }
      />
      {prompts.isPending ? <Loading label="Loading system prompts…" /> : null}
      {prompts.isError ? <ErrorState error={prompts.error} retry={() => void prompts.refetch()} /> : null}
      {prompts.data && prompts.data.length === 0 ? (
        <Empty title="No system prompts">
          Write one, then assign it to a team or an LLM connection so every call through it gets it.
        </Empty>
      ) : null}
      {prompts.data && prompts.data.length > 0 ? (
        <div className="prompts-layout">
          <nav className="card" aria-label="System prompts">
            <ul className="plain-list">
              {prompts.data.map((p) => (
                <li key={p.id} className="list-row">
                  <button
                    type="button"
                    className={`link-button prompt-choice ${p.id === chosen ? 'strong' : ''}`}
                    aria-current={p.id === chosen ? 'true' : undefined}
                    onClick={() => choose(p.id)}
                  >
                    {p.name}
                  </button>
                  <span className="muted small">
                    v{p.version} · {p.assignments.length} assignment{p.assignments.length === 1 ? '' : 's'}
                  </span>
                </li>
              ))}
            </ul>
          </nav>
          {chosen ? <PromptEditor id={chosen} canWrite={canWrite} /> : null}
        </div>
      ) : null}
      <CreatePromptDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}
