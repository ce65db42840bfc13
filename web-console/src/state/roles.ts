// Roles as the hub ranks them (viewer < operator < admin): the console hides controls a
// role cannot use; the hub checks every action regardless.

import type { OperatorInfo, Role } from '@halyard/firmware-protocol';

export type { OperatorInfo, Role };

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export function hasRole(role: Role, least: Role): boolean {
  return RANK[role] >= RANK[least];
}
