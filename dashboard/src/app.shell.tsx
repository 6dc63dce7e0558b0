/**
 * The signed-in frame: navigation, organization switcher, live-stream indicator, account menu.
 * At narrow widths the navigation folds behind a Menu button.
 */
import { type ReactNode, useState } from 'react';
import { auth } from './api/api.client';
import type { Membership, Organization } from './api/api.types';
import { useAuth } from './api/auth.context';
import { Link, useLocation } from './lib/router';
import { LiveProvider, useLive } from './observe/live.context';
import { Dialog } from './ui/dialog';
import { TextField } from './ui/field';
import { InlineError } from './ui/states';
import { useToast } from './ui/toast';

const NAV: Array<{ section: string; items: Array<{ to: string; label: string }> }> = [
  {
    section: 'Monitor',
    items: [
      { to: '/observe', label: 'Observe' },
      { to: '/alerts', label: 'Alerts' },
      { to: '/audit', label: 'Audit' },
      { to: '/llm-usage', label: 'LLM usage' },
    ],
  },
  {
    section: 'Governance',
    items: [
      { to: '/connections', label: 'Connections' },
      { to: '/agents', label: 'Agents' },
      { to: '/sessions', label: 'Sessions & kill switch' },
      { to: '/approvals', label: 'Approvals' },
      { to: '/budgets', label: 'Budgets' },
      { to: '/system-prompts', label: 'System prompts' },
      { to: '/detections', label: 'Detections' },
    ],
  },
  {
    section: 'Organization',
    items: [
      { to: '/members', label: 'Members' },
      { to: '/teams', label: 'Teams' },
      { to: '/api-keys', label: 'API keys' },
      { to: '/oauth-apps', label: 'OAuth apps' },
      { to: '/settings', label: 'Settings' },
    ],
  },
];

function LiveIndicator() {
  const { status } = useLive();
  const text = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', closed: 'Offline' }[
    status
  ];
  return (
    <span className={`live-indicator live-${status}`} role="status" aria-label={`Live events: ${text}`}>
      <span className="live-dot" aria-hidden="true" />
      {text}
    </span>
  );
}

function NewOrganizationDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { refresh } = useAuth();
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog open={open} title="New organization" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          auth<Membership>('POST', '/organizations', { name })
            .then(() => refresh())
            .then(onClose)
            .catch(setError)
            .finally(() => setBusy(false));
        }}
      >
        <TextField
          label="Name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          maxLength={100}
        />
        <InlineError error={error} />
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
            Create and switch
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function OrganizationSwitcher({ org }: { org: Organization }) {
  const { state, switchOrganization } = useAuth();
  const { notify } = useToast();
  const [creating, setCreating] = useState(false);
  if (state.status !== 'signedIn' || state.mode !== 'cookie') {
    return (
      <div className="org-switcher">
        <span className="org-label">Organization</span>
        <strong>{org.name}</strong>
      </div>
    );
  }
  return (
    <div className="org-switcher">
      <label className="org-label" htmlFor="org-switcher">
        Organization
      </label>
      <select
        id="org-switcher"
        value={org.id}
        onChange={(e) => {
          if (e.target.value === '__new') {
            setCreating(true);
            return;
          }
          switchOrganization(e.target.value).catch((err: unknown) => notify(String(err), 'danger'));
        }}
      >
        {state.session.organizations.map((m) => (
          <option key={m.id} value={m.id}>
            {m.name} ({m.role})
          </option>
        ))}
        <option value="__new">+ New organization…</option>
      </select>
      <NewOrganizationDialog open={creating} onClose={() => setCreating(false)} />
    </div>
  );
}

function Account() {
  const { state, signOut } = useAuth();
  if (state.status !== 'signedIn') return null;
  const who = state.mode === 'cookie' ? state.session.user.email : 'API key';
  return (
    <div className="account">
      <span
        className="account-who"
        title={state.mode === 'apiKey' ? 'Signed in with an API key in this tab' : undefined}
      >
        {who}
        {state.org ? <span className="muted"> · {state.org.role}</span> : null}
      </span>
      <button type="button" className="btn btn-small" onClick={() => void signOut()}>
        Sign out
      </button>
    </div>
  );
}

export function Shell({ org, children }: { org: Organization; children: ReactNode }) {
  const { path } = useLocation();
  // The menu (narrow widths) belongs to the page it was opened on: navigating closes it.
  const [menuPath, setMenuPath] = useState<string | null>(null);
  const menuOpen = menuPath === path;
  return (
    <LiveProvider orgId={org.id}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <div className="shell">
        <aside className={`sidebar ${menuOpen ? 'sidebar-open' : ''}`}>
          <div className="brand">
            <svg viewBox="0 0 32 32" width="26" height="26" aria-hidden="true">
              <path d="M16 3l11 5v7c0 7-5 12-11 14C10 27 5 22 5 15V8z" fill="#38bdf8" />
              <path
                d="M11 16l3.5 3.5L21 13"
                stroke="#0b1220"
                strokeWidth="2.6"
                fill="none"
                strokeLinecap="round"
              />
            </svg>
            <span>Igris Edge</span>
            <button
              type="button"
              className="btn btn-small menu-toggle"
              aria-expanded={menuOpen}
              aria-controls="primary-nav"
              onClick={() => setMenuPath(menuOpen ? null : path)}
            >
              Menu
            </button>
          </div>
          <nav id="primary-nav" aria-label="Primary">
            {NAV.map((group) => (
              <div key={group.section} className="nav-group">
                <p className="nav-section">{group.section}</p>
                <ul>
                  {group.items.map((item) => {
                    const active = path === item.to || path.startsWith(`${item.to}/`);
                    return (
                      <li key={item.to}>
                        <Link
                          to={item.to}
                          className={active ? 'active' : undefined}
                          aria-current={active ? 'page' : undefined}
                        >
                          {item.label}
                        </Link>
                      </li>
                    );
                  })}
                </ul>
              </div>
            ))}
          </nav>
        </aside>
        <div className="content">
          <header className="topbar">
            <OrganizationSwitcher org={org} />
            <div className="topbar-right">
              <LiveIndicator />
              <Account />
            </div>
          </header>
          <main id="main" tabIndex={-1}>
            {children}
          </main>
        </div>
      </div>
    </LiveProvider>
  );
}
