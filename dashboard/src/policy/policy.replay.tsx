/**
 * What-if replay before publishing (issue 22): the draft in the editor evaluated against the
 * connection's recorded decisions (POST /connections/{slug}/policy/replay) — how many would change,
 * by the draft rule that would now decide them and by caller, with examples. Nothing is saved.
 */
import { useMutation } from '@tanstack/react-query';
import { v1 } from '../api/api.client';
import { Badge } from '../ui/page';
import { InlineError } from '../ui/states';
import type { RuleDraft } from './policy.model';

function ruleLabel(rule: string): string {
  return rule === 'default' ? 'no rule (default deny)' : `rule #${Number(rule) + 1}`;
}

function Counts({
  title,
  counts,
  label,
}: {
  title: string;
  counts: Record<string, number>;
  label: (key: string) => string;
}) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return null;
  return (
    <div>
      <h3 className="small">{title}</h3>
      <ul className="small">
        {entries.map(([key, count]) => (
          <li key={key}>
            {label(key)}: <strong>{count}</strong>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function PolicyReplay({ slug, draft }: { slug: string; draft: RuleDraft[] }) {
  const replay = useMutation({
    mutationFn: (rules: RuleDraft[]) =>
      v1('post', '/connections/{slug}/policy/replay', { path: { slug }, body: { rules } }),
  });
  const result = replay.data;
  const sessionTaint = (result as { sessionTaint?: number } | undefined)?.sessionTaint ?? 0;
  return (
    <div className="policy-replay" data-testid="policy-replay">
      <div className="form-actions">
        <button
          type="button"
          className="btn"
          disabled={replay.isPending || draft.length === 0}
          onClick={() => replay.mutate(draft)}
        >
          {replay.isPending ? 'Replaying…' : 'Replay draft over recorded calls'}
        </button>
        <span className="muted small">What would change, before you publish.</span>
      </div>
      {replay.isError ? <InlineError error={replay.error} /> : null}
      {result ? (
        <div aria-live="polite" data-testid="replay-result">
          <p>
            <strong>{result.changed}</strong> of {result.evaluated} recorded decision
            {result.evaluated === 1 ? '' : 's'} would change.
          </p>
          {result.unknownFields > 0 ? (
            <p className="muted small">
              {result.unknownFields} recorded call{result.unknownFields === 1 ? '' : 's'} met a rule on
              arguments, teams or annotations, which audit rows do not keep: those conditions were read as
              missing.
            </p>
          ) : null}
          {sessionTaint > 0 ? (
            <p className="muted small">
              {sessionTaint} call{sessionTaint === 1 ? ' was' : 's were'} decided by session taint and not
              replayed.
            </p>
          ) : null}
          <Counts title="By rule" counts={result.byRule} label={ruleLabel} />
          <Counts title="By caller" counts={result.byCaller} label={(key) => key} />
          {result.examples.length > 0 ? (
            <table className="table small">
              <thead>
                <tr>
                  <th>Tool</th>
                  <th>Caller</th>
                  <th>Before</th>
                  <th>After</th>
                </tr>
              </thead>
              <tbody>
                {result.examples.map((e) => (
                  <tr key={e.id}>
                    <td>
                      <code>{e.tool}</code>
                    </td>
                    <td>{e.caller}</td>
                    <td>
                      <Badge value={e.before.action} />
                    </td>
                    <td>
                      <Badge value={e.after.action} />{' '}
                      {e.after.ruleIndex === null ? 'no rule' : `rule #${e.after.ruleIndex + 1}`}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
