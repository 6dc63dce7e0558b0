/** Password reset: ask for a mailed token, then set a new password with it. */
import { useState } from 'react';
import { auth, issueFor } from '../api/api.client';
import { Link, useLocation } from '../lib/router';
import { TextField } from '../ui/field';
import { InlineError } from '../ui/states';
import { AuthLayout } from './auth.layout';

export function ResetPasswordScreen() {
  const { query } = useLocation();
  const [token, setToken] = useState(query.get('token') ?? '');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [done, setDone] = useState<'requested' | 'reset' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const haveToken = token !== '' || query.has('token');

  const run = (work: Promise<unknown>, next: 'requested' | 'reset') => {
    setBusy(true);
    setError(null);
    work
      .then(() => setDone(next))
      .catch(setError)
      .finally(() => setBusy(false));
  };

  return (
    <AuthLayout title="Reset your password" footer={<Link to="/sign-in">Back to sign in</Link>}>
      {done === 'requested' ? (
        <p className="notice" role="status">
          If an account exists for {email}, a reset link is on its way. It works for a limited time.
        </p>
      ) : null}
      {done === 'reset' ? (
        <p className="notice" role="status">
          Password changed. Every session was signed out: <Link to="/sign-in">sign in</Link> with the new
          password.
        </p>
      ) : null}
      {!haveToken && done === null ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            run(auth('POST', '/password/reset', { email }), 'requested');
          }}
        >
          <TextField
            label="Email"
            type="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            error={issueFor(error, 'email')}
            required
          />
          <InlineError error={error} />
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            Send reset link
          </button>
        </form>
      ) : null}
      {haveToken && done === null ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            run(auth('POST', '/password/reset/confirm', { token, newPassword: password }), 'reset');
          }}
        >
          <TextField
            label="Reset token"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            error={issueFor(error, 'token')}
            required
          />
          <TextField
            label="New password"
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={issueFor(error, 'newPassword')}
            minLength={10}
            required
          />
          <InlineError error={error} />
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            Set new password
          </button>
        </form>
      ) : null}
    </AuthLayout>
  );
}
