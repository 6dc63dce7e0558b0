import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './app.types';
import { AppError, type ErrorLocation } from './lib/errors';

const TARGET_LOCATION: Record<string, ErrorLocation['location']> = {
  json: 'body',
  form: 'body',
  query: 'query',
  param: 'path',
  header: 'header',
  cookie: 'cookie',
};

export interface FieldIssue extends ErrorLocation {
  message: string;
}

/** zod issues → our error detail shape: where (body/query/path + field path) and what. */
export function issuesToDetails(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
  location: ErrorLocation['location'],
): FieldIssue[] {
  return issues.map((issue) => ({
    location,
    path: issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
      .join('.')
      .replace(/\.\[/g, '['),
    message: issue.message,
  }));
}

/**
 * Every router is made here so that all of them share the typed env and the same validation
 * failure shape: a 400 `validation_failed` naming the location and field path of each problem.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const location = TARGET_LOCATION[result.target] ?? 'body';
        throw new AppError('validation_failed', {
          details: { issues: issuesToDetails(result.error.issues, location) },
        });
      }
    },
  });
}
