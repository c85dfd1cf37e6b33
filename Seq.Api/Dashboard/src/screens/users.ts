import { html, nothing } from 'lit';
import { del, encode, get, post, put, type User } from '../api';
import { Loadable, formValues, messageOf, state } from '../state';

const users = new Loadable<User[]>();
let editing: string | null = null; // a user's id, 'new', or null
let confirmingDelete: string | null = null;
let formError: string | null = null;
let notice: string | null = null;

export function enter(): void {
  editing = null;
  confirmingDelete = null;
  notice = null;
  void users.load(() => get<User[]>('/api/users'));
}

function roleIdsOf(form: FormData): string[] {
  return form.getAll('roles').map(String);
}

async function save(event: Event, user: User | null): Promise<void> {
  const form = formValues(event);
  const password = String(form.get('password') ?? '');
  const body = {
    Id: user?.Id,
    Username: String(form.get('username')),
    DisplayName: String(form.get('displayName') ?? '') || null,
    EmailAddress: String(form.get('emailAddress') ?? '') || null,
    RoleIds: roleIdsOf(form),
    MustChangePassword: form.get('mustChangePassword') === 'on',
    NewPassword: password === '' ? null : password,
  };
  formError = null;
  try {
    if (user) await put(`/api/users/${encode(user.Id)}`, body);
    else await post('/api/users', body);
    notice = user ? `Saved ${body.Username}.` : `Created ${body.Username}.`;
    editing = null;
    await users.load(() => get<User[]>('/api/users'));
  } catch (e) {
    formError = messageOf(e);
    state.rerender();
  }
}

async function remove(user: User): Promise<void> {
  try {
    await del(`/api/users/${encode(user.Id)}`);
    notice = `Deleted ${user.Username}.`;
    confirmingDelete = null;
    await users.load(() => get<User[]>('/api/users'));
  } catch (e) {
    notice = null;
    users.error = messageOf(e);
    state.rerender();
  }
}

function edit(id: string | null): void {
  editing = id;
  formError = null;
  notice = null;
  state.rerender();
}

function userForm(user: User | null) {
  const roles = state.session!.roles;
  const chosen = user?.RoleIds ?? ['role-user-readwrite'];
  return html`
    <form class="card" @submit=${(e: Event) => save(e, user)} aria-label=${user ? `Edit ${user.Username}` : 'New user'}>
      <h2>${user ? `Edit ${user.Username}` : 'New user'}</h2>
      <label>Username <input name="username" required .value=${user?.Username ?? ''}></label>
      <label>Display name <input name="displayName" .value=${user?.DisplayName ?? ''}></label>
      <label>Email address <input name="emailAddress" type="email" .value=${user?.EmailAddress ?? ''}></label>
      <label>${user ? 'Reset password (leave empty to keep it)' : 'Password'}
        <input name="password" type="password" autocomplete="new-password" ?required=${!user}></label>
      <label class="check"><input type="checkbox" name="mustChangePassword" .checked=${user ? user.MustChangePassword : true}> Must change the password at the next sign-in</label>
      <fieldset>
        <legend>Roles</legend>
        ${roles.map((r) => html`<label class="check"><input type="checkbox" name="roles" value=${r.Id} .checked=${chosen.includes(r.Id)}> ${r.Title}
          <small>${r.Permissions.join(', ')}</small></label>`)}
      </fieldset>
      ${formError ? html`<p class="error" role="alert">${formError}</p>` : nothing}
      <div class="actions">
        <button type="submit">${user ? 'Save' : 'Create user'}</button>
        <button type="button" class="secondary" @click=${() => edit(null)}>Cancel</button>
      </div>
    </form>`;
}

export function view() {
  const roles = state.session!.roles;
  const titleOf = (id: string) => roles.find((r) => r.Id === id)?.Title ?? id;
  return html`
    <section>
      <div class="heading"><h1>Users</h1><button @click=${() => edit('new')} ?disabled=${editing === 'new'}>Add user</button></div>
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : nothing}
      ${editing === 'new' ? userForm(null) : nothing}
      ${users.error ? html`<p class="error" role="alert">${users.error}</p>` : nothing}
      ${users.loading && !users.value ? html`<p class="loading">Loading users…</p>` : nothing}
      ${users.value
        ? html`<table>
            <thead><tr><th>Username</th><th>Display name</th><th>Roles</th><th><span class="sr">Actions</span></th></tr></thead>
            <tbody>
              ${users.value.map((u) => html`
                <tr data-user=${u.Username}>
                  <td>${u.Username}${u.MustChangePassword ? html` <span class="tag">must change password</span>` : nothing}</td>
                  <td class="display-name">${u.DisplayName ?? ''}</td>
                  <td>${u.RoleIds.map(titleOf).join(', ')}</td>
                  <td class="actions">
                    ${confirmingDelete === u.Id
                      ? html`<span>Delete ${u.Username}?</span> <button class="danger" @click=${() => remove(u)}>Yes, delete</button>
                             <button class="secondary" @click=${() => { confirmingDelete = null; state.rerender(); }}>No</button>`
                      : html`<button class="secondary" @click=${() => edit(u.Id)}>Edit</button>
                             <button class="secondary" ?disabled=${u.Id === state.session!.user.Id}
                               @click=${() => { confirmingDelete = u.Id; state.rerender(); }}>Delete</button>`}
                  </td>
                </tr>
                ${editing === u.Id ? html`<tr><td colspan="4">${userForm(u)}</td></tr>` : nothing}`)}
            </tbody>
          </table>`
        : nothing}
    </section>`;
}
