import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './app.types';
import { AppError, type ErrorLocation } from './lib/errors';
import { listIssues, quotedPath, unknownKeysMessage } from './lib/issues.list';

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

interface ZodIssueLike {
  code?: string;
  path: ReadonlyArray<PropertyKey>;
  message: string;
  keys?: readonly string[];
}

/**
 * zod issues → our error detail shape: where (body/query/path + field path) and what. Bounded
 * (lib/issues.list.ts): the first issues only, `issueCount` when there were more, an unknown-keys
 * message naming the first keys only, and no quoted key or path longer than MAX_QUOTED_CHARS; a key
 * that looks like a secret is shown as `[key]` (lib/echo.safe.ts).
 */
export function issuesToDetails(
  issues: ReadonlyArray<ZodIssueLike>,
  location: ErrorLocation['location'],
): { issues: FieldIssue[]; issueCount?: number } {
  const listed = listIssues(issues);
  return {
    ...listed,
    issues: listed.issues.map((issue) => ({
      location,
      path: quotedPath(issue.path),
      message:
        issue.code === 'unrecognized_keys' && issue.keys ? unknownKeysMessage(issue.keys) : issue.message,
    })),
  };
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
          details: issuesToDetails(result.error.issues, location),
        });
      }
    },
  });
}
