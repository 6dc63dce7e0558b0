/** The mails people get from sign-in flows. Plain text; every token is listed as a secret. */
import type { EmailMessage } from './email.sender';

export function passwordResetMessage(to: string, link: string, token: string, minutes: number): EmailMessage {
  return {
    to,
    subject: 'Reset your Igris password',
    text: [
      'Someone (hopefully you) asked to reset the password of your Igris account.',
      '',
      `Open this link within ${minutes} minutes to choose a new password:`,
      link,
      '',
      `Or paste this reset token into the dashboard: ${token}`,
      '',
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ].join('\n'),
    secrets: [token],
  };
}

export function invitationMessage(
  to: string,
  organization: string,
  role: string,
  link: string,
  token: string,
  days: number,
): EmailMessage {
  return {
    to,
    subject: `You are invited to ${organization} on Igris`,
    text: [
      `You have been invited to join the organization "${organization}" on Igris as ${role}.`,
      '',
      `Open this link within ${days} days to accept (sign up or sign in with this email address first):`,
      link,
      '',
      `Invitation token: ${token}`,
    ].join('\n'),
    secrets: [token],
  };
}
