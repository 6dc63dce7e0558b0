/**
 * A connection's `allowedModels` as a matcher: case-insensitive globs (policy.glob.ts). Shared by
 * the Worker (every LLM call's model, passthrough's models: workers/gateway/llm.stages.ts) and the
 * connection's guard (the models recorded for a batch's input file, checked when the batch is
 * created: durable-objects/batch.file-models.ts), so both hold a model to the list the same way.
 */
import { compileGlob } from './policy.glob';

/** Compiled `allowedModels` globs of a connection (null: any model). */
export function allowedModelsMatcher(
  globs: readonly string[] | undefined | null,
): ((model: string) => boolean) | null {
  if (!globs || globs.length === 0) return null;
  const matchers = globs.map((g) => compileGlob(g.toLowerCase()));
  return (model) => matchers.some((m) => m(model.toLowerCase()));
}
