/** Screen heading with its actions, and small shared bits (badges, relative times). */
import type { ReactNode } from 'react';
import { formatTime, timeAgo } from '../lib/format';

export function PageHeader({
  title,
  subtitle,
  actions,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle ? <p className="page-subtitle">{subtitle}</p> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}

const ACTION_TONES: Record<string, string> = {
  allow: 'ok',
  pass: 'ok',
  active: 'ok',
  enabled: 'ok',
  alert: 'warn',
  approve: 'ok',
  approval_required: 'warn',
  deny: 'bad',
  killed: 'bad',
  rate_limited: 'bad',
  suspended: 'bad',
  disabled: 'muted',
  error: 'bad',
  unauthenticated: 'bad',
  rate_spike: 'bad',
  destructive_pattern: 'bad',
};

export function Badge({ value, tone }: { value: string; tone?: string }) {
  return <span className={`badge badge-${tone ?? ACTION_TONES[value] ?? 'neutral'}`}>{value}</span>;
}

export function Time({ iso, relative = true }: { iso: string | null | undefined; relative?: boolean }) {
  if (!iso) return <span className="muted">never</span>;
  return (
    <time dateTime={iso} title={formatTime(iso)}>
      {relative ? timeAgo(iso) : formatTime(iso)}
    </time>
  );
}
