/**
 * Shared by the organizations-for-people tests (auth.orgs.invitations.test.ts,
 * auth.orgs.isolation.test.ts): the invitation shape, and inviting an address from a signed-in
 * browser and reading the token from the mail it gets.
 */
import { type Browser, tokenFromMail } from './auth.helpers';
import { expectJson } from './helpers';

export interface Invitation {
  id: string;
  email: string;
  role: string;
  invitedBy: string | null;
  expiresAt: string;
}

export async function invite(
  browser: Browser,
  email: string,
  role: string,
): Promise<{ invitation: Invitation; token: string }> {
  const res = await browser.fetch('POST', '/api/auth/invitations', { body: { email, role } });
  const invitation = await expectJson<Invitation>(res, 201);
  return { invitation, token: await tokenFromMail(email) };
}
