import type { Role } from '../db/schema';

/** Higher ranks include the powers of lower ones for the purpose of "at most its creator's role". */
const RANK: Record<Role, number> = { owner: 4, admin: 3, developer: 2, auditor: 1 };

export function roleAtMost(wanted: Role, ceiling: Role): Role {
  return RANK[wanted] <= RANK[ceiling] ? wanted : ceiling;
}

export function roleWithin(wanted: Role, ceiling: Role): boolean {
  return RANK[wanted] <= RANK[ceiling];
}
