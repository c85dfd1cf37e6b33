import { html, nothing } from 'lit';
import { put } from '../api';
import { formValues, messageOf, state } from '../state';

let message: string | null = null;
let error: string | null = null;

export function enter(): void {
  message = null;
  error = null;
}

async function change(event: Event): Promise<void> {
  const form = formValues(event);
  const next = String(form.get('newPassword'));
  message = null;
  error = null;
  if (next !== String(form.get('confirmPassword'))) {
    error = 'The new passwords do not match.';
    state.rerender();
    return;
  }
  try {
    await put('/api/users/current/password', { Password: String(form.get('password')), NewPassword: next });
    (event.target as HTMLFormElement).reset();
    message = 'Your password has been changed. Your other sessions have ended.';
  } catch (e) {
    error = messageOf(e);
  }
  state.rerender();
}

export function view() {
  const user = state.session!.user;
  return html`
    <section>
      <h1>My account</h1>
      <dl class="facts">
        <dt>Username</dt><dd>${user.Username}</dd>
        <dt>Display name</dt><dd>${user.DisplayName ?? '—'}</dd>
        <dt>Roles</dt><dd>${state.session!.roles.filter((r) => user.RoleIds.includes(r.Id)).map((r) => r.Title).join(', ')}</dd>
      </dl>
      <h2>Change password</h2>
      <form class="card" @submit=${change} aria-label="Change password">
        <label>Current password <input name="password" type="password" autocomplete="current-password" required></label>
        <label>New password <input name="newPassword" type="password" autocomplete="new-password" required></label>
        <label>Confirm new password <input name="confirmPassword" type="password" autocomplete="new-password" required></label>
        ${error ? html`<p class="error" role="alert">${error}</p>` : nothing}
        ${message ? html`<p class="notice" role="status">${message}</p>` : nothing}
        <button type="submit">Change password</button>
      </form>
    </section>`;
}
