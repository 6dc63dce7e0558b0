/**
 * "Use it" on a connection's page: its gateway URL and ready-to-paste client configurations (MCP
 * JSON, Claude Desktop, the SDK). Shown to whoever may call the connection, a sharee included.
 */
import { Link } from '../lib/router';
import { claudeDesktopConfig, cursorConfig, KEY_PLACEHOLDER, sdkSnippet } from './connection.snippets';
import { UseItCard, type UseItSnippet } from './use-it.card';

type Snippet = 'cursor' | 'claude' | 'sdk';

export function UseIt({ slug, gatewayUrl }: { slug: string; gatewayUrl: string }) {
  const snippets: Record<Snippet, UseItSnippet> = {
    cursor: {
      label: 'Cursor / MCP JSON',
      text: cursorConfig(slug, gatewayUrl),
      caption: '~/.cursor/mcp.json (or any Streamable HTTP client)',
    },
    claude: {
      label: 'Claude Desktop',
      text: claudeDesktopConfig(slug, gatewayUrl),
      caption: 'claude_desktop_config.json (through mcp-remote)',
    },
    sdk: {
      label: 'SDK',
      text: sdkSnippet(slug, gatewayUrl),
      caption: 'TypeScript, @igris-edge/sdk + the official MCP client',
    },
  };
  return (
    <UseItCard
      urlLabel="Gateway URL"
      url={gatewayUrl}
      snippets={snippets}
      initial="cursor"
      tablistLabel="Client configuration"
    >
      Replace <code>{KEY_PLACEHOLDER}</code> with a key from <Link to="/api-keys">API keys</Link>. Add{' '}
      <code>X-Igris-User</code>, <code>X-Igris-Trace-Id</code> and <code>X-Igris-Metadata</code> headers to
      use identity in policies and the audit trail.
    </UseItCard>
  );
}
