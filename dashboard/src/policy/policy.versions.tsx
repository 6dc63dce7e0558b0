/** Every version of a connection's policy: what changed between two, and rollback to an earlier one. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { v1 } from '../api/api.client';
import type { PolicyVersion } from '../api/api.types';
import { diffLines, prettyJson } from '../lib/json.diff';
import { ConfirmDialog } from '../ui/dialog';
import { SelectField } from '../ui/field';
import { Time } from '../ui/page';
import { Empty, ErrorState, Loading } from '../ui/states';
import { useToast } from '../ui/toast';

function versionLabel(v: PolicyVersion): string {
  return `v${v.version}${v.rolledBackFrom ? ` (rollback to v${v.rolledBackFrom})` : ''}`;
}

export function PolicyVersions({ slug, canWrite }: { slug: string; canWrite: boolean }) {
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const versions = useQuery({
    queryKey: ['policy', slug, 'versions'],
    queryFn: ({ signal }) =>
      v1('get', '/connections/{slug}/policy/versions', { path: { slug }, signal }).then((r) => r.versions),
  });
  const [selected, setSelected] = useState<number | null>(null);
  const [base, setBase] = useState<number | null>(null);
  const [rollbackTo, setRollbackTo] = useState<PolicyVersion | null>(null);
  const rollback = useMutation({
    mutationFn: (version: number) =>
      v1('post', '/connections/{slug}/policy/rollback', { path: { slug }, body: { version } }),
    onSuccess: (created) => {
      notify(`Rolled back: version ${created.version} is now current`);
      void queryClient.invalidateQueries({ queryKey: ['policy', slug] });
    },
  });

  const list = versions.data ?? [];
  const newest = list[0]?.version ?? null;
  const previous = list[1]?.version ?? null;
  // Default comparison, and again whenever a version is added: the newest against the one before.
  useEffect(() => {
    setSelected(newest);
    setBase(previous);
  }, [newest, previous]);

  const selectedVersion = list.find((v) => v.version === selected);
  const baseVersion = list.find((v) => v.version === base);
  const diff = useMemo(
    () =>
      selectedVersion
        ? diffLines(
            prettyJson({ rules: baseVersion?.rules ?? [] }),
            prettyJson({ rules: selectedVersion.rules }),
          )
        : [],
    [selectedVersion, baseVersion],
  );

  if (versions.isPending) return <Loading label="Loading versions…" />;
  if (versions.isError) return <ErrorState error={versions.error} retry={() => void versions.refetch()} />;
  if (list.length === 0) return <Empty title="No versions yet">Save the policy to create version 1.</Empty>;

  return (
    <div className="versions">
      <div className="table-wrap">
        <table className="table" aria-label="Policy versions">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Created</th>
              <th scope="col">By</th>
              <th scope="col">Rules</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((v) => (
              <tr key={v.version} className={v.version === selected ? 'row-selected' : undefined}>
                <td>
                  <strong>{versionLabel(v)}</strong>
                  {v.version === newest ? <span className="badge badge-ok">current</span> : null}
                </td>
                <td>
                  <Time iso={v.createdAt} />
                </td>
                <td className="mono small">{v.createdBy ?? '—'}</td>
                <td>{v.rules.length}</td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="btn btn-small"
                    onClick={() => {
                      setSelected(v.version);
                      setBase(list.find((o) => o.version < v.version)?.version ?? null);
                    }}
                  >
                    Show changes
                  </button>
                  {canWrite && v.version !== newest ? (
                    <button type="button" className="btn btn-small" onClick={() => setRollbackTo(v)}>
                      Roll back to v{v.version}
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {selectedVersion ? (
        <section className="diff-panel" aria-label="Changes">
          <div className="diff-controls">
            <SelectField
              label="Compare"
              value={String(base ?? '')}
              onChange={(e) => setBase(e.target.value ? Number(e.target.value) : null)}
            >
              <option value="">(empty policy)</option>
              {list
                .filter((v) => v.version !== selectedVersion.version)
                .map((v) => (
                  <option key={v.version} value={v.version}>
                    {versionLabel(v)}
                  </option>
                ))}
            </SelectField>
            <span className="diff-arrow" aria-hidden="true">
              →
            </span>
            <SelectField
              label="With"
              value={String(selectedVersion.version)}
              onChange={(e) => setSelected(Number(e.target.value))}
            >
              {list.map((v) => (
                <option key={v.version} value={v.version}>
                  {versionLabel(v)}
                </option>
              ))}
            </SelectField>
          </div>
          <pre className="diff" data-testid="policy-diff">
            {diff.map((line, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: diff lines are positional
              <div key={i} className={`diff-${line.kind}`}>
                <span className="diff-sign" aria-hidden="true">
                  {line.kind === 'added' ? '+' : line.kind === 'removed' ? '−' : ' '}
                </span>
                <span className="sr-only">{line.kind === 'same' ? '' : `${line.kind}: `}</span>
                {line.text}
              </div>
            ))}
          </pre>
        </section>
      ) : null}
      <ConfirmDialog
        open={rollbackTo !== null}
        title={`Roll back to version ${rollbackTo?.version}?`}
        confirmLabel={`Roll back to v${rollbackTo?.version}`}
        onConfirm={() => rollback.mutateAsync(rollbackTo?.version ?? 0)}
        onClose={() => setRollbackTo(null)}
      >
        <p>
          The rules of version {rollbackTo?.version} ({rollbackTo?.rules.length} rules) become current again
          as a new version, and gateways apply them to the next calls of <code>{slug}</code>.
        </p>
      </ConfirmDialog>
    </div>
  );
}
