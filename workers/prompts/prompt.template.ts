/**
 * System-prompt templates (pure): `{{variable}}` placeholders from a closed list. An unknown
 * variable is a validation error when the prompt is saved, so a typo never reaches a model.
 */
export const PROMPT_VARIABLES = ['user', 'team', 'organization', 'connection', 'date', 'datetime'] as const;
export type PromptVariable = (typeof PROMPT_VARIABLES)[number];
export type PromptValues = Record<PromptVariable, string>;

// Linear: a bounded name between literal braces, no nested quantifiers.
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]{1,64})\s*\}\}/g;

/** The unknown variable names used in `text` (empty: valid). */
export function unknownVariables(text: string): string[] {
  const known = new Set<string>(PROMPT_VARIABLES);
  const unknown = new Set<string>();
  for (const match of text.matchAll(PLACEHOLDER)) if (!known.has(match[1]!)) unknown.add(match[1]!);
  return [...unknown];
}

export function renderPrompt(text: string, values: PromptValues): string {
  return text.replace(PLACEHOLDER, (whole, name: string) =>
    Object.hasOwn(values, name) ? values[name as PromptVariable] : whole,
  );
}

/** The values of one call; absent ones render as an empty string. */
export function promptValues(
  input: { user: string | null; team: string | null; organization: string; connection: string },
  now: number,
): PromptValues {
  const iso = new Date(now).toISOString();
  return {
    user: input.user ?? '',
    team: input.team ?? '',
    organization: input.organization,
    connection: input.connection,
    date: iso.slice(0, 10),
    datetime: `${iso.slice(0, 19)}Z`,
  };
}
