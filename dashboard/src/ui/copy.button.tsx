/** Copies text to the clipboard and says so (for gateway URLs, configs and freshly created keys). */
import { useState } from 'react';

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Insecure contexts and denied permissions: fall back to a selected, off-screen textarea.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.left = '-9999px';
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
}

export function CopyButton({
  text,
  label = 'Copy',
  className,
}: {
  text: string;
  label?: string;
  className?: string;
}) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className={`btn btn-small ${className ?? ''}`}
      onClick={() => {
        void copyText(text).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        });
      }}
    >
      <span aria-live="polite">{copied ? 'Copied' : label}</span>
    </button>
  );
}

/** A read-only block of text (URL, JSON) with its copy button. */
export function CopyBlock({ text, label, copyLabel }: { text: string; label: string; copyLabel?: string }) {
  return (
    <figure className="copy-block">
      <figcaption>
        <span>{label}</span>
        <CopyButton text={text} label={copyLabel ?? 'Copy'} />
      </figcaption>
      <pre>
        <code>{text}</code>
      </pre>
    </figure>
  );
}
