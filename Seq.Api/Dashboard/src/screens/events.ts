import { html, nothing } from 'lit';
import { ApiError, encode, get, type LogEvent, type Signal } from '../api';
import { Loadable, messageOf, state } from '../state';
import { filterError } from '../filter-error';

export const pageSize = 30;

const signals = new Loadable<Signal[]>();
// The search survives leaving the screen and a lost session: signing in again returns to the same search.
let filterText = '';
let applied = '';
const selected = new Set<string>();
let events: LogEvent[] = [];
let searched = false;
let loading = false;
let exhausted = false;
let searchError: string | null = null;
let searchErrorFilter = '';
const expanded = new Set<string>();
// Only the newest search may show its results (an older, slower one is dropped).
let generation = 0;

export function enter(): void {
  void signals.load(() => get<Signal[]>('/api/signals?shared=true'));
  void search(false);
}

function queryOf(afterId: string | null): string {
  const parts = [`count=${pageSize}`];
  if (applied.trim() !== '') parts.push(`filter=${encode(applied)}`);
  if (selected.size > 0) parts.push(`signal=${encode([...selected].join(','))}`);
  if (afterId) parts.push(`afterId=${encode(afterId)}`);
  return parts.join('&');
}

/** The first page (newest first), or the next one after the last event shown. */
async function search(more: boolean): Promise<void> {
  const mine = ++generation;
  loading = true;
  searchError = null;
  if (!more) expanded.clear();
  state.rerender();
  try {
    const page = await get<LogEvent[]>(`/api/events?${queryOf(more ? events[events.length - 1]?.Id ?? null : null)}`);
    if (mine !== generation) return;
    events = more ? [...events, ...page] : page;
    exhausted = page.length < pageSize;
    searched = true;
  } catch (e) {
    if (mine !== generation) return;
    searchError = messageOf(e);
    searchErrorFilter = e instanceof ApiError && e.status === 400 ? applied : '';
    if (!more && !(e instanceof ApiError && e.status === 401)) events = [];
  } finally {
    if (mine === generation) {
      loading = false;
      state.rerender();
    }
  }
}

function submit(event: Event): void {
  event.preventDefault();
  applied = filterText;
  void search(false);
}

function toggleSignal(id: string): void {
  if (selected.has(id)) selected.delete(id);
  else selected.add(id);
  void search(false);
}

function toggle(id: string): void {
  if (expanded.has(id)) expanded.delete(id);
  else expanded.add(id);
  state.rerender();
}

const shown = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

function eventRow(e: LogEvent) {
  const open = expanded.has(e.Id);
  const level = e.Level ?? 'Information';
  return html`
    <li class="event" data-event=${e.Id}>
      <button class="event-summary" aria-expanded=${open ? 'true' : 'false'} @click=${() => toggle(e.Id)}>
        <time datetime=${e.Timestamp}>${e.Timestamp.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>
        <span class="level level-${level.toLowerCase().replace(/[^a-z]/g, '')}">${level}</span>
        <span class="message">${e.RenderedMessage ?? e.MessageTemplate ?? ''}</span>
      </button>
      ${open
        ? html`<div class="event-detail">
            <table class="properties" aria-label="Properties">
              <tbody>
                ${e.Properties.map((p) => html`<tr data-property=${p.Name}><th scope="row">${p.Name}</th><td class="property-value">${shown(p.Value)}</td></tr>`)}
                ${e.TraceId ? html`<tr><th scope="row">@TraceId</th><td>${e.TraceId}</td></tr>` : nothing}
                ${e.SpanId ? html`<tr><th scope="row">@SpanId</th><td>${e.SpanId}</td></tr>` : nothing}
                <tr><th scope="row">Id</th><td><code>${e.Id}</code></td></tr>
              </tbody>
            </table>
            ${e.Exception ? html`<pre class="report exception">${e.Exception}</pre>` : nothing}
          </div>`
        : nothing}
    </li>`;
}

export function view() {
  return html`
    <section>
      <h1>Events</h1>
      <form class="search" role="search" @submit=${submit}>
        <label class="sr" for="filter">Filter</label>
        <input id="filter" class="code" name="filter" placeholder="Filter, such as @Level = 'Error' or free text" .value=${filterText}
          @input=${(e: Event) => (filterText = (e.target as HTMLInputElement).value)} aria-invalid=${searchError && searchErrorFilter !== '' ? 'true' : 'false'}>
        <button type="submit">Search</button>
      </form>
      ${searchError ? (searchErrorFilter !== '' ? filterError(searchErrorFilter, searchError) : html`<p class="error" role="alert">${searchError}</p>`) : nothing}
      ${signals.value && signals.value.length > 0
        ? html`<div class="signals" role="group" aria-label="Signals">
            ${signals.value.map((s) => html`<button type="button" class="toggle" data-signal=${s.Id} aria-pressed=${selected.has(s.Id) ? 'true' : 'false'}
              @click=${() => toggleSignal(s.Id)}>${s.Title}</button>`)}
          </div>`
        : nothing}
      ${signals.error ? html`<p class="error" role="alert">${signals.error}</p>` : nothing}
      ${searched && events.length === 0 && !loading ? html`<p data-testid="no-events">No events match.</p>` : nothing}
      <ol class="events" aria-label="Events, newest first">${events.map(eventRow)}</ol>
      ${loading ? html`<p class="loading" role="status">Searching…</p>` : nothing}
      ${searched && !exhausted && !loading && events.length > 0
        ? html`<button class="secondary" @click=${() => search(true)}>Load more</button>`
        : nothing}
      ${searched && exhausted && events.length > 0 ? html`<p class="hint" data-testid="end-of-events">No more events.</p>` : nothing}
    </section>`;
}
