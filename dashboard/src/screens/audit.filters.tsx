/**
 * The Audit screen's filters (audit.screen.tsx): which there are, read from and written to the URL
 * (shareable, and the browser's back button works), the form that edits them, and the API query
 * they make — the same for the table and the export.
 */
import { useEffect, useState } from 'react';
import { AUDIT_TYPES, type AuditQuery } from '../api/api.types';
import { localInputToIso } from '../lib/format';
import { navigate, withQuery } from '../lib/router';
import { SelectField, TextField } from '../ui/field';

const FILTERS = [
  'connection',
  'traceId',
  'user',
  'tool',
  'action',
  'outcome',
  'type',
  'session',
  'model',
  'from',
  'to',
  'lifecycle',
] as const;
const OUTCOMES = [
  'ok',
  'upstream_error',
  'timeout',
  'upstream_rejected',
  'outcome_unknown',
  'refused',
] as const;
export type FilterName = (typeof FILTERS)[number];
export type Filters = Partial<Record<FilterName, string>>;

export function filtersFrom(query: URLSearchParams): Filters {
  const out: Filters = {};
  for (const name of FILTERS) {
    const value = query.get(name);
    if (value) out[name] = value;
  }
  return out;
}

export function toApiQuery(filters: Filters): AuditQuery {
  return {
    ...filters,
    from: localInputToIso(filters.from ?? ''),
    to: localInputToIso(filters.to ?? ''),
    type: filters.type as AuditQuery['type'],
    outcome: filters.outcome as AuditQuery['outcome'],
    // Protocol lifecycle rows (initialize, ping, notifications/*) are hidden unless asked for.
    lifecycle: filters.lifecycle === 'include' ? 'include' : 'exclude',
  };
}

export function FilterForm({ filters }: { filters: Filters }) {
  const [draft, setDraft] = useState<Filters>(filters);
  useEffect(() => setDraft(filters), [filters]);
  const set = (name: FilterName) => (e: { target: { value: string } }) =>
    setDraft((d) => ({ ...d, [name]: e.target.value }));
  return (
    <form
      className="card filter-form"
      aria-label="Audit filters"
      onSubmit={(e) => {
        e.preventDefault();
        navigate(withQuery('/audit', draft));
      }}
    >
      <TextField
        label="Connection"
        value={draft.connection ?? ''}
        onChange={set('connection')}
        placeholder="slug"
      />
      <TextField
        label="Trace id"
        value={draft.traceId ?? ''}
        onChange={set('traceId')}
        placeholder="ig_trace_…"
      />
      <TextField label="User" value={draft.user ?? ''} onChange={set('user')} />
      <TextField label="Tool" value={draft.tool ?? ''} onChange={set('tool')} />
      <SelectField label="Action" value={draft.action ?? ''} onChange={set('action')}>
        <option value="">any</option>
        {[
          'allow',
          'deny',
          'alert',
          'approve',
          'approval_required',
          'killed',
          'rate_limited',
          'error',
          'pass',
          'unauthenticated',
        ].map((a) => (
          <option key={a} value={a}>
            {a}
          </option>
        ))}
      </SelectField>
      <SelectField label="Outcome" value={draft.outcome ?? ''} onChange={set('outcome')}>
        <option value="">any</option>
        {OUTCOMES.map((o) => (
          <option key={o} value={o}>
            {o.replace('_', ' ')}
          </option>
        ))}
      </SelectField>
      <SelectField label="Type" value={draft.type ?? ''} onChange={set('type')}>
        <option value="">any</option>
        {AUDIT_TYPES.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </SelectField>
      <TextField label="Session" value={draft.session ?? ''} onChange={set('session')} placeholder="ses_…" />
      <TextField label="Model" value={draft.model ?? ''} onChange={set('model')} placeholder="gpt-4o" />
      <TextField
        label="From"
        type="datetime-local"
        step={1}
        value={draft.from ?? ''}
        onChange={set('from')}
      />
      <TextField label="To" type="datetime-local" step={1} value={draft.to ?? ''} onChange={set('to')} />
      <label className="checkbox-field">
        <input
          type="checkbox"
          checked={draft.lifecycle === 'include'}
          onChange={(e) => {
            // Applies at once, like a view toggle, keeping the other applied filters.
            const next = { ...filters, lifecycle: e.target.checked ? 'include' : undefined };
            navigate(withQuery('/audit', next));
          }}
        />{' '}
        Show protocol lifecycle (initialize, ping, notifications)
      </label>
      <div className="filter-actions">
        <button type="submit" className="btn btn-primary">
          Apply filters
        </button>
        <button type="button" className="btn" onClick={() => navigate('/audit')}>
          Clear
        </button>
      </div>
    </form>
  );
}
