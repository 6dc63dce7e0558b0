/**
 * The "Use it" card's frame, one for every kind of connection (MCP, LLM): the URL a client points
 * at with its copy button, a tab per client snippet, the current snippet copyable, and a footnote.
 * What differs between kinds is only the URL's label, the snippets and the footnote.
 */
import { type ReactNode, useState } from 'react';
import { CopyBlock, CopyButton } from '../ui/copy.button';

export interface UseItSnippet {
  label: string;
  text: string;
  caption: string;
}

export function UseItCard<K extends string>({
  urlLabel,
  url,
  snippets,
  initial,
  tablistLabel,
  children,
}: {
  /** "Gateway URL", "Base URL". */
  urlLabel: string;
  url: string;
  /** In tab order. */
  snippets: Record<K, UseItSnippet>;
  initial: K;
  tablistLabel: string;
  /** The footnote under the snippet. */
  children: ReactNode;
}) {
  const [tab, setTab] = useState<K>(initial);
  const current = snippets[tab];
  return (
    <section className="card" aria-labelledby="use-it">
      <h2 id="use-it">Use it</h2>
      <div className="url-row">
        <span className="muted">{urlLabel}</span>
        <code data-testid="gateway-url">{url}</code>
        <CopyButton text={url} label={`Copy ${urlLabel.charAt(0).toLowerCase()}${urlLabel.slice(1)}`} />
      </div>
      <div className="segmented" role="tablist" aria-label={tablistLabel}>
        {(Object.keys(snippets) as K[]).map((key) => (
          <button key={key} type="button" role="tab" aria-selected={tab === key} onClick={() => setTab(key)}>
            {snippets[key].label}
          </button>
        ))}
      </div>
      <CopyBlock text={current.text} label={current.caption} copyLabel={`Copy ${current.label}`} />
      <p className="muted small">{children}</p>
    </section>
  );
}
