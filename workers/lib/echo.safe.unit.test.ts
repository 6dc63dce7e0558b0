import { describe, expect, it } from 'vitest';
import {
  auditName,
  ECHO_CHARS,
  echoKey,
  echoName,
  echoPath,
  echoText,
  KEY_PLACEHOLDER,
  looksSecret,
  REDACTED,
  redactSecrets,
} from './echo.safe';

// Realistic credentials the built-in detectors know (workers/inspection/rules/secret.json examples' shapes).
const OPENAI = 'sk-proj-5p5fIqMhdzXImFgdf7VuwcQXM6wdaDPcif6kdympel4sMkefVhM1EQIuVOLGMyEy6lhZ';
const AWS = 'AKIATOKLVWZ0PT0JWG0Y';
const GITHUB = 'ghp_PTTv6vsndhgF9eRW1veDgS0dYlaFqhLidHDy';
// No detector knows this shape: the high-entropy rule does.
const UNKNOWN_TOKEN = 'zq_9fKx2LmQ7vRt4NwB8yHc3JdP6sGa';

describe('echo.safe: caller text as an echo shows it', () => {
  it('replaces a credential a built-in detector knows with [redacted]', () => {
    for (const secret of [OPENAI, AWS, GITHUB]) {
      expect(looksSecret(secret)).toBe(true);
      expect(echoText(secret)).toBe(REDACTED);
      expect(echoText(`prefix/${secret}`)).toBe(REDACTED);
    }
  });

  it('replaces a long high-entropy token no detector knows', () => {
    expect(echoText(UNKNOWN_TOKEN)).toBe(REDACTED);
  });

  it('keeps names, model ids, ids and words readable', () => {
    for (const name of [
      'tools/call',
      'resources/read',
      'message/send',
      'chat.completions',
      'claude-3-5-sonnet-20241022',
      'gpt-4o-2024-08-06',
      'meta-llama/Llama-3.1-8B-Instruct',
      '3f2b8c1e-9a4d-4e7f-b2c6-1d8e5f0a7b3c',
      'internationalization_settings',
      'messages',
      // camelCase tool names with versions: long, high-entropy runs of letters and digits, but words
      'describeEc2InstancesV2',
      'getS3BucketPolicyStatus2',
      'listAllOrganizationMembers2024',
      'searchConfluencePagesV3Api',
      'github_createPullRequestReview2',
      'ModelContextProtocolServerV2Tools',
    ]) {
      expect(echoText(name), name).toBe(name);
    }
  });

  it('sees a secret cut by the bound (it scans more than it shows)', () => {
    const text = `${'x'.repeat(ECHO_CHARS - 10)}${OPENAI}`;
    expect(echoText(text)).toBe(REDACTED);
  });

  it('bounds what it shows and marks the cut', () => {
    const shown = echoText('a'.repeat(10_000));
    expect(shown).toBe(`${'a'.repeat(ECHO_CHARS)}…`);
  });

  it('shows control, bidi and zero-width characters as ?', () => {
    expect(echoText('a\nb\u202Ec\u200Bd\te')).toBe('a?b?c?d?e');
  });

  it('echoName keeps a known name whatever it looks like, and judges an unknown one', () => {
    expect(echoName(GITHUB, () => true)).toBe(GITHUB);
    expect(echoName(GITHUB, () => false)).toBe(REDACTED);
    expect(echoName('tools/call', (n) => n === 'tools/call')).toBe('tools/call');
  });

  it('renders a path segment by segment: secret keys as [key], indices kept', () => {
    expect(echoPath(['messages', 0, OPENAI, 'x'])).toBe(`messages[0].${KEY_PLACEHOLDER}.x`);
    expect(echoPath([AWS])).toBe(KEY_PLACEHOLDER);
    expect(echoPath(['a', 1, 2, 'b'])).toBe('a[1][2].b');
    expect(echoKey('model')).toBe('model');
  });

  it('bounds a path of many long keys', () => {
    const path = echoPath(Array.from({ length: 100 }, () => 'k'.repeat(60)));
    expect(path.length).toBeLessThanOrEqual(257);
    expect(path.endsWith('…')).toBe(true);
  });

  it('redactSecrets masks only the secret spans of a longer text', () => {
    const text = `Invalid request field "${GITHUB}": expected number (key ${AWS})`;
    const out = redactSecrets(text);
    expect(out).toBe(`Invalid request field "${REDACTED}": expected number (key ${REDACTED})`);
    expect(redactSecrets('nothing here')).toBe('nothing here');
  });
});

describe('echo.safe: ids and URL paths', () => {
  it('shows a provider id (random, but no credential) and hides a credential sent as an id', async () => {
    const { echoId } = await import('./echo.safe');
    const id = 'resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b';
    expect(echoId(id)).toBe(id);
    expect(echoId(GITHUB)).toBe(REDACTED);
  });

  it('shows a URL path segment by segment', async () => {
    const { echoUrlPath } = await import('./echo.safe');
    expect(echoUrlPath('/files/file-abc/content')).toBe('/files/file-abc/content');
    expect(echoUrlPath(`/files/${OPENAI}/content`)).toBe(`/files/${REDACTED}/content`);
  });
});

describe('echo.safe: audit names', () => {
  it('keeps a camelCase tool name with a version in the audit row, hides a token', () => {
    expect(auditName('describeEc2InstancesV2')).toBe('describeEc2InstancesV2');
    expect(auditName(UNKNOWN_TOKEN)).toBe(REDACTED);
    for (const token of [
      '3f2b8c1e9a4d4e7fb2c61d8e5f0a7b3c',
      'dGhpc2lzYXRlc3R0b2tlbjEyMzQ1Ng',
      'Xk9mP2qR7sT4vW8yZ1aB3cD5eF6g',
    ])
      expect(auditName(token), token).toBe(REDACTED);
  });
});
