/**
 * "Use it" on a connection's page: its gateway URL and ready-to-paste client configurations (MCP
 * JSON, Claude Desktop, the SDK). Shown to whoever may call the connection, a sharee included.
 */
import { useState } from 'react';
import { Link } from '../lib/router';
import { CopyBlock, CopyButton } from '../ui/copy.button';
import { claudeDesktopConfig, cursorConfig, KEY_PLACEHOLDER, sdkSnippet } from './connection.snippets';

type Snippet = 'cursor' | 'claude' | 'sdk';

export function UseIt({ slug, gatewayUrl }: { slug: string; gatewayUrl: string }) {
  const [tab, setTab] = useState<Snippet>('cursor');
  const snippets: Record<Snippet, { label: string; text: string; caption: string }> = {
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
  const current = snippets[tab];
  return (
    <section className="card" aria-labelledby="use-it">
      <h2 id="use-it">Use it</h2>
      <div className="url-row">
        <span className="muted">Gateway URL</span>
        <code data-testid="gateway-url">{gatewayUrl}</code>
        <CopyButton text={gatewayUrl} label="Copy gateway URL" />
      </div>
      <div className="segmented" role="tablist" aria-label="Client configuration">
        {(Object.keys(snippets) as Snippet[]).map((key) => (
          <button key={key} type="button" role="tab" aria-selected={tab === key} onClick={() => setTab(key)}>
            {snippets[key].label}
          </button>
        ))}
      </div>
      <CopyBlock text={current.text} label={current.caption} copyLabel={`Copy ${current.label}`} />
      <p className="muted small">
        Replace <code>{KEY_PLACEHOLDER}</code> with a key from <Link to="/api-keys">API keys</Link>. Add{' '}
        <code>X-Igris-User</code>, <code>X-Igris-Trace-Id</code> and <code>X-Igris-Metadata</code> headers to
        use identity in policies and the audit trail.
      </p>
    </section>
  );
}
