import { html, render, nothing, type TemplateResult } from 'lit';
import { get, post, setCsrfToken, whenUnauthorized, type Role, type User } from './api';
import { state, permissionsOf, can } from './state';
import { loginView, resetLogin } from './screens/login';
import * as account from './screens/account';
import * as users from './screens/users';
import * as apiKeys from './screens/apikeys';
import * as settings from './screens/settings';
import * as diagnostics from './screens/diagnostics';
import * as home from './screens/home';
import * as events from './screens/events';
import * as signals from './screens/signals';
import * as backups from './screens/backups';

/** A screen: shown in the navigation only when the signed-in user holds its permission. */
interface Screen {
  route: string;
  title: string;
  permission: string | null;
  view: () => TemplateResult;
  enter: () => void;
}

const screens: Screen[] = [
  { route: '', title: 'Overview', permission: null, view: home.view, enter: home.enter },
  { route: 'events', title: 'Events', permission: 'Read', view: events.view, enter: events.enter },
  { route: 'signals', title: 'Signals', permission: 'Read', view: signals.view, enter: signals.enter },
  { route: 'users', title: 'Users', permission: 'Organization', view: users.view, enter: users.enter },
  { route: 'apikeys', title: 'API keys', permission: 'Write', view: apiKeys.view, enter: apiKeys.enter },
  { route: 'settings', title: 'Settings', permission: 'Read', view: settings.view, enter: settings.enter },
  { route: 'backups', title: 'Backups', permission: 'System', view: backups.view, enter: backups.enter },
  { route: 'diagnostics', title: 'Diagnostics', permission: 'Read', view: diagnostics.view, enter: diagnostics.enter },
  { route: 'account', title: 'My account', permission: null, view: account.view, enter: account.enter },
];

let root: HTMLElement;
let entered: string | null = null;
let notice: string | null = null;

function currentRoute(): string {
  return location.hash.replace(/^#\/?/, '').split('/')[0] ?? '';
}

function screenFor(route: string): Screen | undefined {
  return screens.find((s) => s.route === route);
}

export async function refreshInstanceTitle(): Promise<void> {
  try {
    const api = await get<{ InstanceName: string | null }>('/api');
    state.instanceTitle = api.InstanceName;
  } catch {
    state.instanceTitle = null;
  }
  document.title = state.instanceTitle ? `${state.instanceTitle} — Seq` : 'Seq';
  rerender();
}

/** After a successful login: who this is and what they may do. The route in the address bar is kept. */
export async function signedIn(user: User, csrfToken: string): Promise<void> {
  setCsrfToken(csrfToken);
  const roles = await get<Role[]>('/api/roles');
  state.session = { user, roles, permissions: permissionsOf(user, roles) };
  notice = null;
  entered = null;
  rerender();
}

async function signOut(): Promise<void> {
  try {
    await post('/api/users/logout', {});
  } finally {
    setCsrfToken(null);
    state.session = null;
    entered = null;
    resetLogin(true);
    rerender();
  }
}

function rerender(): void {
  render(shell(), root);
  const route = currentRoute();
  if (state.session && entered !== route) {
    entered = route;
    const screen = screenFor(route);
    if (screen && (screen.permission === null || can(screen.permission))) screen.enter();
  }
}

function shell(): TemplateResult {
  const title = state.instanceTitle ?? 'Seq';
  if (!state.session) {
    return html`
      <header class="bar"><span class="brand" data-testid="instance-title">${title}</span></header>
      <main class="narrow">
        ${notice ? html`<p class="notice" role="status">${notice}</p>` : nothing}
        ${loginView()}
      </main>`;
  }
  const route = currentRoute();
  const screen = screenFor(route);
  const allowed = screen && (screen.permission === null || can(screen.permission));
  const user = state.session.user;
  return html`
    <header class="bar">
      <span class="brand" data-testid="instance-title">${title}</span>
      <nav aria-label="Main">
        ${screens
          .filter((s) => s.permission === null || can(s.permission))
          .map((s) => html`<a href="#/${s.route}" class=${s.route === route ? 'current' : ''} aria-current=${s.route === route ? 'page' : 'false'}>${s.title}</a>`)}
      </nav>
      <span class="who">
        <span data-testid="signed-in-as">${user.DisplayName || user.Username}</span>
        <button class="link" @click=${signOut}>Sign out</button>
      </span>
    </header>
    <main>
      ${allowed
        ? screen.view()
        : html`<section><h1>Not available</h1><p class="error" role="alert">${screen ? 'Your roles do not allow this screen.' : 'There is no such screen.'}</p>
            <p><a href="#/">Back to the overview</a></p></section>`}
    </main>`;
}

export function start(element: HTMLElement): void {
  root = element;
  // Lit renders after what the container holds: the static "Loading…" placeholder goes first.
  root.replaceChildren();
  state.rerender = rerender;
  whenUnauthorized(() => {
    if (!state.session) return;
    state.session = null;
    entered = null;
    notice = 'Your session has ended. Sign in again to carry on where you were.';
    resetLogin();
    rerender();
  });
  window.addEventListener('hashchange', () => rerender());
  rerender();
  void refreshInstanceTitle();
}
