/**
 * Outgoing mail (password resets, invitations) goes through one small interface, so a real
 * provider is one class and one line in `createEmailSender` (docs/auth.md, "Email").
 *
 * Development and tests use the outbox sender: it writes the message to the email_outbox table
 * (which tests and `npm start` users read) and a line to the log. The log line never carries the
 * message body's secrets: links with tokens are only ever in the outbox row. In production no
 * sender is configured by default and sending fails loudly rather than dropping mail silently.
 */
import { randomId } from '../lib/ids';
import { log } from '../lib/log';

export interface EmailMessage {
  to: string;
  subject: string;
  /** Plain-text body. */
  text: string;
  /** Values inside the body that must never reach a log (tokens, links carrying them). */
  secrets: string[];
}

export interface EmailSender {
  /** Resolves once the provider accepted the message; rejects otherwise. */
  send(message: EmailMessage): Promise<void>;
}

/** Development/test sender: email_outbox row + a redacted log line. */
export class OutboxEmailSender implements EmailSender {
  constructor(private readonly db: D1Database) {}

  async send(message: EmailMessage): Promise<void> {
    const id = randomId('mail');
    await this.db
      .prepare('INSERT INTO email_outbox (id, "to", subject, body, created_at) VALUES (?, ?, ?, ?, ?)')
      .bind(id, message.to, message.subject, message.text, Date.now())
      .run();
    log('info', 'email written to the development outbox (email_outbox)', {
      outboxId: id,
      to: message.to,
      subject: message.subject,
      body: redact(message.text, message.secrets),
    });
  }
}

/** Production without a provider: refuse, so callers can tell the user mail is not set up. */
export class UnconfiguredEmailSender implements EmailSender {
  async send(message: EmailMessage): Promise<void> {
    log('error', 'email delivery is not configured: message not sent (see docs/auth.md, "Email")', {
      subject: message.subject,
    });
    throw new Error('email delivery is not configured');
  }
}

function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('[REDACTED]');
  return out;
}

/** The one place that chooses the sender. Plug a real provider in here (docs/auth.md). */
export function createEmailSender(env: Pick<Env, 'DB' | 'ENVIRONMENT'>): EmailSender {
  if (env.ENVIRONMENT === 'production') return new UnconfiguredEmailSender();
  return new OutboxEmailSender(env.DB);
}
