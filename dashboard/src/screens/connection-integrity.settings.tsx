/**
 * The tool-integrity settings of a connection, in its Tools tab (docs/tool-integrity.md#settings):
 * the discovery mode, quarantine on critical drift, and blocking on a critical scan finding.
 * Owners and admins edit them; everyone else reads them in the tab's summary line.
 */
import { useState } from 'react';
import { InlineError } from '../ui/states';
import { useToast } from '../ui/toast';
import type { IntegritySettings } from './connection-integrity.queries';
import { useSaveConnectionSettings } from './connection-settings.queries';

const MODES: Array<{ value: IntegritySettings['discovery']; label: string }> = [
  { value: 'alert', label: 'alert — fingerprint, record drift, alert; calls pass' },
  { value: 'fail_closed', label: 'fail_closed — hide and refuse what is not approved' },
  { value: 'off', label: 'off — nothing fingerprinted, hidden or refused' },
];

export function IntegritySettingsForm({ slug, current }: { slug: string; current: IntegritySettings }) {
  // The Tools tab (its summary line and this form's `current`) reads these settings from the tools query.
  const save = useSaveConnectionSettings(slug, { alsoInvalidate: [['tools', slug]] });
  const { notify } = useToast();
  const [draft, setDraft] = useState<IntegritySettings | null>(null);
  const shown = draft ?? current;
  const set = (patch: Partial<IntegritySettings>) => setDraft({ ...shown, ...patch });
  return (
    <form
      aria-label="Integrity settings"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate(
          { integrity: shown },
          {
            onSuccess: () => {
              notify('Integrity settings saved');
              setDraft(null);
            },
          },
        );
      }}
    >
      <label>
        Discovery{' '}
        <select
          value={shown.discovery}
          onChange={(e) => set({ discovery: e.target.value as IntegritySettings['discovery'] })}
        >
          {MODES.map((m) => (
            <option key={m.value} value={m.value}>
              {m.label}
            </option>
          ))}
        </select>
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={shown.quarantineOnCritical}
          onChange={(e) => set({ quarantineOnCritical: e.target.checked })}
        />{' '}
        Quarantine an item on critical drift
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={shown.blockOnCriticalScan}
          onChange={(e) => set({ blockOnCriticalScan: e.target.checked })}
        />{' '}
        Block the connection while a scan has an unsuppressed critical finding
      </label>
      {save.isError ? <InlineError error={save.error} /> : null}
      <button type="submit" className="btn" disabled={save.isPending || draft === null}>
        Save integrity settings
      </button>
    </form>
  );
}
