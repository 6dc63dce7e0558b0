/** What a call's inspection stages read (loaded by inspection.load.ts before them). Pure types. */
import type { Engine, Finding } from './inspection.engine';
import type { RedactionSession } from './inspection.redact';

/** Per call: the engine, the connection's choices, and what the stages found so far. */
export interface CallInspection {
  engine: Engine;
  /** Mask `redact` findings in answers: MCP tool results, A2A answers, whole LLM answers. */
  redactResults: boolean;
  /** LLM streams: `hold` reads the whole stream before any of it is sent (inspection.hold.ts). */
  streamMode?: 'pass' | 'hold';
  /** Every engine finding of the call so far (for the risk score). */
  found: Finding[];
  /** LLM: the request's placeholders (never persisted or logged; dropped with the call). */
  session: RedactionSession | null;
  /**
   * LLM: the answer stage refused or masked the answer (a `block` or masked `redact` finding): what
   * the provider sent goes to no third party then (Langfuse content, llm.stages.ts).
   */
  answerWithheld?: boolean;
}
