/**
 * The signed-in member's own link to a connection's upstream account in OAuth upstream mode
 * (docs/oauth.md#upstream-mode): GET /connections/{slug}/upstream-oauth says whether they are
 * linked and where to link; DELETE unlinks. Both are about the caller only, and neither carries a
 * token. Keyed under ['connections', slug] so a settings save (which may move the provider and
 * drop every link) refetches it too.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { v1 } from '../api/api.client';
import type { Schemas } from '../api/api.types';

export type UpstreamLink = Schemas['UpstreamOAuthLink'];

const linkKey = (slug: string) => ['connections', slug, 'upstream-oauth'] as const;

export function useUpstreamLink(slug: string) {
  return useQuery({
    queryKey: linkKey(slug),
    queryFn: ({ signal }) => v1('get', '/connections/{slug}/upstream-oauth', { path: { slug }, signal }),
  });
}

export function useUnlinkUpstream(slug: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => v1('delete', '/connections/{slug}/upstream-oauth', { path: { slug } }),
    // Settles once the link is read again, so the panel shows "Not linked" from the API itself; the
    // connections' own answers (the list's `upstreamLinked`) are read again with it.
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['connections'] }),
  });
}
