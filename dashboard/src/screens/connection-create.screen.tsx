/**
 * New connection, with seed 001's slug rules and auth types. Problems are shown on the field they
 * concern — checked here first, and whatever the API finds (taken slug, refused upstream address,
 * reserved header) mapped from its issues onto the same fields.
 */
import { useState } from 'react';
import { ApiError, issueFor } from '../api/api.client';
import type { CreateConnection } from '../api/api.types';
import { Link, navigate, useLocation, withQuery } from '../lib/router';
import { SelectField, TextField } from '../ui/field';
import { PageHeader } from '../ui/page';
import { InlineError } from '../ui/states';
import { useToast } from '../ui/toast';
import { slugProblem } from './connection.snippets';
import { LlmConnectionForm } from './connection-create.llm';
import { useCreateConnection } from './connections.queries';

type AuthType = NonNullable<CreateConnection['authType']>;

/** MCP server or LLM provider (`?type=llm`), chosen at the top of the screen. */
export function ConnectionCreateScreen(_props: { params: Record<string, string> }) {
  const { query } = useLocation();
  const kind = query.get('type') === 'llm' ? 'llm' : 'mcp';
  return (
    <>
      <PageHeader
        title="New connection"
        subtitle={
          kind === 'llm'
            ? 'Apps call the gateway with an Igris API key instead of the provider key; the gateway injects this key.'
            : 'Agents call the gateway URL with an Igris API key; the gateway injects this credential.'
        }
      />
      <div className="segmented" role="tablist" aria-label="Connection type">
        {(
          [
            ['mcp', 'MCP server'],
            ['llm', 'LLM provider'],
          ] as const
        ).map(([value, label]) => (
          <button
            key={value}
            type="button"
            role="tab"
            aria-selected={kind === value}
            onClick={() =>
              navigate(withQuery('/connections/new', { type: value === 'llm' ? 'llm' : undefined }), {
                replace: true,
              })
            }
          >
            {label}
          </button>
        ))}
      </div>
      {kind === 'llm' ? <LlmConnectionForm /> : <McpConnectionForm />}
    </>
  );
}

function McpConnectionForm() {
  const create = useCreateConnection();
  const { notify } = useToast();
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const [upstreamUrl, setUpstreamUrl] = useState('');
  const [authType, setAuthType] = useState<AuthType>('bearer');
  const [authHeaderName, setAuthHeaderName] = useState('');
  const [credential, setCredential] = useState('');
  const [local, setLocal] = useState<Record<string, string>>({});

  const error = create.error;
  const fieldError = (path: string) => local[path] ?? issueFor(error, path);
  // Problems no field shows (network, permission, a setting) are shown under the form.
  const placed = ['slug', 'name', 'upstreamUrl', 'authType', 'authHeaderName', 'credential'];
  const allPlaced =
    error instanceof ApiError &&
    error.issues.length > 0 &&
    error.issues.every((i) => placed.includes(i.path));
  const unplaced = error && !allPlaced ? error : null;

  const submit = () => {
    const problems: Record<string, string> = {};
    const slugIssue = slugProblem(slug);
    if (slugIssue) problems.slug = slugIssue;
    if (!name.trim()) problems.name = 'name is required';
    if (!upstreamUrl.trim()) problems.upstreamUrl = 'upstream URL is required';
    if (authType === 'header' && !authHeaderName.trim())
      problems.authHeaderName = 'header name is required for the header auth type';
    if (authType !== 'none' && !credential) problems.credential = 'credential is required for this auth type';
    setLocal(problems);
    if (Object.keys(problems).length > 0) return;
    create.mutate(
      {
        slug,
        name: name.trim(),
        upstreamUrl: upstreamUrl.trim(),
        authType,
        ...(authType === 'header' ? { authHeaderName: authHeaderName.trim() } : {}),
        ...(authType === 'none' ? {} : { credential }),
      },
      {
        onSuccess: (created) => {
          notify(`Connection ${created.slug} created`);
          navigate(`/connections/${created.slug}`);
        },
      },
    );
  };

  return (
    <form
      className="card form-grid"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <TextField
        label="Slug"
        value={slug}
        onChange={(e) => setSlug(e.target.value)}
        error={fieldError('slug')}
        hint="3–64 characters: lowercase letters, digits, _ and -, starting with a letter or digit. Part of the gateway URL."
        placeholder="github-prod"
        autoComplete="off"
        spellCheck={false}
      />
      <TextField
        label="Name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        error={fieldError('name')}
        placeholder="GitHub Production"
      />
      <TextField
        label="Upstream MCP server URL"
        className="span-2"
        value={upstreamUrl}
        onChange={(e) => setUpstreamUrl(e.target.value)}
        error={fieldError('upstreamUrl')}
        placeholder="https://mcp.example.com/mcp"
        type="url"
        spellCheck={false}
      />
      <SelectField
        label="Auth type"
        value={authType}
        onChange={(e) => setAuthType(e.target.value as AuthType)}
        error={fieldError('authType')}
        hint={
          authType === 'bearer'
            ? 'Injected as Authorization: Bearer <credential>.'
            : authType === 'header'
              ? 'Injected as <header name>: <credential>.'
              : 'Nothing is injected: the upstream needs no credential.'
        }
      >
        <option value="bearer">bearer</option>
        <option value="header">header (custom header name)</option>
        <option value="none">none</option>
      </SelectField>
      {authType === 'header' ? (
        <TextField
          label="Header name"
          value={authHeaderName}
          onChange={(e) => setAuthHeaderName(e.target.value)}
          error={fieldError('authHeaderName')}
          placeholder="X-API-Key"
          spellCheck={false}
        />
      ) : null}
      {authType !== 'none' ? (
        <TextField
          label="Credential"
          type="password"
          className="span-2"
          value={credential}
          onChange={(e) => setCredential(e.target.value)}
          error={fieldError('credential')}
          hint="Encrypted at rest (AES-256-GCM). It is never returned by the API or shown again."
          autoComplete="new-password"
        />
      ) : null}
      <div className="span-2">
        {unplaced ? <InlineError error={unplaced} /> : null}
        <div className="form-actions">
          <Link to="/connections" className="btn">
            Cancel
          </Link>
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create connection'}
          </button>
        </div>
      </div>
    </form>
  );
}
