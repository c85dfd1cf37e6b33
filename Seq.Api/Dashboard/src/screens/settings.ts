import { html, nothing } from 'lit';
import { del, encode, get, post, put, type Feed, type Setting } from '../api';
import { Loadable, can, formValues, messageOf, state } from '../state';
import { refreshInstanceTitle } from '../app';

const settings = new Loadable<Setting[]>();
const feeds = new Loadable<Feed[]>();
const settingErrors = new Map<string, string>();
let notice: string | null = null;
let editingFeed: string | null = null;
let confirmingDelete: string | null = null;
let feedError: string | null = null;

export function enter(): void {
  notice = null;
  editingFeed = null;
  confirmingDelete = null;
  settingErrors.clear();
  void settings.load(() => get<Setting[]>('/api/settings'));
  if (can('System')) void feeds.load(() => get<Feed[]>('/api/feeds'));
}

async function saveSetting(event: Event, setting: Setting): Promise<void> {
  const form = formValues(event);
  let value: unknown;
  if (typeof setting.Value === 'boolean') value = form.get('value') === 'on';
  else if (typeof setting.Value === 'number') value = Number(form.get('value'));
  else value = String(form.get('value') ?? '');
  settingErrors.delete(setting.Id);
  try {
    await put(`/api/settings/${encode(setting.Id)}`, { Name: setting.Name, Value: value });
    notice = `Saved ${setting.Name}.`;
    if (setting.Name === 'InstanceTitle') await refreshInstanceTitle();
    await settings.load(() => get<Setting[]>('/api/settings'));
  } catch (e) {
    settingErrors.set(setting.Id, messageOf(e));
    state.rerender();
  }
}

function settingRow(setting: Setting) {
  const editable = can('System') && setting.Name !== 'IsAuthenticationEnabled';
  const error = settingErrors.get(setting.Id);
  const input =
    typeof setting.Value === 'boolean'
      ? html`<input type="checkbox" name="value" .checked=${setting.Value} ?disabled=${!editable} aria-label=${setting.Name}>`
      : html`<input name="value" type=${typeof setting.Value === 'number' ? 'number' : 'text'} .value=${String(setting.Value ?? '')}
               ?readonly=${!editable} aria-label=${setting.Name}>`;
  return html`
    <form class="setting" data-setting=${setting.Name} @submit=${(e: Event) => saveSetting(e, setting)}>
      <div><strong>${setting.Name}</strong><p class="hint">${setting.Description ?? ''}</p></div>
      <div class="setting-value">${input}${editable ? html`<button type="submit" class="secondary">Save</button>` : nothing}</div>
      ${error ? html`<p class="error" role="alert">${error}</p>` : nothing}
    </form>`;
}

async function saveFeed(event: Event, feed: Feed | null): Promise<void> {
  const form = formValues(event);
  const password = String(form.get('password') ?? '');
  const body: Record<string, unknown> = {
    Id: feed?.Id,
    Name: String(form.get('name')),
    Location: String(form.get('location')),
    Username: String(form.get('username') ?? '') || null,
  };
  // Write-only: absent keeps the stored password, "" clears it.
  if (form.get('clearPassword') === 'on') body.NewPassword = '';
  else if (password !== '') body.NewPassword = password;
  feedError = null;
  try {
    if (feed) await put(`/api/feeds/${encode(feed.Id)}`, body);
    else await post('/api/feeds', body);
    notice = `Saved feed ${String(body.Name)}.`;
    editingFeed = null;
    await feeds.load(() => get<Feed[]>('/api/feeds'));
  } catch (e) {
    feedError = messageOf(e);
    state.rerender();
  }
}

async function removeFeed(feed: Feed): Promise<void> {
  try {
    await del(`/api/feeds/${encode(feed.Id)}`);
    notice = `Deleted feed ${feed.Name}.`;
    confirmingDelete = null;
    await feeds.load(() => get<Feed[]>('/api/feeds'));
  } catch (e) {
    feeds.error = messageOf(e);
    state.rerender();
  }
}

function editFeed(id: string | null): void {
  editingFeed = id;
  feedError = null;
  state.rerender();
}

function feedForm(feed: Feed | null) {
  return html`
    <form class="card" @submit=${(e: Event) => saveFeed(e, feed)} aria-label=${feed ? `Edit feed ${feed.Name}` : 'New feed'}>
      <h3>${feed ? `Edit ${feed.Name}` : 'New NuGet feed'}</h3>
      <label>Name <input name="name" required .value=${feed?.Name ?? ''}></label>
      <label>Location <input name="location" required .value=${feed?.Location ?? ''} placeholder="https://…/v3/index.json"></label>
      <label>Username <input name="username" autocomplete="off" .value=${feed?.Username ?? ''}></label>
      <label>Password ${feed?.IsPasswordSet ? '(set; leave empty to keep it)' : ''}
        <input name="password" type="password" autocomplete="new-password"></label>
      ${feed?.IsPasswordSet ? html`<label class="check"><input type="checkbox" name="clearPassword"> Remove the stored password</label>` : nothing}
      ${feedError ? html`<p class="error" role="alert">${feedError}</p>` : nothing}
      <div class="actions">
        <button type="submit">${feed ? 'Save' : 'Add feed'}</button>
        <button type="button" class="secondary" @click=${() => editFeed(null)}>Cancel</button>
      </div>
    </form>`;
}

function feedsSection() {
  return html`
    <div class="heading"><h2>NuGet feeds</h2><button @click=${() => editFeed('new')} ?disabled=${editingFeed === 'new'}>Add feed</button></div>
    ${editingFeed === 'new' ? feedForm(null) : nothing}
    ${feeds.error ? html`<p class="error" role="alert">${feeds.error}</p>` : nothing}
    ${feeds.loading && !feeds.value ? html`<p class="loading">Loading feeds…</p>` : nothing}
    ${feeds.value
      ? html`<table>
          <thead><tr><th>Name</th><th>Location</th><th>Username</th><th>Password</th><th><span class="sr">Actions</span></th></tr></thead>
          <tbody>
            ${feeds.value.map((f) => html`
              <tr>
                <td>${f.Name}</td><td class="wrap">${f.Location}</td><td>${f.Username ?? ''}</td><td>${f.IsPasswordSet ? 'set' : '—'}</td>
                <td class="actions">
                  ${confirmingDelete === f.Id
                    ? html`<button class="danger" @click=${() => removeFeed(f)}>Yes, delete</button>
                           <button class="secondary" @click=${() => { confirmingDelete = null; state.rerender(); }}>No</button>`
                    : html`<button class="secondary" @click=${() => editFeed(f.Id)}>Edit</button>
                           <button class="secondary" @click=${() => { confirmingDelete = f.Id; state.rerender(); }}>Delete</button>`}
                </td>
              </tr>
              ${editingFeed === f.Id ? html`<tr><td colspan="5">${feedForm(f)}</td></tr>` : nothing}`)}
          </tbody>
        </table>`
      : nothing}`;
}

export function view() {
  return html`
    <section>
      <h1>Settings</h1>
      ${can('System') ? nothing : html`<p class="hint">Changing settings needs the System permission.</p>`}
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : nothing}
      ${settings.error ? html`<p class="error" role="alert">${settings.error}</p>` : nothing}
      ${settings.loading && !settings.value ? html`<p class="loading">Loading settings…</p>` : nothing}
      <div class="settings">${settings.value?.map(settingRow)}</div>
      ${can('System') ? feedsSection() : nothing}
    </section>`;
}
