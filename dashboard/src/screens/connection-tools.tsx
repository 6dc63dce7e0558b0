/**
 * The Tools tab of an MCP connection (docs/tool-integrity.md): the inventory of listed tools,
 * prompts and resources with fingerprints, versions, approval and quarantine state and scan
 * findings; approve / quarantine and the integrity settings (owner and admin); and the drift history, each version's
 * definition diffed against the one before.
 */
import { useMemo, useState } from 'react';
import type { Schemas } from '../api/api.types';
import { useOrg } from '../api/auth.context';
import { diffLines, prettyJson } from '../lib/json.diff';
import { Badge, Time } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import { useToolActions, useToolHistory, useTools } from './connection-integrity.queries';
import { IntegritySettingsForm } from './connection-integrity.settings';

type Item = Schemas['ToolItem'];
type Version = Schemas['ToolVersion'];

const SEVERITY_TONE: Record<string, string> = { critical: 'bad', warning: 'warn', info: 'muted' };

function status(item: Item): { label: string; tone: string } {
  if (item.removed) return { label: 'removed', tone: 'muted' };
  if (item.quarantined) return { label: 'quarantined', tone: 'bad' };
  if (item.approved) return { label: 'approved', tone: 'ok' };
  return { label: 'not approved', tone: 'warn' };
}

function Inventory({ slug, items, canApprove }: { slug: string; items: Item[]; canApprove: boolean }) {
  const actions = useToolActions(slug);
  const { notify } = useToast();
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Tools">
        <thead>
          <tr>
            <th scope="col">Item</th>
            <th scope="col">Version</th>
            <th scope="col">Fingerprint</th>
            <th scope="col">State</th>
            <th scope="col">Findings</th>
            <th scope="col">Last seen</th>
            {canApprove ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {items.map((item) => {
            const s = status(item);
            return (
              <tr key={`${item.kind}:${item.name}`} data-testid={`tool-${item.name}`}>
                <td>
                  <span className="muted">{item.kind}</span> <span className="mono">{item.name}</span>
                </td>
                <td>v{item.version}</td>
                <td className="mono" title={item.fingerprint ?? ''}>
                  {item.fingerprint ? item.fingerprint.slice(0, 12) : '—'}
                </td>
                <td>
                  <Badge value={s.label} tone={s.tone} />
                </td>
                <td>
                  {item.findings.length === 0
                    ? '—'
                    : item.findings.map((f) => (
                        <Badge
                          key={`${f.kind}${f.path}${f.match}`}
                          value={f.kind}
                          tone={SEVERITY_TONE[f.severity]}
                        />
                      ))}
                </td>
                <td>
                  <Time iso={item.lastSeen} />
                </td>
                {canApprove ? (
                  <td className="row-actions">
                    {!item.removed && item.fingerprint && !item.approved ? (
                      <button
                        type="button"
                        className="btn btn-small"
                        onClick={() =>
                          actions.approve.mutate(
                            [{ kind: item.kind, name: item.name, fingerprint: item.fingerprint! }],
                            { onSuccess: () => notify(`${item.name} approved`) },
                          )
                        }
                      >
                        Approve {item.name}
                      </button>
                    ) : null}
                    {!item.removed && !item.quarantined ? (
                      <button
                        type="button"
                        className="btn btn-small btn-danger"
                        onClick={() =>
                          actions.quarantine.mutate(
                            { kind: item.kind, name: item.name },
                            { onSuccess: () => notify(`${item.name} quarantined`) },
                          )
                        }
                      >
                        Quarantine {item.name}
                      </button>
                    ) : null}
                  </td>
                ) : null}
              </tr>
            );
          })}
        </tbody>
      </table>
      <InlineError error={actions.approve.error ?? actions.quarantine.error} />
    </div>
  );
}

/** One version and what changed from the previous version of the same item. */
function VersionRow({ version, previous }: { version: Version; previous: Version | undefined }) {
  const [open, setOpen] = useState(false);
  const diff = useMemo(
    () => (open ? diffLines(prettyJson(previous?.definition ?? null), prettyJson(version.definition)) : []),
    [open, previous, version],
  );
  return (
    <li data-testid={`drift-${version.name}-v${version.version}`}>
      <Badge value={version.severity} tone={SEVERITY_TONE[version.severity]} />
      <span className="mono">
        {version.name} v{version.version}
      </span>
      <span className="muted">{version.changes.map((c) => String(c.change)).join(', ')}</span>
      <Time iso={version.seenAt} />
      <button type="button" className="btn btn-small" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? 'Hide diff' : 'Diff'}
      </button>
      {open ? (
        <pre className="diff drift-diff" data-testid={`diff-${version.name}-v${version.version}`}>
          {diff.map((line, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: diff lines are positional
            <div key={i} className={`diff-${line.kind}`}>
              <span className="diff-sign" aria-hidden="true">
                {line.kind === 'added' ? '+' : line.kind === 'removed' ? '−' : ' '}
              </span>
              {line.text}
            </div>
          ))}
        </pre>
      ) : null}
    </li>
  );
}

function History({ slug }: { slug: string }) {
  const history = useToolHistory(slug);
  if (history.isPending) return <Loading />;
  if (history.isError) return <ErrorState error={history.error} retry={() => void history.refetch()} />;
  const versions = history.data.versions;
  if (versions.length === 0) return <Empty title="No drift recorded yet" />;
  // Newest first: the previous version of an item is the next one down with the same kind and name.
  const previousOf = (i: number) =>
    versions.slice(i + 1).find((v) => v.kind === versions[i]!.kind && v.name === versions[i]!.name);
  return (
    <ul className="activity-list" aria-label="Drift history">
      {versions.map((v, i) => (
        <VersionRow key={`${v.kind}:${v.name}:${v.version}`} version={v} previous={previousOf(i)} />
      ))}
    </ul>
  );
}

export function ConnectionTools({ slug }: { slug: string }) {
  const tools = useTools(slug);
  const actions = useToolActions(slug);
  const { notify } = useToast();
  const role = useOrg().role;
  const canApprove = role === 'owner' || role === 'admin';
  if (tools.isPending) return <Loading label="Loading tools…" />;
  if (tools.isError) return <ErrorState error={tools.error} retry={() => void tools.refetch()} />;
  const t = tools.data;
  return (
    <>
      <section className="card" aria-labelledby="tools-heading">
        <div className="card-head">
          <h2 id="tools-heading">Tools</h2>
          {canApprove && t.items.some((i) => !i.removed && !i.approved) ? (
            <button
              type="button"
              className="btn"
              onClick={() =>
                actions.approveAll.mutate(undefined, {
                  onSuccess: () => notify('Every listed item approved'),
                })
              }
            >
              Approve all
            </button>
          ) : null}
        </div>
        <p className="muted small">
          Discovery <strong data-testid="discovery-mode">{t.discovery}</strong>
          {t.quarantineOnCritical ? ' · critical drift quarantines' : ''}
          {t.blockOnCriticalScan ? ' · a critical scan finding blocks the connection' : ''}
        </p>
        {canApprove ? (
          <IntegritySettingsForm
            slug={slug}
            current={{
              discovery: t.discovery,
              quarantineOnCritical: t.quarantineOnCritical,
              blockOnCriticalScan: t.blockOnCriticalScan,
            }}
          />
        ) : null}
        {t.scanBlock && t.blockOnCriticalScan ? (
          <p role="alert" className="error-text">
            Blocked: the latest scan has {t.scanBlock.critical} critical finding(s). Resolve or suppress them
            below.
          </p>
        ) : null}
        {t.items.length === 0 ? (
          <Empty title="Nothing listed yet">
            Tools appear here once an agent lists them through the gateway.
          </Empty>
        ) : (
          <Inventory slug={slug} items={t.items} canApprove={canApprove} />
        )}
        <InlineError error={actions.approveAll.error} />
      </section>
      <section className="card" aria-labelledby="drift-heading">
        <h2 id="drift-heading">Drift history</h2>
        <History slug={slug} />
      </section>
    </>
  );
}
