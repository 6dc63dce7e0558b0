/**
 * The SARIF 2.1.0 JSON schema as shipped by @microsoft/jest-sarif, compiled with Ajv: shared by the
 * scanner's unit test (workers/scans/scans.sarif.unit.test.ts) and the CLI's end-to-end test.
 * The file is draft-04 (its top-level `id` is draft-07's `$id`, and nothing else in it differs
 * between the drafts for Ajv). One of its patterns (`language`) is not valid with the `u` flag,
 * hence `unicodeRegExp: false`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';

export const validateSarif = (() => {
  const file = createRequire(import.meta.url).resolve(
    '@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json',
  );
  const {
    $schema: _draft,
    id,
    ...schema
  } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormats(ajv);
  return ajv.compile({ ...schema, $id: String(id) });
})();
