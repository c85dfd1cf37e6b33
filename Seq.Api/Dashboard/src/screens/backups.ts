import { html, nothing } from 'lit';
import { encode, get, post, type Backup } from '../api';
import { Loadable, messageOf, state } from '../state';

const backups = new Loadable<Backup[]>();
let creating = false;
let notice: string | null = null;
let createError: string | null = null;

const reload = () => backups.load(() => get<Backup[]>('/api/backups'));

export function enter(): void {
  notice = null;
  createError = null;
  void reload();
}

async function createNow(): Promise<void> {
  creating = true;
  notice = null;
  createError = null;
  state.rerender();
  try {
    const created = await post<Backup>('/api/backups/immediate', {});
    notice = `Created ${created.Filename}.`;
    await reload();
  } catch (e) {
    createError = messageOf(e);
  } finally {
    creating = false;
    state.rerender();
  }
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function view() {
  return html`
    <section>
      <div class="heading"><h1>Backups</h1><button @click=${createNow} ?disabled=${creating}>${creating ? 'Backing up…' : 'Back up now'}</button></div>
      <p class="hint">Encrypted backups of the server's metadata (users, API keys, signals, settings, feeds; not log events), made daily and on demand. Restoring one needs the server's secret key.</p>
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : nothing}
      ${createError ? html`<p class="error" role="alert">${createError}</p>` : nothing}
      ${backups.error ? html`<p class="error" role="alert">${backups.error}</p>` : nothing}
      ${backups.loading && !backups.value ? html`<p class="loading">Loading backups…</p>` : nothing}
      ${backups.value && backups.value.length === 0 ? html`<p>No backups yet.</p>` : nothing}
      ${backups.value && backups.value.length > 0
        ? html`<table>
            <thead><tr><th>Created</th><th>File</th><th>Size</th><th><span class="sr">Actions</span></th></tr></thead>
            <tbody>
              ${backups.value.map((b) => html`
                <tr data-backup=${b.Id}>
                  <td><time datetime=${b.CreatedAt}>${new Date(b.CreatedAt).toLocaleString()}</time></td>
                  <td><code>${b.Filename}</code></td>
                  <td>${size(b.FileSizeBytes)}</td>
                  <td class="actions"><a class="button secondary" href=${`/api/backups/${encode(b.Id)}/download`} download=${b.Filename}>Download</a></td>
                </tr>`)}
            </tbody>
          </table>`
        : nothing}
    </section>`;
}
