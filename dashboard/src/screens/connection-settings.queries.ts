/**
 * Saving a connection's settings: the one PATCH /connections/{slug} `{ settings }` mutation every
 * settings card uses (tool labels, OAuth, integrity, inspection packs, team access). Each key sent
 * replaces the stored one, the others are kept; the gateway applies them on the next call.
 */
import { type QueryKey, useMutation, useQueryClient } from '@tanstack/react-query';
import { v1 } from '../api/api.client';
import type { Connection, Paths } from '../api/api.types';

/** The `settings` a PATCH /connections/{slug} accepts (the SDK's generated type). */
export type ConnectionSettingsPatch = NonNullable<Paths['/connections/{slug}']['patch']['body']['settings']>;

export interface SaveConnectionSettingsOptions {
  /** Runs as soon as the API accepted the settings, before the refetch (the card's toast). */
  onSaved?: (connection: Connection) => void;
  /** Queries besides the connection list that read these settings (refetched with it). */
  alsoInvalidate?: readonly QueryKey[];
}

/**
 * The mutation takes the settings to save; it settles once the connection list (and
 * `alsoInvalidate`) are refetched, so a caller's own `mutate(…, { onSuccess })` sees fresh data.
 */
export function useSaveConnectionSettings(slug: string, options: SaveConnectionSettingsOptions = {}) {
  const queryClient = useQueryClient();
  const { onSaved, alsoInvalidate = [] } = options;
  return useMutation({
    mutationFn: (settings: ConnectionSettingsPatch) =>
      v1('patch', '/connections/{slug}', { path: { slug }, body: { settings } }),
    onSuccess: async (connection) => {
      onSaved?.(connection);
      await Promise.all(
        [['connections'], ...alsoInvalidate].map((queryKey) => queryClient.invalidateQueries({ queryKey })),
      );
    },
  });
}
