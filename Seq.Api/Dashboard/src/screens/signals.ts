import { html, nothing } from 'lit';
import { del, encode, get, post, put, type Signal } from '../api';
import { Loadable, can, messageOf, state } from '../state';
import { filterError } from '../filter-error';

const signals = new Loadable<Signal[]>();

interface Draft {
  id: string | null;
  title: string;
  description: string;
  filters: { description: string; filter: string }[];
  shared: boolean;
  isProtected: boolean;
  original: Signal | null;
}

let draft: Draft | null = null;
let confirmingDelete: string | null = null;
let formError: string | null = null;
// The server's 400 names the filter (1-based) and the position in it; each is shown under its own filter.
let filterErrors = new Map<number, string>();
let notice: string | null = null;

const reload = () => signals.load(() => get<Signal[]>('/api/signals?shared=true'));

export function enter(): void {
  draft = null;
  confirmingDelete = null;
  notice = null;
  void reload();
}

/** What the server would allow this user to change (it checks anyway): shared needs Write, protected Project, personal its owner. */
export function changeable(signal: Signal): boolean {
  const me = state.session!.user.Id;
  if (signal.OwnerId !== null && signal.OwnerId !== me) return false;
  if (signal.OwnerId === null && !can('Write')) return false;
  return !signal.IsProtected || can('Project');
}

function open(signal: Signal | null): void {
  draft = signal
    ? {
        id: signal.Id,
        title: signal.Title,
        description: signal.Description ?? '',
        filters: signal.Filters.map((f) => ({ description: f.Description ?? '', filter: f.Filter })),
        shared: signal.OwnerId === null,
        isProtected: signal.IsProtected,
        original: signal,
      }
    : { id: null, title: '', description: '', filters: [{ description: '', filter: '' }], shared: can('Write'), isProtected: false, original: null };
  formError = null;
  filterErrors = new Map();
  notice = null;
  confirmingDelete = null;
  state.rerender();
}

function close(): void {
  draft = null;
  state.rerender();
}

/** Splits the server's message into the part for each filter ("Filter 2 of the signal: …") and the rest. */
function distribute(message: string): void {
  filterErrors = new Map();
  const rest: string[] = [];
  for (const part of message.split(/(?=Filter \d+ of the signal)/)) {
    const match = /^Filter (\d+) of the signal(?:: | )(.*)$/s.exec(part.trim());
    if (match) filterErrors.set(Number(match[1]), match[2].startsWith('has no Filter') ? 'This filter is empty.' : match[2]);
    else if (part.trim() !== '') rest.push(part.trim());
  }
  formError = rest.length > 0 ? rest.join(' ') : null;
}

async function save(event: Event): Promise<void> {
  event.preventDefault();
  const d = draft!;
  const original = d.original;
  const body = {
    Id: d.id ?? undefined,
    Title: d.title,
    Description: d.description === '' ? null : d.description,
    Filters: d.filters.map((f) => ({ Description: f.description === '' ? null : f.description, DescriptionIsExcluded: false, Filter: f.filter, FilterNonStrict: f.filter })),
    Columns: original?.Columns ?? [],
    Grouping: original?.Grouping ?? 'Inferred',
    ExplicitGroupName: original?.ExplicitGroupName ?? null,
    IsProtected: d.isProtected,
    IsIndexSuppressed: original?.IsIndexSuppressed ?? false,
    OwnerId: d.id ? undefined : d.shared ? null : state.session!.user.Id,
  };
  formError = null;
  filterErrors = new Map();
  try {
    if (d.id) await put(`/api/signals/${encode(d.id)}`, body);
    else await post('/api/signals', body);
    notice = d.id ? `Saved ${d.title}.` : `Created ${d.title}.`;
    draft = null;
    await reload();
  } catch (e) {
    distribute(messageOf(e));
    state.rerender();
  }
}

async function remove(signal: Signal): Promise<void> {
  try {
    await del(`/api/signals/${encode(signal.Id)}`);
    notice = `Deleted ${signal.Title}.`;
    confirmingDelete = null;
    await reload();
  } catch (e) {
    signals.error = messageOf(e);
    state.rerender();
  }
}

const value = (e: Event) => (e.target as HTMLInputElement).value;

function signalForm() {
  const d = draft!;
  const label = d.id ? `Edit ${d.original!.Title}` : 'New signal';
  return html`
    <form class="card" @submit=${save} aria-label=${label}>
      <h2>${label}</h2>
      <label>Title <input name="title" required .value=${d.title} @input=${(e: Event) => (d.title = value(e))}></label>
      <label>Description <input name="description" .value=${d.description} @input=${(e: Event) => (d.description = value(e))}></label>
      <fieldset>
        <legend>Filters (an event is in the signal when it matches all of them)</legend>
        ${d.filters.map((f, i) => html`
          <div class="filter-row" data-filter=${i + 1}>
            <label>Filter ${i + 1} <input class="code" name="filter" .value=${f.filter} @input=${(e: Event) => (f.filter = value(e))}
              aria-invalid=${filterErrors.has(i + 1) ? 'true' : 'false'}></label>
            <label>Description of filter ${i + 1} <input name="filterDescription" .value=${f.description} @input=${(e: Event) => (f.description = value(e))}></label>
            ${filterErrors.has(i + 1) ? filterError(f.filter, filterErrors.get(i + 1)!, `filter-error-${i + 1}`) : nothing}
            <button type="button" class="secondary" @click=${() => { d.filters.splice(i, 1); filterErrors = new Map(); state.rerender(); }}>Remove filter ${i + 1}</button>
          </div>`)}
        <button type="button" class="secondary" @click=${() => { d.filters.push({ description: '', filter: '' }); state.rerender(); }}>Add filter</button>
      </fieldset>
      ${d.id
        ? html`<p class="hint">${d.shared ? 'Shared with everyone.' : 'Personal: only you see it.'}</p>`
        : html`<fieldset>
            <legend>Who sees it</legend>
            <label class="check"><input type="radio" name="owner" value="shared" .checked=${d.shared} ?disabled=${!can('Write')}
              @change=${() => { d.shared = true; state.rerender(); }}> Shared with everyone${can('Write') ? '' : ' (needs the Write permission)'}</label>
            <label class="check"><input type="radio" name="owner" value="personal" .checked=${!d.shared}
              @change=${() => { d.shared = false; state.rerender(); }}> Personal (only you)</label>
          </fieldset>`}
      <label class="check"><input type="checkbox" name="protected" .checked=${d.isProtected} ?disabled=${!can('Project')}
        @change=${(e: Event) => (d.isProtected = (e.target as HTMLInputElement).checked)}> Protected (only users with the Project permission may change it)</label>
      ${formError ? html`<p class="error" role="alert" data-testid="signal-error">${formError}</p>` : nothing}
      <div class="actions">
        <button type="submit">${d.id ? 'Save' : 'Create signal'}</button>
        <button type="button" class="secondary" @click=${close}>Cancel</button>
      </div>
    </form>`;
}

export function view() {
  const me = state.session!.user.Id;
  const ownerOf = (s: Signal) => (s.OwnerId === null ? 'Shared' : s.OwnerId === me ? 'Mine' : s.OwnerId);
  return html`
    <section>
      <div class="heading"><h1>Signals</h1><button @click=${() => open(null)} ?disabled=${draft !== null && draft.id === null}>Add signal</button></div>
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : nothing}
      ${draft && draft.id === null ? signalForm() : nothing}
      ${signals.error ? html`<p class="error" role="alert">${signals.error}</p>` : nothing}
      ${signals.loading && !signals.value ? html`<p class="loading">Loading signals…</p>` : nothing}
      ${signals.value && signals.value.length === 0 ? html`<p>No signals yet.</p>` : nothing}
      ${signals.value && signals.value.length > 0
        ? html`<table>
            <thead><tr><th>Title</th><th>Filters</th><th>Owner</th><th><span class="sr">Actions</span></th></tr></thead>
            <tbody>
              ${signals.value.map((s) => html`
                <tr data-signal=${s.Id}>
                  <td><span class="signal-title">${s.Title}</span>${s.IsProtected ? html` <span class="tag">protected</span>` : nothing}
                    ${s.Description ? html`<p class="hint">${s.Description}</p>` : nothing}</td>
                  <td>${s.Filters.map((f) => html`<code class="filter">${f.Filter}</code> `)}</td>
                  <td>${ownerOf(s)}</td>
                  <td class="actions">
                    ${!changeable(s)
                      ? nothing
                      : confirmingDelete === s.Id
                        ? html`<span>Delete ${s.Title}?</span> <button class="danger" @click=${() => remove(s)}>Yes, delete</button>
                               <button class="secondary" @click=${() => { confirmingDelete = null; state.rerender(); }}>No</button>`
                        : html`<button class="secondary" @click=${() => open(s)}>Edit</button>
                               <button class="secondary" @click=${() => { confirmingDelete = s.Id; state.rerender(); }}>Delete</button>`}
                  </td>
                </tr>
                ${draft?.id === s.Id ? html`<tr><td colspan="4">${signalForm()}</td></tr>` : nothing}`)}
            </tbody>
          </table>`
        : nothing}
    </section>`;
}
