/**
 * An LLM connection's provider settings (docs/llm-gateway.md#connections): the models it may call
 * (`allowedModels`), whether its callers share the provider's Assistants, threads, containers,
 * evals and videos (`sharedProviderObjects`), and the two stream bounds
 * (`streamIdleTimeoutMs`, `heldStreamTimeoutMs`, docs/llm-gateway.md#stream-timeouts).
 *
 * Checked here by the API's rules (connection-llm.rules.ts) so a mistake shows under its field
 * before anything is sent; the API's own refusal is shown at the field it names. Save sends only
 * the keys that changed (PATCH /connections/{slug} keeps the others). Members who may not edit
 * connections (auditors) see the values read-only, as in the other settings cards.
 */
import { useState } from 'react';
import { ApiError } from '../api/api.client';
import type { Connection } from '../api/api.types';
import { ConfirmDialog } from '../ui/dialog';
import { TextAreaField, TextField } from '../ui/field';
import { Badge } from '../ui/page';
import { InlineError } from '../ui/states';
import { useToast } from '../ui/toast';
import {
  DEFAULT_HELD_STREAM_MS,
  DEFAULT_STREAM_IDLE_MS,
  MAX_MODEL_GLOBS,
  modelLines,
  modelsIssue,
  secondsOf,
  spoken,
  timeoutMs,
} from './connection-llm.rules';
import { type ConnectionSettingsPatch, useSaveConnectionSettings } from './connection-settings.queries';

const FIELDS = [
  'allowedModels',
  'sharedProviderObjects',
  'streamIdleTimeoutMs',
  'heldStreamTimeoutMs',
] as const;
type Field = (typeof FIELDS)[number];

/** The saved values, defaults filled in. */
function savedOf(connection: Connection) {
  const s = connection.settings;
  return {
    allowedModels: s.allowedModels ?? [],
    sharedProviderObjects: s.sharedProviderObjects ?? false,
    streamIdleTimeoutMs: s.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_MS,
    heldStreamTimeoutMs: s.heldStreamTimeoutMs ?? DEFAULT_HELD_STREAM_MS,
  };
}

/**
 * The API's refusal of one of this card's keys (`settings.allowedModels[3]` → allowedModels,
 * with the glob's number), for showing it under that field.
 */
function serverIssue(error: unknown, field: Field): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const prefix = `settings.${field}`;
  const issue = error.issues.find((i) => i.path === prefix || i.path.startsWith(`${prefix}[`));
  if (!issue) return undefined;
  const index = /\[(\d+)\]$/.exec(issue.path)?.[1];
  return index === undefined ? issue.message : `model ${Number(index) + 1}: ${issue.message}`;
}

function SharedBadge({ shared }: { shared: boolean }) {
  return shared ? <Badge value="Shared between callers" tone="warn" /> : <Badge value="Refused" tone="ok" />;
}

export function LlmProviderSettings({ connection, canWrite }: { connection: Connection; canWrite: boolean }) {
  const saved = savedOf(connection);
  const [models, setModels] = useState(saved.allowedModels.join('\n'));
  const [shared, setShared] = useState(saved.sharedProviderObjects);
  const [idle, setIdle] = useState(secondsOf(saved.streamIdleTimeoutMs));
  const [held, setHeld] = useState(secondsOf(saved.heldStreamTimeoutMs));
  const [confirming, setConfirming] = useState(false);
  const { notify } = useToast();
  const save = useSaveConnectionSettings(connection.slug, {
    onSaved: () => notify(`Provider settings of ${connection.slug} saved`),
  });

  const globs = modelLines(models);
  const idleMs = timeoutMs(idle);
  const heldMs = timeoutMs(held);
  const issues: Partial<Record<Field, string>> = {
    allowedModels: modelsIssue(globs) ?? undefined,
    streamIdleTimeoutMs: 'issue' in idleMs ? idleMs.issue : undefined,
    heldStreamTimeoutMs: 'issue' in heldMs ? heldMs.issue : undefined,
  };
  const invalid = Object.values(issues).some(Boolean);

  // Only what differs from the saved settings is sent: the other keys stay as they are.
  const patch: ConnectionSettingsPatch = {};
  if (globs.join('\n') !== saved.allowedModels.join('\n')) patch.allowedModels = globs;
  if (shared !== saved.sharedProviderObjects) patch.sharedProviderObjects = shared;
  if ('ms' in idleMs && idleMs.ms !== saved.streamIdleTimeoutMs) patch.streamIdleTimeoutMs = idleMs.ms;
  if ('ms' in heldMs && heldMs.ms !== saved.heldStreamTimeoutMs) patch.heldStreamTimeoutMs = heldMs.ms;
  const changed = Object.keys(patch).length > 0;

  const errorAt = (field: Field) => issues[field] ?? serverIssue(save.error, field);
  const unplaced = save.error && !FIELDS.some((f) => serverIssue(save.error, f)) ? save.error : null;

  return (
    <section className="card" aria-labelledby="provider-settings">
      <h2 id="provider-settings">Provider settings</h2>
      <form
        aria-label="Provider settings"
        onSubmit={(e) => {
          e.preventDefault();
          if (!invalid && changed) save.mutate(patch);
        }}
      >
        <fieldset disabled={!canWrite || save.isPending}>
          <TextAreaField
            label="Allowed models (one glob per line)"
            className="mono"
            rows={4}
            value={models}
            placeholder="gpt-4o*"
            onChange={(e) => setModels(e.target.value)}
            error={errorAt('allowedModels')}
            hint={
              <>
                <code>*</code> and <code>?</code> match any characters and one character; at most{' '}
                {MAX_MODEL_GLOBS} globs. A call for another model is refused before anything is forwarded.
                Empty: any model the policy allows.
              </>
            }
          />
          <div className={`field ${errorAt('sharedProviderObjects') ? 'field-invalid' : ''}`}>
            <p>
              <strong>Shared provider objects</strong> <SharedBadge shared={saved.sharedProviderObjects} />
              {shared !== saved.sharedProviderObjects ? (
                <span className="muted small"> (unsaved)</span>
              ) : null}
            </p>
            <label className="checkbox">
              <input
                type="checkbox"
                role="switch"
                aria-checked={shared}
                checked={shared}
                onChange={(e) => (e.target.checked ? setConfirming(true) : setShared(false))}
              />{' '}
              Share Assistants, threads, containers, evals and videos between all callers
            </label>
            <p className="field-hint">
              Every caller of this connection uses the same provider key, and the gateway cannot tell who
              created these objects. Off, a call that names one is refused (
              <code>403 shared_object_refused</code>).
            </p>
            {errorAt('sharedProviderObjects') ? (
              <p className="field-error" role="alert">
                {errorAt('sharedProviderObjects')}
              </p>
            ) : null}
          </div>
          <div className="inline-form rows-top">
            <TextField
              label="Stream idle timeout (seconds)"
              inputMode="decimal"
              value={idle}
              onChange={(e) => setIdle(e.target.value)}
              error={errorAt('streamIdleTimeoutMs')}
              hint={`Longest wait for the provider's next event (default ${spoken(DEFAULT_STREAM_IDLE_MS)}); 1 to 3600.`}
            />
            <TextField
              label="Held stream timeout (seconds)"
              inputMode="decimal"
              value={held}
              onChange={(e) => setHeld(e.target.value)}
              error={errorAt('heldStreamTimeoutMs')}
              hint={`Longest read of a held stream (streamMode "hold", default ${spoken(DEFAULT_HELD_STREAM_MS)}); 1 to 3600.`}
            />
          </div>
          <InlineError error={unplaced} />
          {canWrite ? (
            <div className="form-actions">
              <button type="submit" className="btn btn-primary" disabled={!changed || invalid}>
                Save provider settings
              </button>
            </div>
          ) : (
            <p className="muted small">
              Only owners, admins and the connection's developer may change these.
            </p>
          )}
        </fieldset>
      </form>
      <ConfirmDialog
        open={confirming}
        title="Share provider objects between callers?"
        confirmLabel="Share between callers"
        danger
        onConfirm={async () => setShared(true)}
        onClose={() => setConfirming(false)}
      >
        <p>
          Every caller of <strong>{connection.name}</strong> will see and change the others' assistants,
          threads, containers, evals and videos: they are the provider account's, and the gateway cannot keep
          them per caller. Turn this on only when everyone who may use this connection may share them. It
          applies once saved.
        </p>
      </ConfirmDialog>
    </section>
  );
}
