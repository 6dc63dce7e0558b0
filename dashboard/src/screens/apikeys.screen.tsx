/**
 * API keys: the credentials agents present to the gateway. A new key is shown exactly once (only
 * its hash is stored); revoking one makes its next call fail with 401.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { issueFor, v1 } from '../api/api.client';
import { type ApiKey, type CreatedApiKey, ROLES, type Role } from '../api/api.types';
import { useCanWrite, useOrg } from '../api/auth.context';
import { CopyButton } from '../ui/copy.button';
import { ConfirmDialog, Dialog } from '../ui/dialog';
import { SelectField, TextField } from '../ui/field';
import { Badge, PageHeader, Time } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';

const ROLE_HINTS: Record<Role, string> = {
  owner: 'everything, including owners and billing',
  admin: 'everything except touching owners',
  developer: 'their own connections and policies',
  auditor: 'read-only: audit trail, connections, policies',
};

function allowedRoles(mine: Role): Role[] {
  return ROLES.slice(ROLES.indexOf(mine));
}

function CreateKeyDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const org = useOrg();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  // Least privilege by default: the most restricted role; anything more is a deliberate choice.
  const [role, setRole] = useState<Role>(() => allowedRoles(org.role).at(-1) ?? 'auditor');
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const create = useMutation({
    mutationFn: () => v1('post', '/api-keys', { body: { name, role } }),
    onSuccess: (key) => {
      setCreated(key);
      void queryClient.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  const close = () => {
    setCreated(null);
    setName('');
    setRole(allowedRoles(org.role).at(-1) ?? 'auditor');
    create.reset();
    onClose();
  };
  return (
    <Dialog open={open} title={created ? 'Copy your new API key' : 'New API key'} onClose={close}>
      {created ? (
        <div>
          <p className="notice notice-warn" role="status">
            This is the only time the key is shown. Store it in your secret manager now; Igris keeps only its
            hash.
          </p>
          <div className="secret-row">
            <code data-testid="created-key" className="secret">
              {created.key}
            </code>
            <CopyButton text={created.key} label="Copy key" />
          </div>
          <p className="muted small">
            {created.name} · {created.role}
          </p>
          <div className="dialog-actions">
            <button type="button" className="btn btn-primary" onClick={close}>
              I have stored it
            </button>
          </div>
        </div>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <TextField
            label="Name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            error={issueFor(create.error, 'name')}
            placeholder="CI deploy key"
            required
          />
          <SelectField
            label="Role"
            value={role}
            onChange={(e) => setRole(e.target.value as Role)}
            error={issueFor(create.error, 'role')}
            hint="A key acts with this role in this organization; it cannot exceed yours. The least privileged role is preselected."
          >
            {allowedRoles(org.role).map((r) => (
              <option key={r} value={r}>
                {r} — {ROLE_HINTS[r]}
              </option>
            ))}
          </SelectField>
          {create.error && !issueFor(create.error, 'name') && !issueFor(create.error, 'role') ? (
            <InlineError error={create.error} />
          ) : null}
          <div className="dialog-actions">
            <button type="button" className="btn" onClick={close}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={!name.trim() || create.isPending}>
              Create key
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

export function ApiKeysScreen(_props: { params: Record<string, string> }) {
  const canWrite = useCanWrite();
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const keys = useQuery({
    queryKey: ['api-keys'],
    queryFn: ({ signal }) => v1('get', '/api-keys', { signal }).then((r) => r.apiKeys),
  });
  return (
    <>
      <PageHeader
        title="API keys"
        subtitle="Agents and scripts authenticate to the gateway and the API with these (Authorization: Bearer ig_…)."
        actions={
          canWrite ? (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              New API key
            </button>
          ) : null
        }
      />
      {keys.isPending ? <Loading label="Loading keys…" /> : null}
      {keys.isError ? <ErrorState error={keys.error} retry={() => void keys.refetch()} /> : null}
      {keys.data && keys.data.length === 0 ? (
        <Empty title="No API keys">Create one for each agent or team, so each can be revoked alone.</Empty>
      ) : null}
      {keys.data && keys.data.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-label="API keys">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <tr key={k.id}>
                  <td>
                    <strong>{k.name}</strong>
                    <div className="muted mono small">{k.id}</div>
                  </td>
                  <td className="mono">{k.prefix}…</td>
                  <td>{k.role}</td>
                  <td>
                    <Time iso={k.createdAt} />
                  </td>
                  <td>
                    <Time iso={k.lastUsedAt} />
                  </td>
                  <td>{k.revokedAt ? <Badge value="revoked" tone="muted" /> : <Badge value="active" />}</td>
                  <td className="row-actions">
                    {canWrite && !k.revokedAt ? (
                      <button
                        type="button"
                        className="btn btn-small btn-danger"
                        onClick={() => setRevoking(k)}
                      >
                        Revoke
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <CreateKeyDialog open={creating} onClose={() => setCreating(false)} />
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke ${revoking?.name}?`}
        confirmLabel="Revoke key"
        danger
        onConfirm={async () => {
          if (!revoking) return;
          await v1('delete', '/api-keys/{id}', { path: { id: revoking.id } });
          notify(`${revoking.name} revoked`);
          await queryClient.invalidateQueries({ queryKey: ['api-keys'] });
        }}
        onClose={() => setRevoking(null)}
      >
        <p>
          The next call made with <code>{revoking?.prefix}…</code> ({revoking?.name}) is refused with 401, at
          the gateway and the API. This cannot be undone.
        </p>
      </ConfirmDialog>
    </>
  );
}
