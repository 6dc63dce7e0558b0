/**
 * Ready-to-paste MCP client configurations for one gateway URL, each in the shape its client reads,
 * so every one works as printed. One module builds them for `npm start`, the dashboard and SDK users.
 *
 *   Claude Desktop   claude_desktop_config.json: only local (stdio) servers, so a remote one goes through
 *                    the `mcp-remote` bridge; header values travel in `env` because arguments with spaces
 *                    break on some platforms (mcp-remote expands `${VAR}` in `--header` itself).
 *   Cursor           .cursor/mcp.json: `url` + `headers`.
 *   VS Code          .vscode/mcp.json: `servers`, with `"type": "http"`.
 *   Claude Code      `claude mcp add --transport http … --header …`.
 *   MCP Inspector    `npx @modelcontextprotocol/inspector --cli <url> --transport http --header …`.
 */

export interface ClientTarget {
  /** The server's name in the client (e.g. the connection slug). */
  name: string;
  /** The connection's gateway URL, `<gateway>/v1/mcp/<slug>`. */
  url: string;
  /** Headers every request carries: `Authorization: Bearer ig_…`, optionally X-Igris-User / X-Igris-Metadata. */
  headers: Record<string, string>;
}

export interface ClaudeDesktopConfig {
  mcpServers: Record<string, { command: 'npx'; args: string[]; env: Record<string, string> }>;
}
export interface CursorConfig {
  mcpServers: Record<string, { url: string; headers: Record<string, string> }>;
}
export interface VsCodeConfig {
  servers: Record<string, { type: 'http'; url: string; headers: Record<string, string> }>;
}

export interface ClientConfigs {
  claudeDesktop: ClaudeDesktopConfig;
  cursor: CursorConfig;
  vscode: VsCodeConfig;
  /** A shell command line. */
  claudeCode: string;
  /** A shell command line that lists the tools through the gateway. */
  inspector: string;
}

/** `Authorization` → IGRIS_AUTH, `X-Igris-User` → IGRIS_X_IGRIS_USER: the variable mcp-remote expands. */
export function headerEnvName(header: string): string {
  return header.toLowerCase() === 'authorization'
    ? 'IGRIS_AUTH'
    : `IGRIS_${header.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** mcp-remote refuses plain-http URLs except on localhost unless told otherwise. */
function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

export function claudeDesktopConfig(target: ClientTarget): ClaudeDesktopConfig {
  const args = ['-y', 'mcp-remote', target.url];
  if (!isLoopbackHttp(new URL(target.url))) args.push('--allow-http');
  const env: Record<string, string> = {};
  for (const [header, value] of Object.entries(target.headers)) {
    const variable = headerEnvName(header);
    args.push('--header', `${header}:\${${variable}}`);
    env[variable] = value;
  }
  return { mcpServers: { [target.name]: { command: 'npx', args, env } } };
}

export function cursorConfig(target: ClientTarget): CursorConfig {
  return { mcpServers: { [target.name]: { url: target.url, headers: { ...target.headers } } } };
}

export function vscodeConfig(target: ClientTarget): VsCodeConfig {
  return { servers: { [target.name]: { type: 'http', url: target.url, headers: { ...target.headers } } } };
}

/** POSIX shell quoting: bare when safe, otherwise single quotes. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function headerFlags(headers: Record<string, string>): string[] {
  return Object.entries(headers).flatMap(([name, value]) => ['--header', `${name}: ${value}`]);
}

export function claudeCodeCommand(target: ClientTarget): string {
  const words = [
    'claude',
    'mcp',
    'add',
    '--transport',
    'http',
    target.name,
    target.url,
    ...headerFlags(target.headers),
  ];
  return words.map(shellQuote).join(' ');
}

export function inspectorCommand(target: ClientTarget): string {
  const words = [
    'npx',
    '@modelcontextprotocol/inspector',
    '--cli',
    target.url,
    '--transport',
    'http',
    ...headerFlags(target.headers),
    '--method',
    'tools/list',
  ];
  return words.map(shellQuote).join(' ');
}

export function clientConfigs(target: ClientTarget): ClientConfigs {
  return {
    claudeDesktop: claudeDesktopConfig(target),
    cursor: cursorConfig(target),
    vscode: vscodeConfig(target),
    claudeCode: claudeCodeCommand(target),
    inspector: inspectorCommand(target),
  };
}
