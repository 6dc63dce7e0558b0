/** Settings: organization name, audit retention, and the default fail mode of new connections. */
import { useMutation } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { auth, issueFor, v1 } from '../api/api.client';
import { useAuth, useOrg } from '../api/auth.context';
import { SelectField, TextField } from '../ui/field';
import { PageHeader } from '../ui/page';
import { InlineError } from '../ui/states';
import { useToast } from '../ui/toast';

function PasswordCard() {
  const { notify } = useToast();
  const [currentPassword, setCurrent] = useState('');
  const [newPassword, setNew] = useState('');
  const change = useMutation({
    mutationFn: () => auth('POST', '/password', { currentPassword, newPassword }),
    onSuccess: () => {
      notify('Password changed; your other sessions were signed out');
      setCurrent('');
      setNew('');
    },
  });
  return (
    <section className="card" aria-labelledby="password-title">
      <h2 id="password-title">Your password</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          change.mutate();
        }}
      >
        <TextField
          label="Current password"
          type="password"
          autoComplete="current-password"
          value={currentPassword}
          onChange={(e) => setCurrent(e.target.value)}
          error={issueFor(change.error, 'currentPassword')}
          required
        />
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          value={newPassword}
          onChange={(e) => setNew(e.target.value)}
          error={issueFor(change.error, 'newPassword')}
          minLength={10}
          required
        />
        {change.error &&
        !issueFor(change.error, 'currentPassword') &&
        !issueFor(change.error, 'newPassword') ? (
          <InlineError error={change.error} />
        ) : null}
        <button type="submit" className="btn" disabled={change.isPending}>
          Change password
        </button>
      </form>
    </section>
  );
}

export function SettingsScreen(_props: { params: Record<string, string> }) {
  const org = useOrg();
  const { state, refresh } = useAuth();
  const { notify } = useToast();
  const [name, setName] = useState(org.name);
  const [retentionDays, setRetention] = useState(String(org.settings.retentionDays));
  const [defaultFailMode, setFailMode] = useState(org.settings.defaultFailMode);
  useEffect(() => {
    setName(org.name);
    setRetention(String(org.settings.retentionDays));
    setFailMode(org.settings.defaultFailMode);
  }, [org]);
  const canEdit = org.role === 'owner' || org.role === 'admin';
  const save = useMutation({
    mutationFn: () =>
      v1('patch', '/organizations/current', {
        body: { name: name.trim(), settings: { retentionDays: Number(retentionDays), defaultFailMode } },
      }),
    onSuccess: async () => {
      notify('Settings saved');
      await refresh();
    },
  });
  const known = ['name', 'settings.retentionDays', 'settings.defaultFailMode'];
  return (
    <>
      <PageHeader title="Settings" subtitle={`Organization ${org.slug} · ${org.id}`} />
      <div className="grid-2">
        <section className="card" aria-labelledby="org-settings">
          <h2 id="org-settings">Organization</h2>
          <form
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              save.mutate();
            }}
          >
            <TextField
              label="Name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              error={issueFor(save.error, 'name')}
              readOnly={!canEdit}
              required
            />
            <TextField
              label="Audit retention (days)"
              type="number"
              min={1}
              max={3650}
              value={retentionDays}
              onChange={(e) => setRetention(e.target.value)}
              error={issueFor(save.error, 'settings.retentionDays')}
              hint="Audit events older than this are deleted by the nightly job (1–3650)."
              readOnly={!canEdit}
            />
            <SelectField
              label="Default fail mode for new connections"
              value={defaultFailMode}
              onChange={(e) => setFailMode(e.target.value as 'open' | 'closed')}
              error={issueFor(save.error, 'settings.defaultFailMode')}
              disabled={!canEdit}
              hint={
                defaultFailMode === 'closed'
                  ? 'Closed: when a security check cannot run (kill switch, rate windows, audit spool unreachable), the call is refused with 503.'
                  : 'Open: when a security check cannot run, the call is forwarded and audited directly. Availability over enforcement.'
              }
            >
              <option value="closed">closed (refuse — recommended)</option>
              <option value="open">open (forward)</option>
            </SelectField>
            {save.error && !known.some((k) => issueFor(save.error, k)) ? (
              <InlineError error={save.error} />
            ) : null}
            {canEdit ? (
              <button type="submit" className="btn btn-primary" disabled={save.isPending}>
                {save.isPending ? 'Saving…' : 'Save settings'}
              </button>
            ) : (
              <p className="muted">Only owners and admins change organization settings.</p>
            )}
          </form>
        </section>
        {state.status === 'signedIn' && state.mode === 'cookie' ? <PasswordCard /> : null}
      </div>
    </>
  );
}
