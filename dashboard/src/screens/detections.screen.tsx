/**
 * Detections: content inspection's rules (built-in and the organization's own, filtered by
 * category and severity), packs, the custom rule and pack editors with the rule tester, which
 * packs each connection applies, and the recent detections (inspection findings of the audit
 * trail: rule, category, severity, where — never the matched text).
 */
import { useMemo, useState } from 'react';
import { useCanWrite } from '../api/auth.context';
import { Link } from '../lib/router';
import { SelectField, TextField } from '../ui/field';
import { Badge, PageHeader, Time } from '../ui/page';
import { ErrorState, InlineError, Loading } from '../ui/states';
import { useConnections } from './connections.queries';
import { AssignmentCard } from './detections.assignment';
import { PackEditor, RULE_TEMPLATE, RuleEditor, RuleTester } from './detections.editor';
import {
  CATEGORIES,
  type DetectionPack,
  type DetectionRule,
  SEVERITIES,
  useDeletePack,
  useDeleteRule,
  useDetectionPacks,
  useDetectionRules,
  useRecentDetections,
} from './detections.queries';

const SEVERITY_TONE: Record<string, string | undefined> = { critical: 'bad', high: 'bad', medium: 'warn' };

function RulesCard({ onEdit }: { onEdit(rule: DetectionRule): void }) {
  const canWrite = useCanWrite();
  const rules = useDetectionRules();
  const remove = useDeleteRule();
  const [category, setCategory] = useState('');
  const [severity, setSeverity] = useState('');
  const [source, setSource] = useState('');
  const [search, setSearch] = useState('');
  const shown = (rules.data ?? []).filter(
    (r) =>
      (!category || r.category === category) &&
      (!severity || r.severity === severity) &&
      (!source || (source === 'custom') === r.custom) &&
      (!search || `${r.id} ${r.description}`.toLowerCase().includes(search.toLowerCase())),
  );
  return (
    <section className="card" aria-labelledby="rules-title">
      <div className="card-head wrap">
        <h2 id="rules-title">Rules</h2>
        <div className="inline-controls">
          <SelectField
            label="Category"
            value={category}
            onChange={(e) => setCategory(e.target.value)}
            className="inline-field"
          >
            <option value="">all</option>
            {CATEGORIES.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </SelectField>
          <SelectField
            label="Severity"
            value={severity}
            onChange={(e) => setSeverity(e.target.value)}
            className="inline-field"
          >
            <option value="">all</option>
            {SEVERITIES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </SelectField>
          <SelectField
            label="Source"
            value={source}
            onChange={(e) => setSource(e.target.value)}
            className="inline-field"
          >
            <option value="">built-in and custom</option>
            <option value="builtin">built-in</option>
            <option value="custom">custom</option>
          </SelectField>
          <TextField
            label="Search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            className="inline-field"
          />
        </div>
      </div>
      {rules.isPending ? <Loading label="Loading rules…" /> : null}
      {rules.isError ? <ErrorState error={rules.error} retry={() => void rules.refetch()} /> : null}
      {remove.error ? <InlineError error={remove.error} /> : null}
      {rules.data ? (
        <>
          <p className="muted small" data-testid="rule-count">
            {shown.length} of {rules.data.length} rules
          </p>
          <div className="table-wrap table-scroll">
            <table className="table" aria-label="Detection rules">
              <thead>
                <tr>
                  <th scope="col">Rule</th>
                  <th scope="col">Category</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Where</th>
                  <th scope="col">Action</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {shown.map((r) => (
                  <tr key={r.id} data-testid="rule-row">
                    <NameCell name={r.id} custom={r.custom} description={r.description} />
                    <td>{r.category}</td>
                    <td>
                      <Badge value={r.severity} tone={SEVERITY_TONE[r.severity]} />
                    </td>
                    <td className="small">{r.where.join(', ')}</td>
                    <td>{r.action}</td>
                    <CustomActions
                      name={r.id}
                      editable={canWrite && r.custom && r.canEdit}
                      onEdit={() => onEdit(r)}
                      onDelete={() => remove.mutate(r.id)}
                    />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </section>
  );
}

/** A rule's or pack's name, a "custom" badge when the organization made it, and its description. */
function NameCell({ name, custom, description }: { name: string; custom: boolean; description: string }) {
  return (
    <td>
      <span className="mono strong">{name}</span> {custom ? <Badge value="custom" tone="neutral" /> : null}
      <div className="muted small">{description}</div>
    </td>
  );
}

/**
 * Edit and delete, offered on the organization's own rules and packs to those who may change them:
 * `canEdit` is the API's own judgment (a developer: what they created, reaching only their own
 * connections), so the buttons never lead to a 403.
 */
function CustomActions(props: { name: string; editable: boolean; onEdit(): void; onDelete(): void }) {
  return (
    <td className="row-actions">
      {props.editable ? (
        <>
          <button type="button" className="btn btn-small" onClick={props.onEdit}>
            Edit {props.name}
          </button>
          <button type="button" className="btn btn-small btn-danger" onClick={props.onDelete}>
            Delete {props.name}
          </button>
        </>
      ) : null}
    </td>
  );
}

function PacksCard({ packs, onEdit }: { packs: DetectionPack[]; onEdit(pack: DetectionPack): void }) {
  const canWrite = useCanWrite();
  const remove = useDeletePack();
  return (
    <section className="card" aria-labelledby="packs-title">
      <h2 id="packs-title">Packs</h2>
      {remove.error ? <InlineError error={remove.error} /> : null}
      <div className="table-wrap">
        <table className="table" aria-label="Detection packs">
          <thead>
            <tr>
              <th scope="col">Pack</th>
              <th scope="col">Categories</th>
              <th scope="col">Minimum severity</th>
              <th scope="col">Rules named</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {packs.map((p) => (
              <tr key={p.name} data-testid="pack-row">
                <NameCell name={p.name} custom={p.custom} description={p.description} />
                <td className="small">{p.categories.join(', ') || '—'}</td>
                <td>{p.minSeverity ?? 'any'}</td>
                <td className="small mono">{p.rules.length ? p.rules.join(', ') : '—'}</td>
                <CustomActions
                  name={p.name}
                  editable={canWrite && p.custom && p.canEdit}
                  onEdit={() => onEdit(p)}
                  onDelete={() => remove.mutate(p.name)}
                />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function RecentCard() {
  const recent = useRecentDetections();
  const connections = useConnections();
  const slugs = useMemo(
    () => new Map((connections.data ?? []).map((c) => [c.id, c.slug])),
    [connections.data],
  );
  return (
    <section className="card" aria-labelledby="recent-title">
      <h2 id="recent-title">Recent detections</h2>
      {recent.isPending ? <Loading label="Loading detections…" /> : null}
      {recent.isError ? <ErrorState error={recent.error} retry={() => void recent.refetch()} /> : null}
      {recent.data && recent.data.length === 0 ? (
        <p className="muted">Nothing detected in the latest audit rows.</p>
      ) : null}
      {recent.data && recent.data.length > 0 ? (
        <div className="table-wrap table-scroll">
          <table className="table" aria-label="Recent detections">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Rule</th>
                <th scope="col">Severity</th>
                <th scope="col">Action</th>
                <th scope="col">Found in</th>
                <th scope="col">Connection</th>
              </tr>
            </thead>
            <tbody>
              {recent.data.slice(0, 100).map((d) => (
                <tr key={d.key} data-testid="detection-row">
                  <td>
                    <Time iso={d.at} />
                  </td>
                  <td>
                    <span className="mono">{d.ruleId}</span>
                    <div className="muted small">{d.category}</div>
                  </td>
                  <td>
                    <Badge value={d.severity} tone={SEVERITY_TONE[d.severity]} />
                  </td>
                  <td>{d.action}</td>
                  <td className="mono small">
                    {d.where} {d.location}
                  </td>
                  <td>
                    {d.connectionId ? (slugs.get(d.connectionId) ?? d.connectionId) : '—'}
                    {d.traceId ? (
                      <div>
                        <Link className="mono small" to={`/audit/traces/${encodeURIComponent(d.traceId)}`}>
                          {d.traceId}
                        </Link>
                      </div>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

export function DetectionsScreen(_props: { params: Record<string, string> }) {
  const canWrite = useCanWrite();
  const packs = useDetectionPacks();
  const [editingRule, setEditingRule] = useState<DetectionRule | null>(null);
  const [editingPack, setEditingPack] = useState<DetectionPack | null>(null);
  // A new editor (fresh state) per rule or pack opened.
  const ruleKey = editingRule?.id ?? 'new';
  const packKey = editingPack?.name ?? 'new';
  return (
    <>
      <PageHeader
        title="Detections"
        subtitle="Content inspection: the rules and packs the gateway runs on arguments, results, prompts and completions."
      />
      <RulesCard
        onEdit={(rule) => {
          setEditingRule(rule);
          document.getElementById('rule-editor-title')?.scrollIntoView();
        }}
      />
      {packs.isError ? <ErrorState error={packs.error} retry={() => void packs.refetch()} /> : null}
      {packs.data ? (
        <PacksCard
          packs={packs.data}
          onEdit={(pack) => {
            setEditingPack(pack);
            document.getElementById('pack-editor-title')?.scrollIntoView();
          }}
        />
      ) : null}
      <div className="grid-2">
        {canWrite ? (
          <section className="card" aria-labelledby="rule-editor-title">
            <h2 id="rule-editor-title">{editingRule ? `Edit ${editingRule.id}` : 'New custom rule'}</h2>
            <RuleEditor
              key={ruleKey}
              editing={editingRule?.id ?? null}
              initial={JSON.stringify(editingRule?.definition ?? RULE_TEMPLATE, null, 2)}
              onDone={() => setEditingRule(null)}
            />
          </section>
        ) : null}
        <section className="card" aria-labelledby="tester-title">
          <h2 id="tester-title">Rule tester</h2>
          <RuleTester packs={packs.data ?? []} />
        </section>
      </div>
      {canWrite ? (
        <section className="card" aria-labelledby="pack-editor-title">
          <h2 id="pack-editor-title">{editingPack ? `Edit ${editingPack.name}` : 'New custom pack'}</h2>
          <PackEditor key={packKey} editing={editingPack} onDone={() => setEditingPack(null)} />
        </section>
      ) : null}
      {packs.data ? <AssignmentCard packs={packs.data} /> : null}
      <RecentCard />
    </>
  );
}
