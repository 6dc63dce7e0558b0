/**
 * A connection's policy: the rule editor (form and JSON views over the same draft), the simulator
 * beside it, and the version history with diff and rollback.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { ApiError, v1 } from '../api/api.client';
import { useCanWrite } from '../api/auth.context';
import { Link } from '../lib/router';
import { ConfirmDialog } from '../ui/dialog';
import { PageHeader } from '../ui/page';
import { ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import { PolicyForm } from './policy.form';
import { parseRulesText, placeIssues, prettyRules, type RuleDraft } from './policy.model';
import { PolicyReplay } from './policy.replay';
import { PolicySimulator } from './policy.simulator';
import { TemplateButtons } from './policy.templates';
import { PolicyVersions } from './policy.versions';

type View = 'form' | 'json';
type Tab = 'rules' | 'versions';

export function PolicyScreen({ params }: { params: Record<string, string> }) {
  const slug = params.slug ?? '';
  const canWrite = useCanWrite();
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const current = useQuery({
    queryKey: ['policy', slug, 'current'],
    queryFn: ({ signal }) => v1('get', '/connections/{slug}/policy', { path: { slug }, signal }),
  });

  const [rules, setRules] = useState<RuleDraft[]>([]);
  const [jsonText, setJsonText] = useState(prettyRules([]));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [view, setView] = useState<View>('form');
  const [tab, setTab] = useState<Tab>('rules');
  // The version the draft started from, and its rules: a draft still equal to them has no edits.
  const [baseVersion, setBaseVersion] = useState<number | null>(null);
  const [baseRules, setBaseRules] = useState('[]');

  const published = (current.data?.rules ?? []) as RuleDraft[];
  const dirty = useMemo(() => JSON.stringify(rules) !== JSON.stringify(published), [rules, published]);
  const edited = JSON.stringify(rules) !== baseRules;

  // An empty policy denies every governed call: the API wants that confirmed, and so does the editor.
  const [confirmingDenyAll, setConfirmingDenyAll] = useState(false);
  // Schema-aware warnings of the last save: rules that can never apply to a known tool's arguments.
  const [warnings, setWarnings] = useState<
    Array<{ ruleIndex: number; path: string; tool: string; message: string }>
  >([]);
  const save = useMutation({
    mutationFn: (next: RuleDraft[]) =>
      v1('put', '/connections/{slug}/policy', {
        path: { slug },
        body: next.length === 0 ? { rules: next, confirmDenyAll: true } : { rules: next },
      }),
    onSuccess: (created) => {
      notify(`Version ${created.version} published to the gateways`);
      setWarnings(created.warnings);
      setBaseVersion(created.version);
      setBaseRules(JSON.stringify(created.rules));
      queryClient.setQueryData(['policy', slug, 'current'], created);
      void queryClient.invalidateQueries({ queryKey: ['policy', slug] });
    },
  });

  // Load the published rules into the editor at first, and again when a new version appears
  // (a rollback, or another person) — unless there are unsaved edits, which are never discarded.
  const version = current.data?.version ?? null;
  useEffect(() => {
    if (version === null || version === baseVersion) return;
    if (baseVersion !== null && edited) return;
    const next = (current.data?.rules ?? []) as RuleDraft[];
    setRules(next);
    setJsonText(prettyRules(next));
    setJsonError(null);
    setBaseVersion(version);
    setBaseRules(JSON.stringify(next));
  }, [version, baseVersion, edited, current.data]);

  const fromForm = (next: RuleDraft[]) => {
    setRules(next);
    setJsonText(prettyRules(next));
    setJsonError(null);
  };
  const fromJson = (text: string) => {
    setJsonText(text);
    const parsed = parseRulesText(text);
    if (parsed.ok) {
      setRules(parsed.rules);
      setJsonError(null);
    } else setJsonError(parsed.error);
  };

  const issues = useMemo(
    () => placeIssues(save.error instanceof ApiError ? save.error.issues : [], rules),
    [save.error, rules],
  );
  const issueCount = save.error instanceof ApiError ? save.error.issues.length : 0;
  const readOnly = !canWrite;

  if (current.isPending) return <Loading label="Loading policy…" />;
  if (current.isError) {
    return (
      <>
        <PageHeader title={`Policy · ${slug}`} />
        <ErrorState error={current.error} retry={() => void current.refetch()} />
      </>
    );
  }
  const stale = version !== null && baseVersion !== null && version !== baseVersion;

  return (
    <>
      <PageHeader
        title={
          <>
            Policy · <Link to={`/connections/${slug}`}>{slug}</Link>
          </>
        }
        subtitle={
          version === 0
            ? 'No policy yet: every governed call is denied until you publish one.'
            : `Version ${version} is in force. Rules are checked in order; the first match decides; no match denies.`
        }
      />
      <div className="segmented tabs" role="tablist" aria-label="Policy">
        <button type="button" role="tab" aria-selected={tab === 'rules'} onClick={() => setTab('rules')}>
          Rules
        </button>
        <button
          type="button"
          role="tab"
          aria-selected={tab === 'versions'}
          onClick={() => setTab('versions')}
        >
          Version history
        </button>
      </div>
      {tab === 'versions' ? (
        <PolicyVersions slug={slug} canWrite={canWrite} />
      ) : (
        <div className="policy-layout">
          <section className="card policy-editor" aria-labelledby="editor-title">
            <div className="card-head">
              <h2 id="editor-title">
                Rules {dirty ? <span className="badge badge-warn">unsaved</span> : null}
              </h2>
              <div className="segmented" role="tablist" aria-label="Editor view">
                <button
                  type="button"
                  role="tab"
                  aria-selected={view === 'form'}
                  onClick={() => setView('form')}
                  disabled={jsonError !== null}
                >
                  Form
                </button>
                <button
                  type="button"
                  role="tab"
                  aria-selected={view === 'json'}
                  onClick={() => setView('json')}
                >
                  JSON
                </button>
              </div>
            </div>
            {stale ? (
              <p className="notice">
                Version {version} was published while you were editing. Saving publishes your draft as the
                next version.
              </p>
            ) : null}
            {issueCount > 0 ? (
              <div className="issues-summary" role="alert">
                <strong>
                  {issueCount} problem{issueCount === 1 ? '' : 's'} — nothing was published.
                </strong>
                {issues.document.length > 0 ? (
                  <ul>
                    {issues.document.map((m) => (
                      <li key={m}>{m}</li>
                    ))}
                  </ul>
                ) : null}
                {view === 'json' && save.error instanceof ApiError ? (
                  <ul>
                    {save.error.issues.map((i) => (
                      <li key={`${i.path}:${i.message}`}>
                        <code>{i.path}</code>: {i.message}
                      </li>
                    ))}
                  </ul>
                ) : (
                  <span> Each is shown on its rule below.</span>
                )}
              </div>
            ) : null}
            {view === 'form' ? (
              <PolicyForm rules={rules} issues={issues} readOnly={readOnly} onChange={fromForm} />
            ) : (
              <div className={`field ${jsonError ? 'field-invalid' : ''}`}>
                <label htmlFor="policy-json">Policy document (JSON)</label>
                <textarea
                  id="policy-json"
                  className="json-editor"
                  value={jsonText}
                  onChange={(e) => fromJson(e.target.value)}
                  readOnly={readOnly}
                  spellCheck={false}
                  rows={Math.min(32, Math.max(10, jsonText.split('\n').length + 1))}
                  aria-invalid={jsonError ? true : undefined}
                  aria-describedby={jsonError ? 'policy-json-error' : undefined}
                />
                {jsonError ? (
                  <p className="field-error" id="policy-json-error" role="alert">
                    {jsonError}
                  </p>
                ) : null}
              </div>
            )}
            {save.error && !(save.error instanceof ApiError && save.error.issues.length > 0) ? (
              <InlineError error={save.error} />
            ) : null}
            {warnings.length > 0 ? (
              <div className="notice" role="status" data-testid="policy-warnings">
                <strong>
                  Published with {warnings.length} warning{warnings.length === 1 ? '' : 's'}: these conditions
                  can never hold for the tool's input schema.
                </strong>
                <ul>
                  {warnings.map((w) => (
                    <li key={`${w.ruleIndex}:${w.path}:${w.tool}`}>
                      Rule #{w.ruleIndex + 1} <code>{w.path}</code> on <code>{w.tool}</code>: {w.message}
                    </li>
                  ))}
                </ul>
              </div>
            ) : null}
            {!readOnly && dirty && jsonError === null ? <PolicyReplay slug={slug} draft={rules} /> : null}
            {readOnly ? (
              <p className="muted">Your role can read this policy but not change it.</p>
            ) : (
              <div className="form-actions">
                <TemplateButtons onPick={fromForm} />
                <button
                  type="button"
                  className="btn"
                  disabled={!dirty}
                  onClick={() => {
                    fromForm(published);
                    setBaseVersion(version);
                    setBaseRules(JSON.stringify(published));
                    save.reset();
                  }}
                >
                  Discard changes
                </button>
                <button
                  type="button"
                  className="btn btn-primary"
                  disabled={!dirty || jsonError !== null || save.isPending}
                  onClick={() => (rules.length === 0 ? setConfirmingDenyAll(true) : save.mutate(rules))}
                >
                  {save.isPending ? 'Publishing…' : 'Save and publish'}
                </button>
                <ConfirmDialog
                  open={confirmingDenyAll}
                  title="Publish an empty policy?"
                  confirmLabel="Deny every call"
                  danger
                  onConfirm={() => save.mutateAsync(rules).then(() => undefined)}
                  onClose={() => setConfirmingDenyAll(false)}
                >
                  <p>
                    With no rules, every governed call through <strong>{slug}</strong> — every tool, resource
                    and prompt — is denied. Agents using it stop working until a rule allows them again.
                  </p>
                </ConfirmDialog>
              </div>
            )}
          </section>
          <PolicySimulator slug={slug} draft={rules} dirty={dirty} publishedRules={published} />
        </div>
      )}
    </>
  );
}
