/**
 * The consent page, server-rendered and pure (no I/O). Everything a client registered (its name,
 * redirect URI) and every name from our database is escaped: a DCR client chooses its own name, and
 * unescaped it would be script on our origin, beside the session cookie. The page carries no script
 * and no style, so its Content-Security-Policy can forbid both.
 */
import type { ConsentDescription } from '@cloudflare/workers-oauth-provider';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** One connection the signed-in member may grant: the slug's connection in one of their organizations. */
export interface ConsentChoice {
  connectionId: string;
  connectionName: string;
  orgName: string;
  orgSlug: string;
  role: string;
}

export interface ConsentView {
  details: ConsentDescription;
  handle: string;
  resource: string;
  slug: string;
  email: string;
  choices: ConsentChoice[];
  /** Scopes offered (requested ∩ supported, or our default), each ticked. */
  scopes: string[];
}

const SCOPE_TEXT: Record<string, string> = {
  'gateway:call':
    'Call this connection through the gateway as you (your role, policies and kill switches apply)',
  offline_access: 'Stay signed in (refresh tokens, up to 30 days)',
};

/**
 * Strict: nothing loads, nothing runs, the page can't be framed, and the form may post only here
 * and be redirected only to the client's own redirect origin (Chromium applies form-action to the
 * redirect that follows the post).
 */
export function consentCsp(redirectUri: string | null): string {
  let redirectOrigin = '';
  try {
    const url = redirectUri ? new URL(redirectUri) : null;
    if (url && (url.protocol === 'https:' || url.protocol === 'http:')) redirectOrigin = ` ${url.origin}`;
  } catch {
    // not a URL: only 'self'
  }
  return `default-src 'none'; form-action 'self'${redirectOrigin}; frame-ancestors 'none'; base-uri 'none'`;
}

export function consentPage(view: ConsentView): string {
  const { details } = view;
  const name = escapeHtml(details.clientName);
  const origin = details.clientDomain
    ? `Published by <strong>${escapeHtml(details.clientDomain)}</strong>.`
    : 'This app registered itself: its name is not verified.';
  const loopback = details.redirectIsLoopback
    ? '<p><strong>Access will be sent to an app on your computer.</strong> Continue only if you just started signing in from it.</p>'
    : '';
  const choices = view.choices
    .map(
      (choice, i) =>
        `<label><input type="radio" name="connection" value="${escapeHtml(choice.connectionId)}"${i === 0 ? ' checked' : ''}> ` +
        `${escapeHtml(choice.connectionName)} in <strong>${escapeHtml(choice.orgName)}</strong> (${escapeHtml(choice.orgSlug)}, as ${escapeHtml(choice.role)})</label>`,
    )
    .join('<br>\n');
  const scopes = view.scopes
    .map(
      (scope) =>
        `<label><input type="checkbox" name="scope" value="${escapeHtml(scope)}" checked> <code>${escapeHtml(scope)}</code> ${escapeHtml(SCOPE_TEXT[scope] ?? '')}</label>`,
    )
    .join('<br>\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Authorize ${name} — Igris Edge</title></head>
<body>
<h1>Allow ${name} to use <code>${escapeHtml(view.slug)}</code>?</h1>
<p>Signed in as <strong>${escapeHtml(view.email)}</strong>.</p>
<p>${origin} Access will be sent to <strong>${escapeHtml(details.redirectHost)}</strong>.</p>
${loopback}
<form method="post">
<input type="hidden" name="handle" value="${escapeHtml(view.handle)}">
<fieldset><legend>Connection <code>${escapeHtml(view.resource)}</code></legend>
${choices}
</fieldset>
<fieldset><legend>Permissions</legend>
${scopes}
</fieldset>
<p><button name="decision" value="approve">Allow</button> <button name="decision" value="deny">Deny</button></p>
</form>
</body></html>`;
}

/** A page for a request we cannot continue (bad request, not signed in, nothing to grant). */
export function messagePage(title: string, message: string, link?: { href: string; text: string }): string {
  const a = link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} — Igris Edge</title></head>
<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${a}</body></html>`;
}
