/**
 * The shared set-up of the LLM management API tests (llm.api.prices.test.ts, llm.api.usage.test.ts):
 * two organizations, fresh per file, so one's overrides and rows are the other's isolation check.
 */
import { createOrg, type TestOrg } from './helpers';

// Live bindings: set by setUpLlmApi, read by the test files after their beforeAll.
export let owner: TestOrg;
export let other: TestOrg;

/** Two organizations, fresh per file (each file's beforeAll). */
export async function setUpLlmApi(): Promise<void> {
  owner = await createOrg('owner');
  other = await createOrg('owner');
}
