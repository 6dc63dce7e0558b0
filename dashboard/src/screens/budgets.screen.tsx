/**
 * Budgets: monthly USD limits on the organization, a team, an API key or an agent user. Each shows
 * its current period (spent, reserved by calls in flight, the warning line), a confirmed manual
 * reset, and the history of closed periods.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { issueFor, v1 } from '../api/api.client';
import type { Budget, BudgetScope, CreateBudget } from '../api/api.types';
import { useCanWrite } from '../api/auth.context';
import { formatShortTime } from '../lib/format';
import { BudgetBar } from '../ui/budget.bar';
import { ConfirmDialog, Dialog } from '../ui/dialog';
import { SelectField, TextField } from '../ui/field';
import { formatUsd } from '../ui/llm.figures';
import { Badge, PageHeader } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import { useTeams } from './teams.screen';

const BUDGETS_KEY = ['budgets'] as const;

const SCOPES: Array<{ value: BudgetScope; label: string }> = [
  { value: 'org', label: 'Whole organization' },
  { value: 'team', label: 'A team' },
  { value: 'apiKey', label: 'An API key' },
  { value: 'user', label: 'An agent user (X-Igris-User)' },
];

function ScopeRefField({
  scope,
  value,
  onChange,
  error,
}: {
  scope: BudgetScope;
  value: string;
  onChange(value: string): void;
  error?: string;
}) {
  const teams = useTeams();
  if (scope === 'org') return null;
  if (scope === 'team') {
    return (
      <SelectField
        label="Team"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        error={error ?? (teams.isError ? 'Teams could not be loaded' : undefined)}
        hint={teams.data?.length === 0 ? 'No teams yet: create one on the Teams screen.' : undefined}
        required
      >
        <option value="">Choose a team…</option>
        {teams.data?.map((t) => (
          <option key={t.id} value={t.id}>
            {t.name}
          </option>
        ))}
      </SelectField>
    );
  }
  return (
    <TextField
      label={scope === 'apiKey' ? 'API key id' : 'Agent user'}
      value={value}
      onChange={(e) => onChange(e.target.value)}
      error={error}
      maxLength={256}
      required
    />
  );
}

function CreateBudgetDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const [name, setName] = useState('');
  const [scope, setScope] = useState<BudgetScope>('team');
  const [scopeRef, setScopeRef] = useState('');
  const [limit, setLimit] = useState('');
  const [warnAt, setWarnAt] = useState('80');
  const [enforcement, setEnforcement] = useState<'block' | 'warn'>('block');
  const create = useMutation({
    mutationFn: () => {
      const body: CreateBudget = {
        name: name.trim() || undefined,
        scope,
        scopeRef: scope === 'org' ? undefined : scopeRef.trim(),
        limitUsd: Number(limit),
        warnAtPercent: Number(warnAt),
        enforcement,
      };
      return v1('post', '/budgets', { body });
    },
    onSuccess: async (budget) => {
      notify(`Budget ${budget.name} created`);
      await queryClient.invalidateQueries({ queryKey: BUDGETS_KEY });
      close();
    },
  });
  const close = () => {
    setName('');
    setScopeRef('');
    setLimit('');
    setWarnAt('80');
    create.reset();
    onClose();
  };
  const fields = ['name', 'scope', 'scopeRef', 'limitUsd', 'warnAtPercent', 'enforcement'];
  const unplaced = create.error && !fields.some((f) => issueFor(create.error, f));
  return (
    <Dialog open={open} title="New budget" onClose={close}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <TextField
          label="Budget name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={issueFor(create.error, 'name')}
          hint="Optional: defaults to the scope."
          maxLength={100}
        />
        <SelectField
          label="Applies to"
          value={scope}
          onChange={(e) => {
            setScope(e.target.value as BudgetScope);
            setScopeRef('');
          }}
          error={issueFor(create.error, 'scope')}
        >
          {SCOPES.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </SelectField>
        <ScopeRefField
          scope={scope}
          value={scopeRef}
          onChange={setScopeRef}
          error={issueFor(create.error, 'scopeRef')}
        />
        <div className="form-grid">
          <TextField
            label="Monthly limit (USD)"
            type="number"
            inputMode="decimal"
            min={0}
            step="0.01"
            value={limit}
            onChange={(e) => setLimit(e.target.value)}
            error={issueFor(create.error, 'limitUsd')}
            required
          />
          <TextField
            label="Warn at (%)"
            type="number"
            min={1}
            max={100}
            value={warnAt}
            onChange={(e) => setWarnAt(e.target.value)}
            error={issueFor(create.error, 'warnAtPercent')}
            required
          />
        </div>
        <SelectField
          label="At the limit"
          value={enforcement}
          onChange={(e) => setEnforcement(e.target.value as 'block' | 'warn')}
          error={issueFor(create.error, 'enforcement')}
        >
          <option value="block">Block calls (402)</option>
          <option value="warn">Only warn</option>
        </SelectField>
        {unplaced ? <InlineError error={create.error} /> : null}
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={close}>
            Cancel
          </button>
          <button
            type="submit"
            className="btn btn-primary"
            disabled={!limit || (scope !== 'org' && !scopeRef.trim()) || create.isPending}
          >
            Create budget
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Closed periods, loaded when the person opens them (GET /budgets/:id carries the history). */
function BudgetHistory({ budget }: { budget: Budget }) {
  const detail = useQuery({
    queryKey: [...BUDGETS_KEY, budget.id],
    queryFn: ({ signal }) => v1('get', '/budgets/{id}', { path: { id: budget.id }, signal }),
  });
  if (detail.isPending) return <Loading label="Loading history…" />;
  if (detail.isError) return <ErrorState error={detail.error} retry={() => void detail.refetch()} />;
  const history = detail.data.history ?? [];
  if (history.length === 0) return <p className="muted small">No closed periods yet.</p>;
  return (
    <div className="table-wrap">
      <table className="table" aria-label={`Past periods of ${budget.name}`}>
        <thead>
          <tr>
            <th scope="col">Period</th>
            <th scope="col" className="num">
              Spent
            </th>
            <th scope="col">Closed by</th>
          </tr>
        </thead>
        <tbody>
          {history.map((p) => (
            <tr key={`${p.periodStart}-${p.periodEnd}`}>
              <td>
                {formatShortTime(p.periodStart)} → {formatShortTime(p.periodEnd)}
              </td>
              <td className="num">{formatUsd(p.spentUsd)}</td>
              <td>{p.closedBy}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function BudgetCard({
  budget,
  teamName,
  canWrite,
}: {
  budget: Budget;
  teamName?: string;
  canWrite: boolean;
}) {
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const [resetting, setResetting] = useState(false);
  const [showHistory, setShowHistory] = useState(false);
  const scope = budget.scope === 'org' ? 'organization' : `${budget.scope} ${teamName ?? budget.scopeRef}`;
  return (
    <section className="card" aria-labelledby={`budget-${budget.id}`} data-testid="budget-card">
      <div className="card-head wrap">
        <h2 id={`budget-${budget.id}`}>{budget.name}</h2>
        <span className="inline-controls">
          <Badge value={budget.enforcement === 'block' ? 'blocks' : 'warns'} tone="neutral" />
          {budget.status?.warned ? <Badge value="warned" tone="warn" /> : null}
        </span>
      </div>
      <p className="muted small">
        {scope}
        {budget.status
          ? ` · period ${formatShortTime(budget.status.periodStart)} → ${formatShortTime(budget.status.periodEnd)}`
          : ''}{' '}
        · resets on day {budget.resetDay} ({budget.timezone})
      </p>
      <BudgetBar budget={budget} />
      <div className="form-actions">
        <button
          type="button"
          className="btn btn-small"
          aria-expanded={showHistory}
          onClick={() => setShowHistory((v) => !v)}
        >
          {showHistory ? 'Hide history' : 'History'}
        </button>
        {canWrite ? (
          <button type="button" className="btn btn-small btn-danger" onClick={() => setResetting(true)}>
            Reset period
          </button>
        ) : null}
      </div>
      {showHistory ? <BudgetHistory budget={budget} /> : null}
      <ConfirmDialog
        open={resetting}
        title={`Reset ${budget.name}?`}
        confirmLabel="Reset spend to $0"
        danger
        onConfirm={async () => {
          await v1('post', '/budgets/{id}/reset', { path: { id: budget.id } });
          notify(`${budget.name} reset`);
          await queryClient.invalidateQueries({ queryKey: BUDGETS_KEY });
        }}
        onClose={() => setResetting(false)}
      >
        <p>
          The current period’s spend ({formatUsd(budget.status?.spentUsd ?? 0)}) moves to the history and
          counting starts again from $0, so blocked calls go through again. The reset is audited.
        </p>
      </ConfirmDialog>
    </section>
  );
}

export function BudgetsScreen(_props: { params: Record<string, string> }) {
  const canWrite = useCanWrite();
  const [creating, setCreating] = useState(false);
  const teams = useTeams();
  const budgets = useQuery({
    queryKey: BUDGETS_KEY,
    queryFn: ({ signal }) => v1('get', '/budgets', { signal }).then((r) => r.budgets),
  });
  const teamNames = new Map(teams.data?.map((t) => [t.id, t.name]));
  return (
    <>
      <PageHeader
        title="Budgets"
        subtitle="Monthly USD limits on LLM spend: a warning at the threshold, a 402 at the limit."
        actions={
          canWrite ? (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              New budget
            </button>
          ) : null
        }
      />
      {budgets.isPending ? <Loading label="Loading budgets…" /> : null}
      {budgets.isError ? <ErrorState error={budgets.error} retry={() => void budgets.refetch()} /> : null}
      {budgets.data && budgets.data.length === 0 ? (
        <Empty title="No budgets">
          Set a monthly limit on the organization, a team, an API key or an agent user.
        </Empty>
      ) : null}
      {budgets.data?.map((b) => (
        <BudgetCard
          key={b.id}
          budget={b}
          canWrite={canWrite}
          teamName={b.scope === 'team' && b.scopeRef ? teamNames.get(b.scopeRef) : undefined}
        />
      ))}
      <CreateBudgetDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}
