/**
 * Config versions (newest first) with restore: View shows what restoring a version would change
 * against the running config; Restore previews the same change with ?dryRun=true, then applies
 * it like any other change (validated, applied to every worker, saved as a new version).
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { get, post, request, seg } from '../lib/api.js';
import { formatTime, timeAgo } from '../lib/format.js';
import { lineDiff } from '../lib/diff.js';
import { usePoll } from '../components/hooks.js';
import { DiffView } from '../components/diff-view.js';
import { Dialog } from '../components/dialog.js';
import { ErrorBox, Loading, PageHeading, roleReason } from '../components/ui.js';

export function VersionsPage({ session, announce, reloadStatus }) {
  const versions = usePoll(() => get('/config/versions').then((r) => r.body), 0, []);
  const [shown, setShown] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const adminReason = roleReason(session, 'admin');

  const view = async (v) => {
    setError(null);
    try {
      const [version, current] = await Promise.all([get(`/config/versions/${seg(v.id)}`), request('GET', '/config', { query: { format: 'yaml' } })]);
      const currentText = typeof current.body === 'string' ? current.body : JSON.stringify(current.body, null, 2);
      setShown({ version: v, lines: lineDiff(currentText, version.body.text), restoring: false });
    } catch (e) {
      setError(e);
    }
  };
  const previewRestore = async (v) => {
    setError(null);
    try {
      const { body } = await post(`/config/versions/${seg(v.id)}/restore`, undefined, { query: { dryRun: 'true' } });
      setShown({ version: v, diff: body.diff, changed: body.changed, restoring: true });
    } catch (e) {
      setError(e);
    }
  };
  const restore = async () => {
    const v = shown.version;
    setBusy(true);
    try {
      await post(`/config/versions/${seg(v.id)}/restore`);
      setShown(null);
      announce(`Version ${v.id} restored.`);
      versions.reload();
      reloadStatus?.();
    } catch (e) {
      setShown(null);
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return html`
    <${PageHeading} title="Config versions" />
    <p class="muted">Every change to the config is kept as a version (at least the last 20). Restoring one is itself a change: validated, applied, audited, and undoable.</p>
    <${ErrorBox} error=${error} title="Not restored" />
    ${versions.error ? html`<${ErrorBox} error=${versions.error} />` : null}
    ${versions.data === null && !versions.error
      ? html`<${Loading} />`
      : html`<table class="versions">
          <thead><tr><th scope="col">Version</th><th scope="col">When</th><th scope="col">Who</th><th scope="col">Source</th><th scope="col">Summary</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            ${(versions.data ?? []).map(
              (v, i) => html`<tr data-version=${v.id}>
                <th scope="row"><code>${v.id}</code>${i === 0 ? html` <span class="muted small">(current)</span>` : null}</th>
                <td><span title=${formatTime(v.createdAt)}>${timeAgo(v.createdAt)}</span></td>
                <td>${v.user ?? html`<span class="muted">file edit</span>`}</td>
                <td>${v.source}</td>
                <td>${v.summary}</td>
                <td class="actions">
                  <button type="button" class="small secondary" onClick=${() => view(v)}>View diff<span class="sr-only"> of version ${v.id}</span></button>
                  ${adminReason || i === 0
                    ? null
                    : html` <button type="button" class="small" onClick=${() => previewRestore(v)}>Restore<span class="sr-only"> version ${v.id}</span></button>`}
                </td>
              </tr>`,
            )}
          </tbody>
        </table>`}
    ${shown
      ? html`<${Dialog} title=${shown.restoring ? `Restore version ${shown.version.id}?` : `Version ${shown.version.id} against the running config`} wide=${true} onClose=${() => setShown(null)}>
          <p>${shown.restoring ? 'Restoring makes these changes to the running config:' : 'Lines marked - are in the running config, lines marked + in this version.'}</p>
          ${shown.restoring ? html`<${DiffView} diff=${shown.diff} label="What restoring changes" />` : html`<${DiffView} lines=${shown.lines} label="Version against the running config" />`}
          <div class="dialog-buttons">
            ${shown.restoring ? html`<button type="button" onClick=${restore} disabled=${busy || shown.changed === false}>${busy ? 'Restoring…' : 'Restore'}</button>` : null}
            <button type="button" class="secondary" onClick=${() => setShown(null)}>Close</button>
          </div>
        <//>`
      : null}
  `;
}
