/**
 * The audit log (admin): who, when, from where, what, and the config diff of each change; every
 * login and failed login. Newest first, 100 at a time, "Older" pages with ?before=.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { get } from '../lib/api.js';
import { formatTime, timeAgo } from '../lib/format.js';
import { DiffView } from '../components/diff-view.js';
import { Badge, ErrorBox, Loading, PageHeading, roleReason } from '../components/ui.js';

const TONE = { ok: 'up', failed: 'down', denied: 'drain' };

export function AuditPage({ session }) {
  const [entries, setEntries] = useState(null);
  const [error, setError] = useState(null);
  const [more, setMore] = useState(false);
  const cannot = roleReason(session, 'admin');
  const load = async (before) => {
    try {
      const { body } = await get('/audit', { limit: '100', before });
      setEntries((old) => (before ? [...(old ?? []), ...body] : body));
      setMore(body.length === 100);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    if (!cannot) load();
  }, []);
  if (cannot) return html`<${PageHeading} title="Audit log" /><p>${cannot}</p>`;
  return html`
    <${PageHeading} title="Audit log"><button type="button" class="secondary" onClick=${() => load()}>Refresh</button><//>
    <${ErrorBox} error=${error} />
    ${entries === null && !error
      ? html`<${Loading} />`
      : html`<table class="audit">
          <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">From</th><th scope="col">What</th><th scope="col">Target</th><th scope="col">Outcome</th></tr></thead>
          <tbody>
            ${(entries ?? []).map(
              (e) => html`<tr>
                <td><span title=${formatTime(e.at)}>${timeAgo(e.at)}</span></td>
                <td>${e.user ?? html`<span class="muted">unknown</span>`}</td>
                <td><code>${e.address}</code></td>
                <td>${e.action}${e.diff ? html`<details><summary>diff</summary><${DiffView} diff=${e.diff} label=${`Diff of ${e.action} ${e.target ?? ''}`} /></details>` : null}</td>
                <td>${e.target ?? ''}</td>
                <td><${Badge} tone=${TONE[e.outcome] ?? 'off'}>${e.outcome}<//></td>
              </tr>`,
            )}
          </tbody>
        </table>
        ${more ? html`<button type="button" class="secondary" onClick=${() => load(entries[entries.length - 1].id)}>Older entries</button>` : null}`}
  `;
}
