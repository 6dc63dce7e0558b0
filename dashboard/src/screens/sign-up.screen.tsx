/** Create an account: a personal organization, or joining the inviting one when a token is given. */
import { useState } from 'react';
import { issueFor } from '../api/api.client';
import { useAuth } from '../api/auth.context';
import { Link, navigate, useLocation } from '../lib/router';
import { TextField } from '../ui/field';
import { InlineError } from '../ui/states';
import { AuthLayout } from './auth.layout';

export function SignUpScreen() {
  const { signUp } = useAuth();
  const { query } = useLocation();
  const invitationToken = query.get('invitation') ?? undefined;
  const [name, setName] = useState('');
  const [email, setEmail] = useState(query.get('email') ?? '');
  const [password, setPassword] = useState('');
  const [organizationName, setOrganizationName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await signUp({
        email,
        password,
        name: name.trim() || undefined,
        organizationName: invitationToken ? undefined : organizationName.trim() || undefined,
        invitationToken,
      });
      navigate('/observe', { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthLayout
      title={invitationToken ? 'Create your account to join' : 'Create your account'}
      footer={
        <span>
          Already have an account?{' '}
          <Link
            to={
              invitationToken ? `/accept-invitation?token=${encodeURIComponent(invitationToken)}` : '/sign-in'
            }
          >
            Sign in
          </Link>
        </span>
      }
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <TextField
          label="Name"
          autoComplete="name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={issueFor(error, 'name')}
        />
        <TextField
          label="Email"
          type="email"
          autoComplete="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={issueFor(error, 'email')}
          hint={invitationToken ? 'Use the address the invitation was sent to.' : undefined}
          required
        />
        <TextField
          label="Password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={issueFor(error, 'password')}
          hint="At least 10 characters."
          minLength={10}
          required
        />
        {invitationToken ? null : (
          <TextField
            label="Organization name"
            value={organizationName}
            onChange={(e) => setOrganizationName(e.target.value)}
            error={issueFor(error, 'organizationName')}
            hint="Optional. You can invite your team once it exists."
          />
        )}
        <InlineError error={error} />
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
    </AuthLayout>
  );
}
