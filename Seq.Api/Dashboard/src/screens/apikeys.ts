import { html, nothing } from 'lit';
import { del, encode, get, post, put, type ApiKey } from '../api';
import { Loadable, can, formValues, messageOf, state } from '../state';

const keys = new Loadable<ApiKey[]>();
const permissions = ['Ingest', 'Read', 'Write', 'Project', 'System', 'Organization'];
const levels = ['Verbose', 'Debug', 'Information', 'Warning', 'Error', 'Fatal'];
let editing: string | null = null;
let confirmingDelete: string | null = null;
let formError: string | null = null;
let notice: string | null = null;
// The token of the key just created: held only until the user dismisses it, never stored anywhere.
let createdToken: { title: string; token: string } | null = null;
let copied = false;

const reload = () => keys.load(() => get<ApiKey[]>('/api/apikeys'));

export function enter(): void {
  editing = null;
  confirmingDelete = null;
  notice = null;
  createdToken = null;
  void reload();
}

function appliedPropertiesOf(text: string): { Name: string; Value: string }[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const at = line.indexOf('=');
      return at < 0 ? { Name: line, Value: '' } : { Name: line.slice(0, at).trim(), Value: line.slice(at + 1).trim() };
    });
}

async function save(event: Event, key: ApiKey | null): Promise<void> {
  const form = formValues(event);
  const filter = String(form.get('filter') ?? '').trim();
  const body = {
    Id: key?.Id,
    Title: String(form.get('title')),
    AssignedPermissions: form.getAll('permissions').map(String),
    OwnerId: key ? undefined : form.get('shared') === 'on' ? null : state.session!.user.Id,
    InputSettings: {
      AppliedProperties: appliedPropertiesOf(String(form.get('appliedProperties') ?? '')),
      MinimumLevel: String(form.get('minimumLevel') ?? '') || null,
      Filter: filter ? { Filter: filter, FilterNonStrict: filter } : null,
      UseServerTimestamps: form.get('useServerTimestamps') === 'on',
    },
  };
  formError = null;
  try {
    if (key) {
      await put(`/api/apikeys/${encode(key.Id)}`, body);
      notice = `Saved ${body.Title}.`;
    } else {
      const created = await post<ApiKey>('/api/apikeys', body);
      createdToken = { title: created.Title, token: created.Token ?? '' };
      copied = false;
      notice = null;
    }
    editing = null;
    await reload();
  } catch (e) {
    formError = messageOf(e);
    state.rerender();
  }
}

async function remove(key: ApiKey): Promise<void> {
  try {
    await del(`/api/apikeys/${encode(key.Id)}`);
    notice = `Deleted ${key.Title}.`;
    confirmingDelete = null;
    await reload();
  } catch (e) {
    keys.error = messageOf(e);
    state.rerender();
  }
}

async function copyToken(): Promise<void> {
  const field = document.getElementById('new-token') as HTMLInputElement | null;
  field?.select();
  try {
    await navigator.clipboard.writeText(createdToken!.token);
    copied = true;
  } catch {
    // No clipboard outside a secure context: the token is selected for the user to copy.
    copied = false;
  }
  state.rerender();
}

function edit(id: string | null): void {
  editing = id;
  formError = null;
  notice = null;
  createdToken = null;
  state.rerender();
}

function keyForm(key: ApiKey | null) {
  const assigned = key?.AssignedPermissions ?? ['Ingest'];
  const input = key?.InputSettings;
  return html`
    <form class="card" @submit=${(e: Event) => save(e, key)} aria-label=${key ? `Edit ${key.Title}` : 'New API key'}>
      <h2>${key ? `Edit ${key.Title}` : 'New API key'}</h2>
      <label>Title <input name="title" required .value=${key?.Title ?? ''}></label>
      ${key ? nothing : html`<label class="check"><input type="checkbox" name="shared" ?disabled=${!can('Project')}> Shared key (not owned by you; needs the Project permission)</label>`}
      <fieldset>
        <legend>Permissions</legend>
        ${permissions.map((p) => html`<label class="check"><input type="checkbox" name="permissions" value=${p} .checked=${assigned.includes(p)}> ${p}</label>`)}
      </fieldset>
      <fieldset>
        <legend>Input settings</legend>
        <label>Minimum level
          <select name="minimumLevel">
            <option value="" ?selected=${!input?.MinimumLevel}>(all events)</option>
            ${levels.map((l) => html`<option value=${l} ?selected=${input?.MinimumLevel === l}>${l}</option>`)}
          </select></label>
        <label>Filter (only events that match are accepted) <input name="filter" .value=${input?.Filter?.Filter ?? ''}></label>
        <label>Applied properties (one Name=Value a line)
          <textarea name="appliedProperties" rows="3" .value=${(input?.AppliedProperties ?? []).map((p) => `${p.Name}=${String(p.Value ?? '')}`).join('\n')}></textarea></label>
        <label class="check"><input type="checkbox" name="useServerTimestamps" .checked=${input?.UseServerTimestamps ?? false}> Use server timestamps</label>
      </fieldset>
      ${formError ? html`<p class="error" role="alert">${formError}</p>` : nothing}
      <div class="actions">
        <button type="submit">${key ? 'Save' : 'Create API key'}</button>
        <button type="button" class="secondary" @click=${() => edit(null)}>Cancel</button>
      </div>
    </form>`;
}

function tokenPanel() {
  return html`
    <div class="card token" role="region" aria-label="New API key token">
      <h2>${createdToken!.title}: your new token</h2>
      <p class="warning"><strong>Copy this token now.</strong> It is shown only once: the server keeps only a hash of it and cannot show it again.</p>
      <div class="token-row">
        <input id="new-token" data-testid="new-token" readonly .value=${createdToken!.token} aria-label="Token" @focus=${(e: Event) => (e.target as HTMLInputElement).select()}>
        <button @click=${copyToken}>${copied ? 'Copied' : 'Copy'}</button>
      </div>
      <button class="secondary" @click=${() => { createdToken = null; state.rerender(); }}>I have copied it</button>
    </div>`;
}

export function view() {
  const me = state.session!.user.Id;
  const ownerOf = (k: ApiKey) => (k.OwnerId === null ? 'Shared' : k.OwnerId === me ? 'Mine' : k.OwnerId);
  return html`
    <section>
      <div class="heading"><h1>API keys</h1><button @click=${() => edit('new')} ?disabled=${editing === 'new'}>Add API key</button></div>
      ${createdToken ? tokenPanel() : nothing}
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : nothing}
      ${editing === 'new' ? keyForm(null) : nothing}
      ${keys.error ? html`<p class="error" role="alert">${keys.error}</p>` : nothing}
      ${keys.loading && !keys.value ? html`<p class="loading">Loading API keys…</p>` : nothing}
      ${keys.value && keys.value.length === 0 ? html`<p>No API keys yet.</p>` : nothing}
      ${keys.value && keys.value.length > 0
        ? html`<table>
            <thead><tr><th>Title</th><th>Token</th><th>Permissions</th><th>Owner</th><th><span class="sr">Actions</span></th></tr></thead>
            <tbody>
              ${keys.value.map((k) => html`
                <tr data-key=${k.Id}>
                  <td class="key-title">${k.Title}</td>
                  <td><code>${k.TokenPrefix}…</code></td>
                  <td>${k.AssignedPermissions.join(', ')}</td>
                  <td>${ownerOf(k)}</td>
                  <td class="actions">
                    ${confirmingDelete === k.Id
                      ? html`<span>Delete ${k.Title}?</span> <button class="danger" @click=${() => remove(k)}>Yes, delete</button>
                             <button class="secondary" @click=${() => { confirmingDelete = null; state.rerender(); }}>No</button>`
                      : html`<button class="secondary" @click=${() => edit(k.Id)}>Edit</button>
                             <button class="secondary" @click=${() => { confirmingDelete = k.Id; state.rerender(); }}>Delete</button>`}
                  </td>
                </tr>
                ${editing === k.Id ? html`<tr><td colspan="5">${keyForm(k)}</td></tr>` : nothing}`)}
            </tbody>
          </table>`
        : nothing}
    </section>`;
}
