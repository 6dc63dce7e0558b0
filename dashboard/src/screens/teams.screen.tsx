/**
 * Teams: groups of people (users, X-Igris-User values, API keys) that budgets and system prompts
 * apply to. Owners and admins create teams and add or remove members; everyone else reads.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { issueFor, v1 } from '../api/api.client';
import type { AddTeamMember, Team, TeamMember } from '../api/api.types';
import { useCanWrite } from '../api/auth.context';
import { ConfirmDialog, Dialog } from '../ui/dialog';
import { SelectField, TextField } from '../ui/field';
import { PageHeader, Time } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';

export const TEAMS_KEY = ['teams'] as const;

/** The teams list, shared with the Budgets and System prompts screens (team pickers). */
export function useTeams() {
  return useQuery({
    queryKey: TEAMS_KEY,
    queryFn: ({ signal }) => v1('get', '/teams', { signal }).then((r) => r.teams),
  });
}

type MemberKind = 'externalUser' | 'userId' | 'apiKeyId';

const MEMBER_KINDS: Array<{ value: MemberKind; label: string; hint: string }> = [
  { value: 'externalUser', label: 'Agent user', hint: 'The X-Igris-User value the agent sends' },
  { value: 'userId', label: 'Dashboard user', hint: 'A member’s user id (see Members)' },
  { value: 'apiKeyId', label: 'API key', hint: 'An API key id (see API keys)' },
];

const KIND_LABELS: Record<TeamMember['kind'], string> = {
  user: 'user',
  external_user: 'agent user',
  api_key: 'API key',
};

function CreateTeamDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const create = useMutation({
    mutationFn: () => v1('post', '/teams', { body: { name, description: description || undefined } }),
    onSuccess: async (team) => {
      notify(`Team ${team.name} created`);
      await queryClient.invalidateQueries({ queryKey: TEAMS_KEY });
      close();
    },
  });
  const close = () => {
    setName('');
    setDescription('');
    create.reset();
    onClose();
  };
  const known = issueFor(create.error, 'name') ?? issueFor(create.error, 'description');
  return (
    <Dialog open={open} title="New team" onClose={close}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <TextField
          label="Team name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={issueFor(create.error, 'name')}
          hint="Letters, digits, spaces, dots, dashes and underscores."
          placeholder="research"
          maxLength={64}
          required
        />
        <TextField
          label="Description"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          error={issueFor(create.error, 'description')}
          maxLength={500}
        />
        {create.error && !known ? <InlineError error={create.error} /> : null}
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={!name.trim() || create.isPending}>
            Create team
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function AddMemberForm({ team }: { team: Team }) {
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<MemberKind>('externalUser');
  const [value, setValue] = useState('');
  const add = useMutation({
    mutationFn: () => {
      const body: AddTeamMember = { [kind]: value.trim() };
      return v1('post', '/teams/{id}/members', { path: { id: team.id }, body });
    },
    onSuccess: async () => {
      setValue('');
      await queryClient.invalidateQueries({ queryKey: TEAMS_KEY });
    },
  });
  const hint = MEMBER_KINDS.find((k) => k.value === kind)?.hint;
  return (
    <form
      className="inline-form"
      aria-label={`Add a member to ${team.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        add.mutate();
      }}
    >
      <SelectField label="Member type" value={kind} onChange={(e) => setKind(e.target.value as MemberKind)}>
        {MEMBER_KINDS.map((k) => (
          <option key={k.value} value={k.value}>
            {k.label}
          </option>
        ))}
      </SelectField>
      <TextField
        label="Member"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        hint={hint}
        error={issueFor(add.error, kind)}
        maxLength={256}
        required
      />
      <button type="submit" className="btn" disabled={!value.trim() || add.isPending}>
        Add member
      </button>
      {add.error && !issueFor(add.error, kind) ? <InlineError error={add.error} /> : null}
    </form>
  );
}

function TeamCard({ team, canWrite }: { team: Team; canWrite: boolean }) {
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const [removing, setRemoving] = useState<TeamMember | null>(null);
  return (
    <section className="card" aria-labelledby={`team-${team.id}`} data-testid="team-card">
      <div className="card-head wrap">
        <h2 id={`team-${team.id}`}>{team.name}</h2>
        <span className="muted small">
          {team.members.length} member{team.members.length === 1 ? '' : 's'} · created{' '}
          <Time iso={team.createdAt} />
        </span>
      </div>
      {team.description ? <p className="muted">{team.description}</p> : null}
      {team.members.length === 0 ? (
        <p className="muted small">No members yet.</p>
      ) : (
        <ul className="plain-list" aria-label={`Members of ${team.name}`}>
          {team.members.map((m) => (
            <li key={m.id} className="list-row">
              <span className="mono break">{m.ref}</span>
              <span className="muted small">{KIND_LABELS[m.kind]}</span>
              {canWrite ? (
                <button
                  type="button"
                  className="btn btn-small btn-danger"
                  aria-label={`Remove ${m.ref} from ${team.name}`}
                  onClick={() => setRemoving(m)}
                >
                  Remove
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {canWrite ? <AddMemberForm team={team} /> : null}
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing?.ref} from ${team.name}?`}
        confirmLabel="Remove member"
        danger
        onConfirm={async () => {
          if (!removing) return;
          await v1('delete', '/teams/{id}/members/{memberId}', {
            path: { id: team.id, memberId: removing.id },
          });
          notify(`${removing.ref} removed from ${team.name}`);
          await queryClient.invalidateQueries({ queryKey: TEAMS_KEY });
        }}
        onClose={() => setRemoving(null)}
      >
        <p>
          Calls by <code>{removing?.ref}</code> stop counting against {team.name}’s budgets and stop getting
          its system prompts.
        </p>
      </ConfirmDialog>
    </section>
  );
}

export function TeamsScreen(_props: { params: Record<string, string> }) {
  const canWrite = useCanWrite();
  const [creating, setCreating] = useState(false);
  const teams = useTeams();
  return (
    <>
      <PageHeader
        title="Teams"
        subtitle="Group agent users, people and API keys so budgets and system prompts apply to them together."
        actions={
          canWrite ? (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              New team
            </button>
          ) : null
        }
      />
      {teams.isPending ? <Loading label="Loading teams…" /> : null}
      {teams.isError ? <ErrorState error={teams.error} retry={() => void teams.refetch()} /> : null}
      {teams.data && teams.data.length === 0 ? (
        <Empty title="No teams">
          Create a team, add its members, then give it a budget or a system prompt.
        </Empty>
      ) : null}
      {teams.data?.map((team) => (
        <TeamCard key={team.id} team={team} canWrite={canWrite} />
      ))}
      <CreateTeamDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}
