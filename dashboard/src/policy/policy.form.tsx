/**
 * The form view of a policy: one card per rule, in evaluation order (first match wins), with each
 * validation problem shown on the rule and field it concerns.
 */
import { useId } from 'react';
import { ConditionEditor, Messages, numberOrText } from './policy.conditions';
import {
  ACTIONS,
  type ConditionRow,
  conditionRows,
  freshConditionField,
  isRecord,
  type PlacedIssues,
  type RuleDraft,
  rowsToConditions,
  setRuleField,
} from './policy.model';

interface FormProps {
  rules: RuleDraft[];
  issues: PlacedIssues;
  readOnly: boolean;
  onChange(rules: RuleDraft[]): void;
}

function RuleCard({
  rule,
  index,
  count,
  issues,
  readOnly,
  onChange,
  onMove,
  onRemove,
}: {
  rule: RuleDraft;
  index: number;
  count: number;
  issues: Map<string, string[]> | undefined;
  readOnly: boolean;
  onChange(rule: RuleDraft): void;
  onMove(delta: number): void;
  onRemove(): void;
}) {
  const id = useId();
  const n = index + 1;
  const at = (key: string) => issues?.get(key);
  if (!isRecord(rule)) {
    return (
      <li className="rule-card rule-invalid" aria-label={`Rule ${n}`}>
        <p>
          Rule {n} is not an object (<code>{JSON.stringify(rule)}</code>): fix it in the JSON view.
        </p>
        <Messages messages={issues?.get('')} />
      </li>
    );
  }
  const rows = conditionRows(rule.conditions);
  const setRows = (next: ConditionRow[]) =>
    onChange(setRuleField(rule, 'conditions', rowsToConditions(next, rule.conditions)));
  const rate = isRecord(rule.rateLimit) ? rule.rateLimit : null;
  const setRate = (key: string, value: unknown) =>
    onChange(setRuleField(rule, 'rateLimit', { ...(rate ?? {}), [key]: value }));
  const action = typeof rule.action === 'string' ? rule.action : '';
  const invalid = issues && issues.size > 0;
  const fieldProps = (key: string) => ({
    'aria-invalid': at(key) ? true : undefined,
    'aria-describedby': at(key) ? `${id}-${key}-error` : undefined,
  });
  return (
    <li
      className={`rule-card action-${action} ${invalid ? 'rule-has-issues' : ''}`}
      aria-label={`Rule ${n}`}
      data-testid={`rule-${index}`}
    >
      <div className="rule-head">
        <span className="rule-number">#{n}</span>
        <span className="muted small">
          {index === 0
            ? 'checked first'
            : index === 1
              ? 'checked if rule 1 does not match'
              : `checked if rules 1–${index} do not match`}
        </span>
        {readOnly ? null : (
          <div className="rule-tools">
            <button
              type="button"
              className="btn btn-small btn-ghost"
              onClick={() => onMove(-1)}
              disabled={index === 0}
              aria-label={`Move rule ${n} up`}
            >
              ↑
            </button>
            <button
              type="button"
              className="btn btn-small btn-ghost"
              onClick={() => onMove(1)}
              disabled={index === count - 1}
              aria-label={`Move rule ${n} down`}
            >
              ↓
            </button>
            <button
              type="button"
              className="btn btn-small btn-ghost"
              onClick={onRemove}
              aria-label={`Delete rule ${n}`}
            >
              Delete
            </button>
          </div>
        )}
      </div>
      <Messages messages={at('')} />
      <div className="rule-main">
        <div className={`field grow ${at('tool') ? 'field-invalid' : ''}`}>
          <label htmlFor={`${id}-tool`}>Tool (glob)</label>
          <input
            id={`${id}-tool`}
            aria-label={`Rule ${n} tool`}
            value={
              typeof rule.tool === 'string'
                ? rule.tool
                : rule.tool === undefined
                  ? ''
                  : JSON.stringify(rule.tool)
            }
            placeholder="delete_*"
            readOnly={readOnly}
            spellCheck={false}
            onChange={(e) => onChange(setRuleField(rule, 'tool', e.target.value))}
            {...fieldProps('tool')}
          />
          <Messages messages={at('tool')} id={`${id}-tool-error`} />
        </div>
        <div className={`field ${at('action') ? 'field-invalid' : ''}`}>
          <label htmlFor={`${id}-action`}>Action</label>
          <select
            id={`${id}-action`}
            aria-label={`Rule ${n} action`}
            value={ACTIONS.includes(action as never) ? action : ''}
            disabled={readOnly}
            onChange={(e) => onChange(setRuleField(rule, 'action', e.target.value))}
            {...fieldProps('action')}
          >
            {ACTIONS.includes(action as never) ? null : <option value="">choose…</option>}
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
          <Messages messages={at('action')} id={`${id}-action-error`} />
        </div>
      </div>
      <fieldset className="conditions">
        <legend>
          Conditions{' '}
          {rows.length === 0 ? <span className="muted small">(none: matches every caller)</span> : null}
        </legend>
        {rows.map((row, i) => (
          <ConditionEditor
            // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity beyond their position
            key={i}
            row={row}
            index={i}
            ruleIndex={index}
            readOnly={readOnly}
            messages={at(`conditions.${row.field}`)}
            onChange={(next) => setRows(rows.map((r, j) => (j === i ? next : r)))}
            onRemove={() => setRows(rows.filter((_, j) => j !== i))}
          />
        ))}
        <Messages messages={at('conditions')} />
        {readOnly ? null : (
          <button
            type="button"
            className="btn btn-small"
            onClick={() =>
              setRows([
                ...rows,
                { field: freshConditionField(rows), op: 'equals', text: '', type: 'string', raw: false },
              ])
            }
          >
            Add condition
          </button>
        )}
      </fieldset>
      <fieldset className="rate-limit">
        <legend>
          <label>
            <input
              type="checkbox"
              checked={rate !== null}
              disabled={readOnly}
              onChange={(e) =>
                onChange(
                  setRuleField(
                    rule,
                    'rateLimit',
                    e.target.checked ? { limit: 60, windowSeconds: 60, by: 'user' } : undefined,
                  ),
                )
              }
            />{' '}
            Rate limit
          </label>
        </legend>
        {rate ? (
          <div className="rule-main">
            <div className={`field ${at('rateLimit.limit') ? 'field-invalid' : ''}`}>
              <label htmlFor={`${id}-limit`}>Calls</label>
              <input
                id={`${id}-limit`}
                inputMode="numeric"
                value={String(rate.limit ?? '')}
                readOnly={readOnly}
                onChange={(e) => setRate('limit', numberOrText(e.target.value))}
                {...fieldProps('rateLimit.limit')}
              />
              <Messages messages={at('rateLimit.limit')} id={`${id}-rateLimit.limit-error`} />
            </div>
            <div className={`field ${at('rateLimit.windowSeconds') ? 'field-invalid' : ''}`}>
              <label htmlFor={`${id}-window`}>Per seconds</label>
              <input
                id={`${id}-window`}
                inputMode="numeric"
                value={String(rate.windowSeconds ?? '')}
                readOnly={readOnly}
                onChange={(e) => setRate('windowSeconds', numberOrText(e.target.value))}
                {...fieldProps('rateLimit.windowSeconds')}
              />
              <Messages messages={at('rateLimit.windowSeconds')} id={`${id}-rateLimit.windowSeconds-error`} />
            </div>
            <div className={`field grow ${at('rateLimit.by') ? 'field-invalid' : ''}`}>
              <label htmlFor={`${id}-by`}>Counted by</label>
              <input
                id={`${id}-by`}
                list="rate-keys"
                value={String(rate.by ?? '')}
                readOnly={readOnly}
                onChange={(e) => setRate('by', e.target.value)}
                {...fieldProps('rateLimit.by')}
              />
              <Messages messages={at('rateLimit.by')} id={`${id}-rateLimit.by-error`} />
            </div>
          </div>
        ) : null}
        <Messages messages={at('rateLimit')} />
      </fieldset>
      <div className={`field ${at('reason') ? 'field-invalid' : ''}`}>
        <label htmlFor={`${id}-reason`}>Reason (shown to the agent on deny, and in the audit trail)</label>
        <input
          id={`${id}-reason`}
          aria-label={`Rule ${n} reason`}
          value={typeof rule.reason === 'string' ? rule.reason : ''}
          readOnly={readOnly}
          onChange={(e) =>
            onChange(setRuleField(rule, 'reason', e.target.value === '' ? undefined : e.target.value))
          }
          {...fieldProps('reason')}
        />
        <Messages messages={at('reason')} id={`${id}-reason-error`} />
      </div>
    </li>
  );
}

export function PolicyForm({ rules, issues, readOnly, onChange }: FormProps) {
  const update = (index: number, rule: RuleDraft) => onChange(rules.map((r, i) => (i === index ? rule : r)));
  const move = (index: number, delta: number) => {
    const next = [...rules];
    const [rule] = next.splice(index, 1);
    if (rule !== undefined) next.splice(index + delta, 0, rule);
    onChange(next);
  };
  return (
    <div className="policy-form">
      <datalist id="condition-fields">
        <option value="user" />
        <option value="metadata.role" />
        <option value="metadata.team" />
        <option value="metadata.environment" />
        <option value="annotations.readOnlyHint" />
        <option value="annotations.destructiveHint" />
      </datalist>
      <datalist id="rate-keys">
        <option value="user" />
        <option value="apiKey" />
        <option value="connection" />
        <option value="metadata.team" />
      </datalist>
      {rules.length === 0 ? (
        <p className="notice">
          No rules: every governed call is denied (a call that matches no rule is denied).
        </p>
      ) : null}
      <ol className="rule-list">
        {rules.map((rule, index) => (
          <RuleCard
            // biome-ignore lint/suspicious/noArrayIndexKey: rules are positional (first match wins)
            key={index}
            rule={rule}
            index={index}
            count={rules.length}
            issues={issues.rules.get(index)}
            readOnly={readOnly}
            onChange={(next) => update(index, next)}
            onMove={(delta) => move(index, delta)}
            onRemove={() => onChange(rules.filter((_, i) => i !== index))}
          />
        ))}
      </ol>
      {readOnly ? null : (
        <button
          type="button"
          className="btn"
          onClick={() => onChange([...rules, { tool: '*', action: 'allow' }])}
        >
          Add rule
        </button>
      )}
    </div>
  );
}
