/**
 * The Detections screen's "packs per connection" card (detections.screen.tsx): which packs a
 * connection applies, saved into its `inspection` settings with its overrides and redaction kept.
 */
import { useEffect, useState } from 'react';
import { useCanWrite } from '../api/auth.context';
import { SelectField } from '../ui/field';
import { InlineError } from '../ui/states';
import { useToast } from '../ui/toast';
import { useSaveConnectionSettings } from './connection-settings.queries';
import { useConnections } from './connections.queries';
import type { DetectionPack } from './detections.queries';

/** Which packs a connection applies (its `inspection` settings; overrides and redaction kept). */
export function AssignmentCard({ packs }: { packs: DetectionPack[] }) {
  const canWrite = useCanWrite();
  const { notify } = useToast();
  const connections = useConnections();
  const [slug, setSlug] = useState('');
  const connection = (connections.data ?? []).find((c) => c.slug === slug) ?? connections.data?.[0];
  const [chosen, setChosen] = useState<string[]>([]);
  // Reset the choice when another connection is picked or its saved packs change (not on every
  // refetch of the list, which would undo what is being chosen).
  const saved = (connection?.settings.inspection?.packs ?? []).join(',');
  // biome-ignore lint/correctness/useExhaustiveDependencies: keyed on the connection's id and saved packs only
  useEffect(() => setChosen(saved ? saved.split(',') : []), [connection?.id, saved]);
  const save = useSaveConnectionSettings(connection?.slug ?? '', {
    onSaved: (c) => notify(`${c.slug} now applies ${chosen.length ? chosen.join(', ') : 'no pack'}`),
  });
  return (
    <section className="card" aria-labelledby="assign-title">
      <h2 id="assign-title">Packs per connection</h2>
      {connections.data?.length === 0 ? <p className="muted">No connection yet.</p> : null}
      {connection ? (
        <form
          aria-label="Packs of a connection"
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate({ inspection: { ...connection.settings.inspection, packs: chosen } });
          }}
        >
          <SelectField label="Connection" value={connection.slug} onChange={(e) => setSlug(e.target.value)}>
            {(connections.data ?? []).map((c) => (
              <option key={c.id} value={c.slug}>
                {c.slug}
              </option>
            ))}
          </SelectField>
          <fieldset className="checkbox-grid">
            <legend>Packs applied to {connection.slug}</legend>
            {packs.map((p) => (
              <label key={p.name} className="checkbox">
                <input
                  type="checkbox"
                  checked={chosen.includes(p.name)}
                  disabled={!canWrite}
                  onChange={() =>
                    setChosen((now) =>
                      now.includes(p.name) ? now.filter((x) => x !== p.name) : [...now, p.name],
                    )
                  }
                />{' '}
                {p.name}
              </label>
            ))}
          </fieldset>
          {save.error ? <InlineError error={save.error} /> : null}
          {canWrite ? (
            <button type="submit" className="btn btn-primary" disabled={save.isPending}>
              Save packs
            </button>
          ) : null}
        </form>
      ) : null}
    </section>
  );
}
