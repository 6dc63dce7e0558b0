/**
 * `/accept-invitation?token=…` (the link in the invitation mail). Signed out: sign in or create
 * the account first, then come back here. Signed in as a person: accept, and the session switches
 * to the organization.
 */
import { useState } from 'react';
import { auth } from '../api/api.client';
import type { Membership } from '../api/api.types';
import { useAuth } from '../api/auth.context';
import { Link, navigate, useLocation } from '../lib/router';
import { PageHeader } from '../ui/page';
import { InlineError } from '../ui/states';
import { AuthLayout } from './auth.layout';
import { SignInScreen } from './sign-in.screen';

export function AcceptInvitationScreen(_props: { params: Record<string, string> }) {
  const { state, refresh } = useAuth();
  const { query } = useLocation();
  const token = query.get('token') ?? '';
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  if (!token) {
    return (
      <AuthLayout title="Invitation">
        <p className="inline-error">
          This link has no invitation token. Open the link from the invitation mail again.
        </p>
      </AuthLayout>
    );
  }
  if (state.status !== 'signedIn') {
    return (
      <>
        <SignInScreen notice="Sign in with the invited address to accept the invitation, or create your account below." />
        <p className="auth-extra">
          <Link to={`/sign-up?invitation=${encodeURIComponent(token)}`}>Create an account and join</Link>
        </p>
      </>
    );
  }
  if (state.mode !== 'cookie') {
    return (
      <section className="card">
        <PageHeader title="Accept invitation" />
        <p>
          Invitations are accepted by a person: sign out of the API key and sign in with the invited email
          address.
        </p>
      </section>
    );
  }
  const accept = () => {
    setBusy(true);
    setError(null);
    auth<{ organization: Membership }>('POST', '/invitations/accept', { token })
      .then(() => refresh())
      .then(() => navigate('/observe', { replace: true }))
      .catch(setError)
      .finally(() => setBusy(false));
  };
  return (
    <section className="card narrow">
      <PageHeader title="Accept invitation" subtitle={`Signed in as ${state.session.user.email}`} />
      <p>Join the organization that invited you. Your session switches to it.</p>
      <InlineError error={error} />
      <button type="button" className="btn btn-primary" onClick={accept} disabled={busy}>
        Accept and join
      </button>
    </section>
  );
}
