/**
 * Shared by the organization and members API tests (orgs.api.current.test.ts,
 * orgs.api.members.test.ts): the DTO shapes, and reading and patching the current organization.
 */
import { call, expectJson } from './helpers';

export interface OrganizationDto {
  id: string;
  slug: string;
  name: string;
  role: string;
  settings: { retentionDays: number; defaultFailMode: string };
}

export interface MemberDto {
  id: string;
  userId: string;
  email: string;
  name: string;
  role: string;
  createdAt: string;
}

export async function currentOrg(key: string) {
  return expectJson<OrganizationDto>(await call('GET', '/api/v1/organizations/current', { key }), 200);
}

export async function patchOrg(key: string, body: unknown) {
  return call('PATCH', '/api/v1/organizations/current', { key, body });
}
