/**
 * Which headless Chromium the dashboard tests drive, so `npm test` works on a fresh machine with only
 * Node and npm:
 *
 *   1. `IGRIS_CHROMIUM` when set (any Chromium build the caller prefers);
 *   2. the system's `/usr/bin/chromium` (Debian's) when present;
 *   3. otherwise the build shipped inside the `@sparticuz/chromium` devDependency (linux-x64, brotli-
 *      compressed in the npm package — nothing is downloaded), decompressed once into
 *      `node_modules/.cache/igris-chromium/<version>/`.
 *
 * @sparticuz/chromium decompresses into `os.tmpdir()` and reuses whatever `chromium` it finds there, so
 * it runs in a child process whose TMPDIR is a private staging folder that is renamed into place when
 * complete: concurrent test processes never see a half-written binary, and a new package version gets a
 * folder of its own. Only its binary is used, not its launch flags (they disable web security and site
 * isolation for AWS Lambda, which would hide CSP and CORS bugs from the tests).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/local-stack.ts';

export const SYSTEM_CHROMIUM = '/usr/bin/chromium';
const PACKAGE = path.join(ROOT, 'node_modules', '@sparticuz', 'chromium');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'igris-chromium');

export interface LocatedChromium {
  executablePath: string;
  /** Extra environment for the browser process (fontconfig for the npm build). */
  env: Record<string, string>;
  source: 'IGRIS_CHROMIUM' | 'system' | '@sparticuz/chromium';
}

export function locateChromium(): LocatedChromium {
  const override = process.env.IGRIS_CHROMIUM;
  if (override) {
    if (!existsSync(override)) throw new Error(`IGRIS_CHROMIUM=${override} does not exist`);
    return { executablePath: override, env: {}, source: 'IGRIS_CHROMIUM' };
  }
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, env: {}, source: 'system' };
  const dir = extractNpmChromium();
  return {
    executablePath: path.join(dir, 'chromium'),
    env: { FONTCONFIG_FILE: path.join(dir, 'igris-fonts.conf') },
    source: '@sparticuz/chromium',
  };
}

/** The folder holding the decompressed npm Chromium (binary, SwiftShader libraries, fonts). */
function extractNpmChromium(): string {
  if (!existsSync(PACKAGE)) {
    throw new Error(
      `No Chromium: ${SYSTEM_CHROMIUM} is absent and @sparticuz/chromium is not installed (run npm install)`,
    );
  }
  const { version } = JSON.parse(readFileSync(path.join(PACKAGE, 'package.json'), 'utf8')) as {
    version: string;
  };
  const dir = path.join(CACHE, version);
  if (existsSync(path.join(dir, 'chromium'))) return dir;
  mkdirSync(CACHE, { recursive: true });
  const staging = mkdtempSync(path.join(CACHE, `.staging-${version}-`));
  try {
    const result = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const { default: c } = await import('@sparticuz/chromium'); console.log(await c.executablePath());",
      ],
      { cwd: ROOT, env: { ...process.env, TMPDIR: staging }, encoding: 'utf8', timeout: 120_000 },
    );
    const binary = result.stdout.trim();
    if (result.status !== 0 || binary !== path.join(staging, 'chromium')) {
      throw new Error(`decompressing @sparticuz/chromium failed:\n${result.stdout}\n${result.stderr}`);
    }
    // The package's fonts.conf names Lambda paths; this one keeps the system's fonts and adds the
    // package's own, so text renders on a machine with no fonts installed too.
    writeFileSync(
      path.join(staging, 'igris-fonts.conf'),
      `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>${path.join(dir, 'fonts')}</dir>
  <cachedir>${path.join(dir, 'fonts-cache')}</cachedir>
</fontconfig>
`,
    );
    try {
      renameSync(staging, dir);
    } catch (err) {
      // Another process finished first: use its copy.
      if (!existsSync(path.join(dir, 'chromium'))) throw err;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}
