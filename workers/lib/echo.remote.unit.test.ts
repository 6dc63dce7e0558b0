import { describe, expect, it } from 'vitest';
import { DESCRIPTION_CHARS, remoteErrorFields } from './echo.remote';
import { REDACTED } from './echo.safe';

// A GitHub token shape a built-in detector knows, and a random code no detector knows.
const GITHUB = 'ghp_PTTv6vsndhgF9eRW1veDgS0dYlaFqhLidHDy';
const CODE = '4/0AeaYSHBq7Xk2mP9vR3tLw8NzQ5cJd1F';

describe('echo.remote: a remote error answer in a log line', () => {
  it('keeps an ordinary OAuth error as it is', () => {
    const body = JSON.stringify({ error: 'invalid_grant', error_description: 'Bad Request' });
    expect(remoteErrorFields(body)).toEqual({ error: 'invalid_grant', description: 'Bad Request' });
  });

  it('keeps nothing of a body that is not an OAuth error object', () => {
    const none = { error: null, description: null };
    expect(remoteErrorFields(`<html>code=${CODE}</html>`)).toEqual(none);
    expect(remoteErrorFields(JSON.stringify([{ error: 'x' }]))).toEqual(none);
    expect(remoteErrorFields(JSON.stringify({ message: CODE, request: { code: CODE } }))).toEqual(none);
    expect(remoteErrorFields({ error: 42 })).toEqual(none);
  });

  it('removes what was sent, even when it does not look like a credential', () => {
    const secret = 'test-client-secret';
    const fields = remoteErrorFields(
      { error: 'invalid_client', error_description: `client_secret=${secret} is wrong` },
      [secret],
    );
    expect(fields).toEqual({ error: 'invalid_client', description: `client_secret=${REDACTED} is wrong` });
  });

  it('hides a description that holds a credential-looking value nobody listed', () => {
    for (const value of [CODE, GITHUB]) {
      const fields = remoteErrorFields({
        error: 'invalid_grant',
        error_description: `code ${value} refused`,
      });
      expect(fields.description).toBe(REDACTED);
      expect(JSON.stringify(fields)).not.toContain(value);
    }
    expect(remoteErrorFields({ error: GITHUB }).error).toBe(REDACTED);
  });

  it('bounds the description and shows control characters as ?', () => {
    const fields = remoteErrorFields({ error: 'e\nforged', error_description: 'x '.repeat(1000) });
    expect(fields.error).toBe('e?forged');
    expect(fields.description).toHaveLength(DESCRIPTION_CHARS + 1);
    expect(fields.description?.endsWith('…')).toBe(true);
  });
});
