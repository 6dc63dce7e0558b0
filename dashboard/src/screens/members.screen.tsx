/**
 * Members: who is in the organization and with which role, and invitations by email. Owners and
 * Admins change roles (only an Owner grants Owner; one Owner always remains, which the API enforces).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { auth, issueFor, v1 } from '../api/api.client';
import { type Invitation, type Member, ROLES, type Role } from '../api/api.types';
import { useAuth, useOrg } from '../api/auth.context';
import { ConfirmDialog } from '../ui/dialog';
import { SelectField, TextField } from '../ui/field';
import { PageHeader, Time } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';

const ROLE_HELP: Record<Role, string> = {
  owner: 'everything, including owners and billing',
  admin: 'everything except changing owners',
  developer: 'their own connections and keys',
  auditor: 'read-only, including the audit trail',
};

function canManage(role: Role): boolean {
  return role === 'owner' || role === 'admin';
}

function MemberRow({
  member,
  manage,
  onRemove,
}: {
  member: Member;
  manage: boolean;
  onRemove(m: Member): void;
}) {
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const update = useMutation({
    mutationFn: (role: Role) => v1('patch', '/members/{id}', { path: { id: member.id }, body: { role } }),
    onSuccess: (m) => {
      notify(`${m.email} is now ${m.role}`);
      void queryClient.invalidateQueries({ queryKey: ['members'] });
    },
  });
  return (
    <tr>
      <td>
        <strong>{member.name || member.email}</strong>
        <div className="muted small">{member.email}</div>
      </td>
      <td>
        {manage ? (
          <SelectField
            label={<span className="sr-only">Role of {member.email}</span>}
            value={member.role}
            onChange={(e) => update.mutate(e.target.value as Role)}
            disabled={update.isPending}
            className="inline-field"
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </SelectField>
        ) : (
          member.role
        )}
        <InlineError error={update.error} />
      </td>
      <td>
        <Time iso={member.createdAt} />
      </td>
      <td className="row-actions">
        {manage ? (
          <button type="button" className="btn btn-small btn-danger" onClick={() => onRemove(member)}>
            Remove
          </button>
        ) : null}
      </td>
    </tr>
  );
}

function Invitations({ manage }: { manage: boolean }) {
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('developer');
  const invitations = useQuery({
    queryKey: ['members', 'invitations'],
    queryFn: () => auth<{ invitations: Invitation[] }>('GET', '/invitations').then((r) => r.invitations),
    enabled: manage,
  });
  const invite = useMutation({
    mutationFn: () => auth<Invitation>('POST', '/invitations', { email, role }),
    onSuccess: (inv) => {
      notify(`Invitation sent to ${inv.email}`);
      setEmail('');
      void queryClient.invalidateQueries({ queryKey: ['members', 'invitations'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => auth('DELETE', `/invitations/${encodeURIComponent(id)}`),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['members', 'invitations'] }),
  });
  if (!manage) return null;
  return (
    <section className="card" aria-labelledby="invite-title">
      <h2 id="invite-title">Invite</h2>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          invite.mutate();
        }}
      >
        <TextField
          label="Email"
          type="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={issueFor(invite.error, 'email')}
          required
        />
        <SelectField label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </SelectField>
        <button type="submit" className="btn btn-primary" disabled={invite.isPending || !email}>
          Send invitation
        </button>
      </form>
      <p className="muted small">
        {role}: {ROLE_HELP[role]}. The invitation mail holds a single-use link, valid for 7 days.
      </p>
      {invite.error && !issueFor(invite.error, 'email') ? <InlineError error={invite.error} /> : null}
      <h3>Pending invitations</h3>
      {invitations.isPending ? <Loading /> : null}
      {invitations.isError ? (
        <ErrorState error={invitations.error} retry={() => void invitations.refetch()} />
      ) : null}
      {invitations.data && invitations.data.length === 0 ? <Empty title="No pending invitations" /> : null}
      {invitations.data && invitations.data.length > 0 ? (
        <ul className="plain-list">
          {invitations.data.map((inv) => (
            <li key={inv.id} className="list-row">
              <span>
                <strong>{inv.email}</strong> as {inv.role}
              </span>
              <span className="muted small">
                expires <Time iso={inv.expiresAt} relative={false} />
              </span>
              <button type="button" className="btn btn-small" onClick={() => revoke.mutate(inv.id)}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

export function MembersScreen(_props: { params: Record<string, string> }) {
  const org = useOrg();
  const { state } = useAuth();
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const manage = canManage(org.role);
  const [removing, setRemoving] = useState<Member | null>(null);
  const members = useQuery({
    queryKey: ['members'],
    queryFn: ({ signal }) => v1('get', '/members', { signal }).then((r) => r.members),
  });
  const person = state.status === 'signedIn' && state.mode === 'cookie';
  return (
    <>
      <PageHeader title="Members" subtitle={`People in ${org.name} and what they may do.`} />
      <div className="grid-2">
        <section className="card" aria-labelledby="members-title">
          <h2 id="members-title">Members</h2>
          {members.isPending ? <Loading label="Loading members…" /> : null}
          {members.isError ? <ErrorState error={members.error} retry={() => void members.refetch()} /> : null}
          {members.data && members.data.length === 0 ? <Empty title="No members" /> : null}
          {members.data && members.data.length > 0 ? (
            <div className="table-wrap">
              <table className="table" aria-label="Members">
                <thead>
                  <tr>
                    <th scope="col">Person</th>
                    <th scope="col">Role</th>
                    <th scope="col">Joined</th>
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {members.data.map((m) => (
                    <MemberRow key={m.id} member={m} manage={manage} onRemove={setRemoving} />
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          <ul className="role-help small muted">
            {ROLES.map((r) => (
              <li key={r}>
                <strong>{r}</strong>: {ROLE_HELP[r]}
              </li>
            ))}
          </ul>
        </section>
        {person ? (
          <Invitations manage={manage} />
        ) : (
          <section className="card">
            <h2>Invite</h2>
            <p className="muted">
              Invitations are sent by a signed-in person. You are using an API key in this tab: sign in with
              your account to invite people.
            </p>
          </section>
        )}
      </div>
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing?.email}?`}
        confirmLabel="Remove member"
        danger
        onConfirm={async () => {
          if (!removing) return;
          const result = await v1('delete', '/members/{id}', { path: { id: removing.id } });
          notify(`${removing.email} removed; ${result.revokedKeys} API key(s) revoked`);
          await queryClient.invalidateQueries({ queryKey: ['members'] });
        }}
        onClose={() => setRemoving(null)}
      >
        <p>
          <strong>{removing?.email}</strong> loses access to {org.name} at once, and every API key they
          created here stops working — agents using those keys will get 401.
        </p>
      </ConfirmDialog>
    </>
  );
}
