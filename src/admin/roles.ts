/**
 * Who may do what on the admin plane. Three roles, each including the one below it:
 * viewer reads; operator also changes runtime state (enable, disable, drain, GSLB site recovery);
 * admin does everything (config, users, tokens of any role, backup and restore).
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a route needs: read (viewer), operate (operator) or administer (admin). */
export type Permission = 'read' | 'operate' | 'administer';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
const NEEDS: Record<Permission, Role> = { read: 'viewer', operate: 'operator', administer: 'admin' };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function allows(role: Role, permission: Permission): boolean {
  return RANK[role] >= RANK[NEEDS[permission]];
}

/** A user may hand a token only a role no higher than their own. */
export function atMost(role: Role, ceiling: Role): boolean {
  return RANK[role] <= RANK[ceiling];
}

/** Who made a request: a logged-in user (cookie), a token's owner, or nobody on an open loopback API. */
export interface Principal {
  /** The user's name; for a token, its owner's; "local" on an API without users (loopback only). */
  user: string;
  role: Role;
  via: 'session' | 'token' | 'loopback';
  /** The token's id when via is "token". */
  tokenId?: string;
  /** The session's CSRF token when via is "session": unsafe methods must echo it in X-CSRF-Token. */
  csrfToken?: string;
}
