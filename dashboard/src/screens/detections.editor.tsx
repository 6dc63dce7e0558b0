/**
 * The Detections screen's editors: a custom rule as JSON (checked by the API when saved — a
 * pattern that could backtrack or match the empty string, or that misses its own examples, is
 * refused and the reason shown under the editor with the field it concerns), a custom pack, and
 * the rule tester (the same engine the gateway runs, on a text typed here).
 */
import { useState } from 'react';
import { ApiError } from '../api/api.client';
import { SelectField, TextAreaField, TextField } from '../ui/field';
import { Badge } from '../ui/page';
import { useToast } from '../ui/toast';
import {
  CATEGORIES,
  type DetectionPack,
  SEVERITIES,
  useSavePack,
  useSaveRule,
  useScan,
  WHERES,
} from './detections.queries';

export const RULE_TEMPLATE = {
  id: 'custom.internal_ticket',
  category: 'secret',
  severity: 'high',
  where: ['args', 'result', 'prompt', 'completion'],
  detection: { literals: ['TICKET-'], pattern: 'TICKET-\\d{6}' },
  action: 'block',
  description: 'Internal ticket numbers must not leave the company',
  examples: { positive: ['see TICKET-123456'], negative: ['a ticket for 12 people'] },
};

/** The API's reason, and the field it concerns (`detection.pattern`, `examples.positive[0]`…). */
function Refusal({ error, testId }: { error: unknown; testId: string }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const path =
    error instanceof ApiError && error.details && typeof error.details === 'object'
      ? (error.details as { path?: unknown }).path
      : undefined;
  return (
    <p className="field-error" role="alert" data-testid={testId}>
      {message}
      {typeof path === 'string' && path ? (
        <>
          {' '}
          (at <code>{path}</code>)
        </>
      ) : null}
    </p>
  );
}

export function RuleEditor({
  editing,
  initial,
  onDone,
}: {
  /** The id of the custom rule being changed, or null for a new rule. */
  editing: string | null;
  initial: string;
  onDone(): void;
}) {
  const { notify } = useToast();
  const [text, setText] = useState(initial);
  const [parseError, setParseError] = useState<string | null>(null);
  const save = useSaveRule(editing);
  const submit = () => {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      setParseError(`Not JSON: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    setParseError(null);
    save.mutate(body as Record<string, unknown>, {
      onSuccess: (rule) => {
        notify(`Rule ${rule.id} saved`);
        onDone();
      },
    });
  };
  return (
    <form
      aria-label="Custom rule"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <TextAreaField
        label={editing ? `Rule ${editing} (JSON)` : 'New rule (JSON)'}
        className="mono"
        value={text}
        onChange={(e) => setText(e.target.value)}
        rows={14}
        spellCheck={false}
        hint="Literals gate the pattern; the pattern must not backtrack nor match the empty string; every positive example must be found and no negative one."
      />
      {parseError ? (
        <p className="field-error" role="alert" data-testid="rule-error">
          {parseError}
        </p>
      ) : (
        <Refusal error={save.error} testId="rule-error" />
      )}
      <div className="dialog-actions">
        {editing ? (
          <button type="button" className="btn" onClick={onDone}>
            Cancel
          </button>
        ) : null}
        <button type="submit" className="btn btn-primary" disabled={save.isPending}>
          {editing ? 'Save changes' : 'Save rule'}
        </button>
      </div>
    </form>
  );
}

export function PackEditor({
  editing,
  onDone,
}: {
  /** The custom pack being changed, or null for a new pack. */
  editing: DetectionPack | null;
  onDone(): void;
}) {
  const { notify } = useToast();
  const [name, setName] = useState(editing?.name ?? '');
  const [description, setDescription] = useState(editing?.description ?? '');
  const [rules, setRules] = useState((editing?.rules ?? []).join(', '));
  const [categories, setCategories] = useState<string[]>(editing?.categories ?? []);
  const [minSeverity, setMinSeverity] = useState(editing?.minSeverity ?? '');
  const save = useSavePack(editing?.name ?? null);
  const toggle = (c: string) =>
    setCategories((now) => (now.includes(c) ? now.filter((x) => x !== c) : [...now, c]));
  return (
    <form
      aria-label="Custom pack"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate(
          {
            name,
            description,
            rules: rules
              .split(/[\s,]+/)
              .map((r) => r.trim())
              .filter(Boolean),
            categories,
            ...(minSeverity ? { minSeverity } : {}),
          },
          {
            onSuccess: (pack) => {
              notify(`Pack ${pack.name} saved`);
              onDone();
            },
          },
        );
      }}
    >
      <TextField
        label="Pack name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        disabled={editing !== null}
        placeholder="team-pack"
        required
      />
      <TextField label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
      <TextField
        label="Rule ids"
        value={rules}
        onChange={(e) => setRules(e.target.value)}
        hint="Comma-separated, built-in or custom (e.g. pii.email, custom.internal_ticket)."
      />
      <fieldset className="checkbox-grid">
        <legend>Whole categories</legend>
        {CATEGORIES.map((c) => (
          <label key={c} className="checkbox">
            <input type="checkbox" checked={categories.includes(c)} onChange={() => toggle(c)} /> {c}
          </label>
        ))}
      </fieldset>
      <SelectField
        label="Minimum severity of the categories’ rules"
        value={minSeverity}
        onChange={(e) => setMinSeverity(e.target.value as typeof minSeverity)}
      >
        <option value="">any</option>
        {SEVERITIES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </SelectField>
      <Refusal error={save.error} testId="pack-error" />
      <div className="dialog-actions">
        {editing ? (
          <button type="button" className="btn" onClick={onDone}>
            Cancel
          </button>
        ) : null}
        <button type="submit" className="btn btn-primary" disabled={save.isPending}>
          {editing ? 'Save pack changes' : 'Save pack'}
        </button>
      </div>
    </form>
  );
}

export function RuleTester({ packs }: { packs: DetectionPack[] }) {
  const [text, setText] = useState('');
  const [where, setWhere] = useState<(typeof WHERES)[number]>('args');
  const [pack, setPack] = useState('');
  const scan = useScan();
  return (
    <form
      aria-label="Rule tester"
      onSubmit={(e) => {
        e.preventDefault();
        scan.mutate({ text, where, ...(pack ? { packs: [pack] } : {}) });
      }}
    >
      <TextAreaField label="Text to test" value={text} onChange={(e) => setText(e.target.value)} rows={4} />
      <div className="inline-controls">
        <SelectField
          label="Where"
          value={where}
          onChange={(e) => setWhere(e.target.value as typeof where)}
          className="inline-field"
        >
          {WHERES.map((w) => (
            <option key={w} value={w}>
              {w}
            </option>
          ))}
        </SelectField>
        <SelectField
          label="Pack"
          value={pack}
          onChange={(e) => setPack(e.target.value)}
          className="inline-field"
        >
          <option value="">every rule</option>
          {packs.map((p) => (
            <option key={p.name} value={p.name}>
              {p.name}
            </option>
          ))}
        </SelectField>
        <button type="submit" className="btn btn-primary" disabled={!text || scan.isPending}>
          Test
        </button>
      </div>
      <Refusal error={scan.error} testId="scan-error" />
      {scan.data ? (
        <div data-testid="scan-result">
          <p>
            Risk score <strong data-testid="scan-risk">{scan.data.riskScore}</strong> ·{' '}
            {scan.data.findings.length} finding{scan.data.findings.length === 1 ? '' : 's'}
          </p>
          <ul className="plain-list">
            {scan.data.findings.map((f) => (
              <li key={`${f.ruleId}:${f.start}:${f.end}`} className="list-row">
                <span className="mono strong">{f.ruleId}</span> <Badge value={f.severity} />{' '}
                <Badge value={f.action} tone="neutral" />{' '}
                <span className="muted small">
                  characters {f.start}–{f.end}
                  {f.encoding?.length ? `, inside ${f.encoding.join(' → ')}` : ''}
                </span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </form>
  );
}
