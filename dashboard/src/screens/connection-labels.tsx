/**
 * A connection's tool labels (docs/policies.md#tool-labels): tool glob (the model, on an LLM
 * connection) → the session-taint labels an admitted call to it adds to its agent session, which
 * `session.touched` and `cleanOf` rules then read. Saved whole with PATCH /connections/{slug}
 * (`settings.toolLabels`); the gateway applies them on the next call.
 *
 * The rows are checked here as the API checks them (workers/shared/connection.settings.ts
 * `toolLabelsSchema`), so a typo shows under its field before anything is sent; the API's own
 * refusal, if any, is shown under the form.
 */
import { useState } from 'react';
import type { Connection } from '../api/api.types';
import { TextField } from '../ui/field';
import { InlineError } from '../ui/states';
import { useToast } from '../ui/toast';
import { useSaveConnectionSettings } from './connection-settings.queries';

/** The API's limits and label syntax (workers/policy/policy.session.ts LABEL_PATTERN). */
const LABEL_PATTERN = /^[a-z0-9][a-z0-9_:.-]{0,63}$/;
const MAX_GLOBS = 100;
const MAX_LABELS = 20;
const MAX_GLOB_CHARS = 256;

interface Row {
  key: number;
  glob: string;
  labels: string;
}

interface RowIssues {
  glob?: string;
  labels?: string;
}

let nextKey = 0;
const row = (glob = '', labels = ''): Row => ({ key: nextKey++, glob, labels });

/** `untrusted_input, web` or one per space: the labels of a row, in order, without blanks. */
function labelsOf(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

function issuesOf(rows: readonly Row[]): RowIssues[] {
  const seen = new Set<string>();
  return rows.map((r) => {
    const issues: RowIssues = {};
    const glob = r.glob.trim();
    if (glob === '') issues.glob = 'a tool glob must not be empty';
    else if (glob.length > MAX_GLOB_CHARS)
      issues.glob = `a tool glob is at most ${MAX_GLOB_CHARS} characters`;
    else if (seen.has(glob)) issues.glob = 'this glob is listed twice';
    seen.add(glob);
    const labels = labelsOf(r.labels);
    const bad = labels.find((l) => !LABEL_PATTERN.test(l));
    if (bad !== undefined) {
      issues.labels = `"${bad}": a label is 1 to 64 lower-case letters, digits, "_", ":", "." or "-"`;
    } else if (labels.length > MAX_LABELS) issues.labels = `at most ${MAX_LABELS} labels per glob`;
    return issues;
  });
}

export function ConnectionToolLabels({
  connection,
  canWrite,
}: {
  connection: Connection;
  canWrite: boolean;
}) {
  const saved = connection.settings.toolLabels ?? {};
  const [rows, setRows] = useState<Row[]>(() =>
    Object.entries(saved).map(([glob, labels]) => row(glob, labels.join(', '))),
  );
  const [dirty, setDirty] = useState(false);
  const { notify } = useToast();
  const issues = issuesOf(rows);
  const invalid = rows.length > MAX_GLOBS || issues.some((i) => i.glob || i.labels);
  const save = useSaveConnectionSettings(connection.slug, {
    onSaved: () => {
      notify(`Tool labels of ${connection.slug} saved`);
      setDirty(false);
    },
  });
  const edit = (next: Row[]) => {
    setRows(next);
    setDirty(true);
  };
  const update = (key: number, patch: Partial<Row>) =>
    edit(rows.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  return (
    <section className="card" aria-labelledby="tool-labels">
      <h2 id="tool-labels">Tool labels</h2>
      <p className="muted small">
        Labels an admitted call to a matching tool adds to its agent session, for <code>session.touched</code>{' '}
        and <code>cleanOf</code> rules (e.g. <code>fetch_*</code> → <code>untrusted_input</code>). A tool a
        glob matches gets those labels instead of the defaults of its pinned annotations; no labels clears
        them.
      </p>
      <form
        aria-label="Tool labels"
        onSubmit={(e) => {
          e.preventDefault();
          if (!invalid) {
            save.mutate({
              toolLabels: Object.fromEntries(rows.map((r) => [r.glob.trim(), labelsOf(r.labels)])),
            });
          }
        }}
      >
        <fieldset disabled={!canWrite || save.isPending}>
          {rows.length === 0 ? (
            <p className="muted small">No globs: tools get their pinned annotations' default labels.</p>
          ) : null}
          {rows.map((r, index) => (
            <div className="inline-form rows-top" key={r.key} data-testid={`tool-label-row-${index + 1}`}>
              <TextField
                label={`Tool glob ${index + 1}`}
                value={r.glob}
                placeholder="fetch_*"
                error={issues[index]?.glob}
                onChange={(e) => update(r.key, { glob: e.target.value })}
              />
              <TextField
                label={`Labels of glob ${index + 1}`}
                value={r.labels}
                placeholder="untrusted_input, sink:network"
                error={issues[index]?.labels}
                onChange={(e) => update(r.key, { labels: e.target.value })}
              />
              {canWrite ? (
                <button
                  type="button"
                  className="btn btn-ghost"
                  aria-label={`Remove glob ${index + 1}`}
                  onClick={() => edit(rows.filter((x) => x.key !== r.key))}
                >
                  Remove
                </button>
              ) : null}
            </div>
          ))}
          {rows.length > MAX_GLOBS ? (
            <p className="inline-error" role="alert">
              At most {MAX_GLOBS} globs
            </p>
          ) : null}
          <InlineError error={save.error} />
          {canWrite ? (
            <div className="form-actions">
              <button type="button" className="btn" onClick={() => edit([...rows, row()])}>
                Add glob
              </button>
              <button type="submit" className="btn btn-primary" disabled={!dirty || invalid}>
                Save tool labels
              </button>
            </div>
          ) : null}
        </fieldset>
      </form>
    </section>
  );
}
