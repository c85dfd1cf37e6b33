import type { Role, User } from './api';

/** Who is signed in and what their roles let them do; the server checks every request anyway. */
export interface Session {
  user: User;
  permissions: Set<string>;
  roles: Role[];
}

export const state: {
  session: Session | null;
  instanceTitle: string | null;
  rerender: () => void;
} = {
  session: null,
  instanceTitle: null,
  rerender: () => {},
};

export function can(permission: string): boolean {
  return state.session?.permissions.has(permission) ?? false;
}

export function permissionsOf(user: User, roles: Role[]): Set<string> {
  return new Set(roles.filter((r) => user.RoleIds.includes(r.Id)).flatMap((r) => r.Permissions));
}

/** Async work with its loading and error state kept for the screen to show (never a blank page). */
export class Loadable<T> {
  value: T | null = null;
  error: string | null = null;
  loading = false;

  async load(fetcher: () => Promise<T>): Promise<void> {
    this.loading = true;
    this.error = null;
    state.rerender();
    try {
      this.value = await fetcher();
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      this.loading = false;
      state.rerender();
    }
  }
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function formValues(event: Event): FormData {
  event.preventDefault();
  return new FormData(event.target as HTMLFormElement);
}
