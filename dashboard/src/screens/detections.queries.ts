/**
 * Content inspection's API for the Detections screen: rules and packs (built-in and the
 * organization's own), the scan used by the rule tester, and the recent detections — the
 * inspection findings of recent audit rows (a finding names the rule and where it was found,
 * never the matched text).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { v1 } from '../api/api.client';
import type { AuditEvent, Schemas } from '../api/api.types';

/** A listed rule: with who created it and whether the caller may change it (`canEdit`). */
export type DetectionRule = Schemas['DetectionRuleListed'];
export type DetectionPack = Schemas['DetectionPackListed'];
export type Scan = Schemas['DetectionScan'];

export const CATEGORIES = [
  'sql_injection',
  'command_injection',
  'path_traversal',
  'ssrf',
  'xss',
  'template_injection',
  'prompt_injection',
  'jailbreak',
  'system_prompt_leak',
  'secret',
  'pii',
  'obfuscation',
  'exfiltration',
] as const;
export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export const WHERES = ['args', 'result', 'prompt', 'completion'] as const;

const RULES_KEY = ['detections', 'rules'];
const PACKS_KEY = ['detections', 'packs'];

export function useDetectionRules() {
  return useQuery({
    queryKey: RULES_KEY,
    queryFn: ({ signal }) => v1('get', '/detections/rules', { signal }).then((r) => r.rules),
  });
}

export function useDetectionPacks() {
  return useQuery({
    queryKey: PACKS_KEY,
    queryFn: ({ signal }) => v1('get', '/detections/packs', { signal }).then((r) => r.packs),
  });
}

/** Saves a custom rule: a new one (POST) or a change to one of ours (PUT, `editing` its id). */
export function useSaveRule(editing: string | null) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      editing
        ? v1('put', '/detections/rules/{ruleId}', { path: { ruleId: editing }, body })
        : v1('post', '/detections/rules', { body }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: RULES_KEY }),
  });
}

export function useSavePack(editing: string | null) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      editing
        ? v1('put', '/detections/packs/{name}', { path: { name: editing }, body })
        : v1('post', '/detections/packs', { body }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: PACKS_KEY }),
  });
}

export function useDeleteRule() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (ruleId: string) => v1('delete', '/detections/rules/{ruleId}', { path: { ruleId } }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: RULES_KEY }),
  });
}

export function useDeletePack() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => v1('delete', '/detections/packs/{name}', { path: { name } }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: PACKS_KEY }),
  });
}

export function useScan() {
  return useMutation({
    mutationFn: (body: { text: string; where?: (typeof WHERES)[number]; packs?: string[] }) =>
      v1('post', '/detections/scan', { body }),
  });
}

/** One inspection finding of an audit row, as the gateway recorded it. */
export interface Detection {
  key: string;
  at: string;
  connectionId: string | null;
  tool: string | null;
  traceId: string | null;
  ruleId: string;
  category: string;
  severity: string;
  action: string;
  where: string;
  location: string;
}

interface RecordedFinding {
  stage?: unknown;
  kind?: unknown;
  severity?: unknown;
  detail?: Record<string, unknown>;
}

const str = (v: unknown, fallback = '') => (typeof v === 'string' ? v : fallback);

/** The inspection findings of an audit row (`details.findings`); other stages' are left out. */
export function detectionsOf(
  row: Pick<AuditEvent, 'id' | 'createdAt' | 'connectionId' | 'tool' | 'traceId' | 'details'>,
): Detection[] {
  const details = row.details as { findings?: unknown } | null | undefined;
  const findings = Array.isArray(details?.findings) ? (details.findings as RecordedFinding[]) : [];
  return findings
    .filter((f) => f.stage === 'inspection' && f.kind !== 'truncated')
    .map((f, i) => ({
      key: `${row.id}:${i}`,
      at: row.createdAt,
      connectionId: row.connectionId,
      tool: row.tool,
      traceId: row.traceId,
      ruleId: str(f.detail?.ruleId, str(f.kind)),
      category: str(f.detail?.category, 'unknown'),
      severity: str(f.severity, 'low'),
      action: str(f.detail?.action),
      where: str(f.detail?.where),
      location: str(f.detail?.location),
    }));
}

/** The inspection findings of the most recent audit rows (newest first). */
export function useRecentDetections() {
  return useQuery({
    queryKey: ['detections', 'recent'],
    queryFn: ({ signal }) =>
      v1('get', '/audit-events', { query: { limit: 200, lifecycle: 'exclude' }, signal }).then((page) =>
        page.events.flatMap(detectionsOf),
      ),
    refetchInterval: 10_000,
  });
}
