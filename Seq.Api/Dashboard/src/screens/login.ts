import { html, nothing } from 'lit';
import { ApiError, post, type LoginResult } from '../api';
import { formValues, messageOf, state } from '../state';
import { signedIn } from '../app';

// The first login of a user whose password must change asks for a new one in the same form.
let mustChange = false;
let error: string | null = null;
let busy = false;
let username = '';

/** After a sign-out the next person at this browser starts from an empty form; after a lost session the name stays. */
export function resetLogin(forget = false): void {
  if (forget) username = '';
  mustChange = false;
  error = null;
  busy = false;
}

async function submit(event: Event): Promise<void> {
  const form = formValues(event);
  username = String(form.get('username') ?? '');
  const password = String(form.get('password') ?? '');
  const body: Record<string, string> = { Username: username, Password: password };
  if (mustChange) {
    const next = String(form.get('newPassword') ?? '');
    if (next !== String(form.get('confirmPassword') ?? '')) {
      error = 'The new passwords do not match.';
      state.rerender();
      return;
    }
    body.NewPassword = next;
  }
  busy = true;
  error = null;
  state.rerender();
  try {
    const result = await post<LoginResult>('/api/users/login', body);
    const { CsrfToken, ...user } = result;
    resetLogin();
    (event.target as HTMLFormElement).reset();
    await signedIn(user, CsrfToken);
  } catch (e) {
    busy = false;
    if (e instanceof ApiError && !mustChange && /must be changed/i.test(e.message)) {
      mustChange = true;
      error = null;
    } else {
      error = messageOf(e);
    }
    state.rerender();
  }
}

export function loginView() {
  return html`
    <section class="card">
      <h1>Sign in</h1>
      ${mustChange ? html`<p class="notice" role="status">This is the first sign-in with this password: choose a new one.</p>` : nothing}
      <form @submit=${submit} aria-label="Sign in">
        <label>Username <input name="username" autocomplete="username" required .value=${username}></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
        ${mustChange
          ? html`<label>New password <input name="newPassword" type="password" autocomplete="new-password" required></label>
                 <label>Confirm new password <input name="confirmPassword" type="password" autocomplete="new-password" required></label>`
          : nothing}
        ${error ? html`<p class="error" role="alert">${error}</p>` : nothing}
        <button type="submit" ?disabled=${busy}>${busy ? 'Signing in…' : mustChange ? 'Change password and sign in' : 'Sign in'}</button>
      </form>
    </section>`;
}
