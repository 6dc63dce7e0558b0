/**
 * "Tool X by user Y with metadata Z → decision": asks the API to decide a hypothetical call against
 * the draft in the editor (or the published version) and shows the matching rule and why each
 * earlier rule did not match.
 */
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { issueFor, v1 } from '../api/api.client';
import type { Simulation, SimulationRequest } from '../api/api.types';
import { TextAreaField, TextField } from '../ui/field';
import { Badge } from '../ui/page';
import { InlineError } from '../ui/states';
import { isRecord, type RuleDraft, ruleSummary } from './policy.model';

interface SimulatorProps {
  slug: string;
  draft: RuleDraft[];
  dirty: boolean;
  publishedRules: unknown[];
}

export function PolicySimulator({ slug, draft, dirty, publishedRules }: SimulatorProps) {
  const [tool, setTool] = useState('');
  const [user, setUser] = useState('');
  const [metadata, setMetadata] = useState('');
  const [args, setArgs] = useState('');
  const [argsError, setArgsError] = useState<string | undefined>();
  const [target, setTarget] = useState<'draft' | 'published'>('draft');
  const [metadataError, setMetadataError] = useState<string | undefined>();
  const simulate = useMutation({
    mutationFn: (body: SimulationRequest) =>
      v1('post', '/connections/{slug}/policy/simulate', { path: { slug }, body }),
  });
  const [asked, setAsked] = useState<{
    rules: unknown[];
    tool: string;
    target: 'draft' | 'published';
  } | null>(null);

  const run = () => {
    let meta: Record<string, unknown> | undefined;
    if (metadata.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(metadata);
        if (!isRecord(parsed)) throw new Error('metadata must be a JSON object');
        meta = parsed;
      } catch (err) {
        setMetadataError(
          err instanceof SyntaxError ? 'Not valid JSON' : String(err instanceof Error ? err.message : err),
        );
        return;
      }
    }
    setMetadataError(undefined);
    let callArgs: Record<string, unknown> | undefined;
    if (args.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(args);
        if (!isRecord(parsed)) throw new Error('arguments must be a JSON object');
        callArgs = parsed;
      } catch (err) {
        setArgsError(
          err instanceof SyntaxError ? 'Not valid JSON' : String(err instanceof Error ? err.message : err),
        );
        return;
      }
    }
    setArgsError(undefined);
    const rules = target === 'draft' ? draft : publishedRules;
    setAsked({ rules, tool, target });
    simulate.mutate({
      tool,
      ...(user ? { user } : {}),
      ...(meta ? { metadata: meta } : {}),
      ...(callArgs ? { args: callArgs } : {}),
      ...(target === 'draft' ? { rules: draft } : {}),
    });
  };

  const result: Simulation | undefined = simulate.data;
  return (
    <section className="card simulator" aria-labelledby="simulator-title">
      <h2 id="simulator-title">Simulator</h2>
      <p className="muted small">Decide a hypothetical call without calling anything.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          run();
        }}
      >
        <TextField
          label="Tool"
          value={tool}
          onChange={(e) => setTool(e.target.value)}
          placeholder="delete_records"
          required
          spellCheck={false}
        />
        <TextField
          label="User (X-Igris-User)"
          value={user}
          onChange={(e) => setUser(e.target.value)}
          placeholder="alice@company.com"
        />
        <TextAreaField
          label="Metadata (JSON)"
          value={metadata}
          onChange={(e) => setMetadata(e.target.value)}
          placeholder='{"role": "intern"}'
          rows={3}
          error={metadataError ?? issueFor(simulate.error, 'metadata')}
          spellCheck={false}
        />
        <TextAreaField
          label="Arguments (JSON)"
          value={args}
          onChange={(e) => setArgs(e.target.value)}
          placeholder='{"path": "/srv/work/report.md"}'
          rows={3}
          error={argsError ?? issueFor(simulate.error, 'args')}
          spellCheck={false}
        />
        <fieldset className="segmented">
          <legend className="sr-only">Policy to simulate</legend>
          <button type="button" aria-pressed={target === 'draft'} onClick={() => setTarget('draft')}>
            Draft{dirty ? ' (unsaved)' : ''}
          </button>
          <button type="button" aria-pressed={target === 'published'} onClick={() => setTarget('published')}>
            Published
          </button>
        </fieldset>
        <button type="submit" className="btn btn-primary btn-block" disabled={!tool || simulate.isPending}>
          {simulate.isPending ? 'Deciding…' : 'Simulate'}
        </button>
      </form>
      {simulate.isError && !issueFor(simulate.error, 'metadata') && !issueFor(simulate.error, 'args') ? (
        <InlineError error={simulate.error} />
      ) : null}
      {result && asked ? (
        <div className="simulation" data-testid="simulation-result" aria-live="polite">
          <p className="simulation-decision">
            <span className="muted">{asked.tool} →</span> <Badge value={result.decision} />
            {result.matched && result.ruleIndex !== null ? (
              <span>
                matched by <strong>rule #{result.ruleIndex + 1}</strong>
              </span>
            ) : (
              <span>no rule matched: denied by default</span>
            )}
          </p>
          {result.reason ? <p className="small">Reason: {result.reason}</p> : null}
          {result.warnings.length > 0 ? (
            <ul className="small notice" data-testid="simulation-warnings" aria-label="Schema warnings">
              {result.warnings.map((w) => (
                <li key={`${w.ruleIndex}:${w.path}:${w.tool}`}>
                  Rule #{w.ruleIndex + 1} <code>{w.path}</code> can never hold for <code>{w.tool}</code>:{' '}
                  {w.message}
                </li>
              ))}
            </ul>
          ) : null}
          <p className="muted small">
            {asked.target === 'draft'
              ? 'Decided by the draft in the editor'
              : `Decided by published version ${result.policyVersion}`}
          </p>
          <ol className="trace-list" aria-label="Why each rule did or did not match">
            {result.trace.map((step) => (
              <li key={step.ruleIndex} className={step.matched ? 'trace-hit' : 'trace-miss'}>
                <span className="rule-number">#{step.ruleIndex + 1}</span>
                <code className="small">{ruleSummary(asked.rules[step.ruleIndex])}</code>
                <span>
                  {step.matched ? 'matched' : 'did not match'}: {step.why}
                </span>
              </li>
            ))}
          </ol>
        </div>
      ) : null}
    </section>
  );
}
