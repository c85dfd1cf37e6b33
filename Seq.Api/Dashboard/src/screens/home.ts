import { html } from 'lit';
import { can, state } from '../state';

export function enter(): void {}

export function view() {
  const user = state.session!.user;
  return html`
    <section>
      <h1>Overview</h1>
      <p>Signed in as <strong>${user.DisplayName || user.Username}</strong> (${user.Username}).</p>
      <ul class="tiles">
        ${can('Read') ? html`<li><a href="#/events">Events</a><span>Search the events sent to this server.</span></li>` : ''}
        ${can('Read') ? html`<li><a href="#/signals">Signals</a><span>Saved filters, shared or your own.</span></li>` : ''}
        ${can('Organization') ? html`<li><a href="#/users">Users</a><span>Who can sign in, and their roles.</span></li>` : ''}
        ${can('Write') ? html`<li><a href="#/apikeys">API keys</a><span>Keys for scripts, apps and log shippers.</span></li>` : ''}
        ${can('Read') ? html`<li><a href="#/settings">Settings</a><span>The instance's settings${can('System') ? ' and NuGet feeds' : ''}.</span></li>` : ''}
        ${can('System') ? html`<li><a href="#/backups">Backups</a><span>Make, list and download encrypted backups.</span></li>` : ''}
        ${can('Read') ? html`<li><a href="#/diagnostics">Diagnostics</a><span>Health, auditing and the diagnostics report.</span></li>` : ''}
        <li><a href="#/account">My account</a><span>Change your password.</span></li>
      </ul>
    </section>`;
}
