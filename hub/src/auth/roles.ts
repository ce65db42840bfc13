// Operator roles, in rank order: each includes what the ones below it may do.

import type { Role } from '@halyard/firmware-protocol';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export function hasRole(role: Role, least: Role): boolean {
  return RANK[role] >= RANK[least];
}
