/**
 * New LLM connection (an Igris "virtual key"): a provider from the catalog (GET /llm/providers),
 * its credential, an optional base URL (required for Azure, Ollama and other self-hosted or
 * OpenAI-compatible servers) and an optional model allowlist. The gateway derives how the
 * credential is sent from the provider.
 */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError, issueFor, v1 } from '../api/api.client';
import type { LlmProvider } from '../api/api.types';
import { Link, navigate } from '../lib/router';
import { SelectField, TextAreaField, TextField } from '../ui/field';
import { ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import { slugProblem } from './connection.snippets';
import { useCreateConnection } from './connections.queries';

export function useLlmProviders() {
  return useQuery({
    queryKey: ['llm', 'providers'],
    queryFn: ({ signal }) => v1('get', '/llm/providers', { signal }).then((r) => r.providers),
    staleTime: 5 * 60_000,
  });
}

const AUTH_HINTS: Record<LlmProvider['auth']['style'], string> = {
  bearer: 'Sent as Authorization: Bearer <key>.',
  'x-api-key': 'Sent as x-api-key: <key>.',
  'api-key': 'Sent as api-key: <key> (Azure).',
  query: 'Sent as a query parameter.',
  none: 'This provider takes no key.',
};

/** "gpt-4o*, o3-mini" or one per line → ["gpt-4o*", "o3-mini"]. */
export function parseModelGlobs(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function LlmConnectionForm() {
  const providers = useLlmProviders();
  const create = useCreateConnection();
  const { notify } = useToast();
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const [providerId, setProviderId] = useState('openai');
  const [upstreamUrl, setUpstreamUrl] = useState('');
  const [credential, setCredential] = useState('');
  const [models, setModels] = useState('');
  const [local, setLocal] = useState<Record<string, string>>({});

  if (providers.isPending) return <Loading label="Loading providers…" />;
  if (providers.isError) return <ErrorState error={providers.error} retry={() => providers.refetch()} />;
  const provider = providers.data.find((p) => p.id === providerId) ?? providers.data[0]!;
  const needsUrl = provider.upstreamUrl === 'required';
  const needsKey = provider.auth.style !== 'none';

  const error = create.error;
  const fieldError = (path: string) =>
    local[path] ??
    issueFor(error, path) ??
    (path === 'allowedModels'
      ? error instanceof ApiError
        ? error.issues.find((i) => i.path.startsWith('settings.allowedModels'))?.message
        : undefined
      : undefined);
  const placed = ['slug', 'name', 'upstreamUrl', 'credential', 'settings.provider'];
  const allPlaced =
    error instanceof ApiError &&
    error.issues.length > 0 &&
    error.issues.every((i) => placed.includes(i.path) || i.path.startsWith('settings.allowedModels'));
  const unplaced = error && !allPlaced ? error : null;

  const submit = () => {
    const problems: Record<string, string> = {};
    const slugIssue = slugProblem(slug);
    if (slugIssue) problems.slug = slugIssue;
    if (!name.trim()) problems.name = 'name is required';
    if (needsUrl && !upstreamUrl.trim()) problems.upstreamUrl = `${provider.name} needs its base URL`;
    if (needsKey && !credential) problems.credential = 'the provider API key is required';
    setLocal(problems);
    if (Object.keys(problems).length > 0) return;
    const allowedModels = parseModelGlobs(models);
    create.mutate(
      {
        slug,
        name: name.trim(),
        type: 'llm',
        ...(upstreamUrl.trim() ? { upstreamUrl: upstreamUrl.trim() } : {}),
        ...(needsKey ? { credential } : {}),
        settings: { provider: provider.id, ...(allowedModels.length ? { allowedModels } : {}) },
      },
      {
        onSuccess: (created) => {
          notify(`LLM connection ${created.slug} created`);
          navigate(`/connections/${created.slug}`);
        },
      },
    );
  };

  return (
    <form
      className="card form-grid"
      noValidate
      aria-label="New LLM connection"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <SelectField
        label="Provider"
        value={provider.id}
        onChange={(e) => setProviderId(e.target.value)}
        error={fieldError('settings.provider')}
        hint={
          <>
            {provider.family === 'anthropic' ? 'Anthropic Messages API. ' : 'OpenAI-compatible API. '}
            <a href={provider.docs} target="_blank" rel="noreferrer">
              API reference
            </a>
          </>
        }
      >
        {providers.data.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </SelectField>
      <TextField
        label="Slug"
        value={slug}
        onChange={(e) => setSlug(e.target.value)}
        error={fieldError('slug')}
        hint="Part of the gateway URL (/llm/<slug>/v1) and of model names (@<slug>/<model>)."
        placeholder={`${provider.id}-prod`}
        autoComplete="off"
        spellCheck={false}
      />
      <TextField
        label="Name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        error={fieldError('name')}
        placeholder={`${provider.name} production`}
      />
      <TextField
        label={needsUrl ? 'Base URL' : 'Base URL (optional)'}
        value={upstreamUrl}
        onChange={(e) => setUpstreamUrl(e.target.value)}
        error={fieldError('upstreamUrl')}
        placeholder={provider.baseUrl ?? provider.exampleBaseUrl ?? 'https://…'}
        hint={needsUrl ? 'Where your deployment serves the API.' : `Default: ${provider.baseUrl}`}
        type="url"
        spellCheck={false}
      />
      {needsKey ? (
        <TextField
          label="Provider API key"
          type="password"
          className="span-2"
          value={credential}
          onChange={(e) => setCredential(e.target.value)}
          error={fieldError('credential')}
          hint={`${AUTH_HINTS[provider.auth.style]} Encrypted at rest; never returned or shown again.`}
          autoComplete="new-password"
        />
      ) : null}
      <TextAreaField
        label="Allowed models (optional)"
        className="span-2"
        value={models}
        onChange={(e) => setModels(e.target.value)}
        error={fieldError('allowedModels')}
        hint="Globs, one per line or comma-separated (gpt-4o*, claude-sonnet-*). Empty: any model the policy allows."
        rows={3}
        spellCheck={false}
      />
      <div className="span-2">
        {unplaced ? <InlineError error={unplaced} /> : null}
        <div className="form-actions">
          <Link to="/connections" className="btn">
            Cancel
          </Link>
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create LLM connection'}
          </button>
        </div>
      </div>
    </form>
  );
}
