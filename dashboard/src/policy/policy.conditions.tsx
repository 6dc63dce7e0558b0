/**
 * A rule's conditions in the policy form (policy.form.tsx): one row per condition field with its
 * operator and value, and the validation messages shown under a field.
 */
import { useId } from 'react';
import type { ConditionOp, ConditionRow, ValueType } from './policy.model';

export function Messages({ messages, id }: { messages: string[] | undefined; id?: string }) {
  if (!messages || messages.length === 0) return null;
  return (
    <ul className="field-error rule-issues" id={id} role="alert">
      {messages.map((m) => (
        <li key={m}>{m}</li>
      ))}
    </ul>
  );
}

export function numberOrText(text: string): number | string {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

export function ConditionEditor({
  row,
  index,
  ruleIndex,
  messages,
  readOnly,
  onChange,
  onRemove,
}: {
  row: ConditionRow;
  index: number;
  ruleIndex: number;
  messages: string[] | undefined;
  readOnly: boolean;
  onChange(row: ConditionRow): void;
  onRemove(): void;
}) {
  const id = useId();
  const errorId = messages ? `${id}-error` : undefined;
  const label = `Rule ${ruleIndex + 1} condition ${index + 1}`;
  if (row.raw) {
    return (
      <div className="condition condition-raw">
        <code>
          {row.field}: {row.text}
        </code>
        <span className="muted small">This condition can only be edited in the JSON view.</span>
        <Messages messages={messages} />
      </div>
    );
  }
  return (
    <div className={`condition ${messages ? 'field-invalid' : ''}`}>
      <div className="condition-inputs">
        <div className="field">
          <label htmlFor={`${id}-field`}>Field</label>
          <input
            id={`${id}-field`}
            value={row.field}
            list="condition-fields"
            aria-label={`${label} field`}
            aria-invalid={messages ? true : undefined}
            aria-describedby={errorId}
            readOnly={readOnly}
            onChange={(e) => onChange({ ...row, field: e.target.value })}
            spellCheck={false}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-op`}>Operator</label>
          <select
            id={`${id}-op`}
            value={row.op}
            aria-label={`${label} operator`}
            disabled={readOnly}
            onChange={(e) => onChange({ ...row, op: e.target.value as ConditionOp })}
          >
            <option value="equals">equals</option>
            <option value="eq">eq</option>
            <option value="neq">not equal (neq)</option>
            <option value="in">in list</option>
            <option value="nin">not in list (nin)</option>
          </select>
        </div>
        <div className="field grow">
          <label htmlFor={`${id}-value`}>{row.op === 'in' || row.op === 'nin' ? 'Values' : 'Value'}</label>
          <input
            id={`${id}-value`}
            value={row.text}
            aria-label={`${label} value`}
            aria-invalid={messages ? true : undefined}
            aria-describedby={errorId}
            readOnly={readOnly}
            onChange={(e) => onChange({ ...row, text: e.target.value })}
            placeholder={row.op === 'in' || row.op === 'nin' ? 'a, b, c' : undefined}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-type`}>Type</label>
          <select
            id={`${id}-type`}
            value={row.type}
            aria-label={`${label} value type`}
            disabled={readOnly}
            onChange={(e) => onChange({ ...row, type: e.target.value as ValueType })}
          >
            <option value="string">text</option>
            <option value="number">number</option>
            <option value="boolean">boolean</option>
          </select>
        </div>
        {readOnly ? null : (
          <button
            type="button"
            className="btn btn-small btn-ghost"
            onClick={onRemove}
            aria-label={`Remove ${label}`}
          >
            Remove
          </button>
        )}
      </div>
      <Messages messages={messages} id={errorId} />
    </div>
  );
}
