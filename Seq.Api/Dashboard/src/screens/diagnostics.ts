import { html, nothing } from 'lit';
import { get } from '../api';
import { Loadable, can } from '../state';

interface Health { Status?: string; Error?: string; Database: string; Audit: string; AuditProblem: string | null }
interface Status { StatusMessages: { Level: string; Message: string }[] }

const health = new Loadable<Health>();
const status = new Loadable<Status>();
const report = new Loadable<string>();

async function readHealth(): Promise<Health> {
  // 503 is an answer too (the database does not answer): its body says what is wrong.
  const response = await fetch('/health', { cache: 'no-store', headers: { Accept: 'application/json' } });
  return (await response.json()) as Health;
}

export function enter(): void {
  void health.load(readHealth);
  void status.load(() => get<Status>('/api/diagnostics/status'));
  if (can('System')) void report.load(() => get<string>('/api/diagnostics/report'));
}

export function view() {
  const h = health.value;
  return html`
    <section>
      <div class="heading"><h1>Diagnostics</h1><button class="secondary" @click=${enter}>Refresh</button></div>
      <h2>Health</h2>
      ${health.error ? html`<p class="error" role="alert">${health.error}</p>` : nothing}
      ${health.loading && !h ? html`<p class="loading">Checking…</p>` : nothing}
      ${h
        ? html`<dl class="facts" data-testid="health">
            <dt>Status</dt><dd class=${h.Error ? 'bad' : 'good'}>${h.Status ?? h.Error}</dd>
            <dt>Database</dt><dd class=${h.Database === 'Available' ? 'good' : 'bad'}>${h.Database}</dd>
            <dt>Auditing</dt><dd class=${h.Audit === 'Unavailable' ? 'bad' : ''}>${h.Audit === 'Disabled' ? 'Not enabled' : h.Audit}</dd>
            ${h.AuditProblem ? html`<dt>Audit problem</dt><dd class="bad">${h.AuditProblem}</dd>` : nothing}
          </dl>`
        : nothing}
      <h2>Status messages</h2>
      ${status.error ? html`<p class="error" role="alert">${status.error}</p>` : nothing}
      ${status.value && status.value.StatusMessages.length === 0 ? html`<p>Nothing to report.</p>` : nothing}
      <ul class="messages">${status.value?.StatusMessages.map((m) => html`<li class=${m.Level.toLowerCase()}><strong>${m.Level}</strong> ${m.Message}</li>`)}</ul>
      ${can('System')
        ? html`<h2>Diagnostics report</h2>
            ${report.error ? html`<p class="error" role="alert">${report.error}</p>` : nothing}
            ${report.loading && !report.value ? html`<p class="loading">Loading the report…</p>` : nothing}
            ${report.value ? html`<pre class="report" data-testid="report">${report.value}</pre>` : nothing}`
        : nothing}
    </section>`;
}
