/**
 * Ready-made policies (GET /api/v1/policy/templates) as one-click starting points: picking one
 * loads its rules into the editor as an unsaved draft, to review and publish like any edit.
 */
import { useQuery } from '@tanstack/react-query';
import { v1 } from '../api/api.client';
import type { RuleDraft } from './policy.model';

export function TemplateButtons({ onPick }: { onPick: (rules: RuleDraft[]) => void }) {
  const templates = useQuery({
    queryKey: ['policy-templates'],
    queryFn: ({ signal }) => v1('get', '/policy/templates', { signal }).then((r) => r.templates),
    staleTime: Number.POSITIVE_INFINITY,
  });
  if (!templates.data) return null;
  return (
    <>
      {templates.data.map((t) => (
        <button
          key={t.id}
          type="button"
          className="btn"
          title={t.description}
          onClick={() => onPick(t.rules as RuleDraft[])}
        >
          Use template: {t.name}
        </button>
      ))}
    </>
  );
}
