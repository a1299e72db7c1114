/**
 * Backup and restore (admin): download one JSON document (config text, users and tokens,
 * hashed), and upload such a document back, previewed first with ?dryRun=true.
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { get, post } from '../lib/api.js';
import { DiffView } from '../components/diff-view.js';
import { Dialog } from '../components/dialog.js';
import { ErrorBox, PageHeading, roleReason } from '../components/ui.js';

export function BackupPage({ session, announce, reloadStatus }) {
  const [error, setError] = useState(null);
  const [pending, setPending] = useState(null);
  const [busy, setBusy] = useState(false);
  const cannot = roleReason(session, 'admin');
  if (cannot) return html`<${PageHeading} title="Backup and restore" /><p>${cannot}</p>`;

  const download = async () => {
    setError(null);
    try {
      const { body } = await get('/backup');
      const blob = new Blob([JSON.stringify(body, null, 2)], { type: 'application/json' });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `fulcrum-backup-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.json`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      announce('Backup downloaded.');
    } catch (e) {
      setError(e);
    }
  };
  const choose = async (event) => {
    setError(null);
    const file = event.currentTarget.files?.[0];
    event.currentTarget.value = '';
    if (!file) return;
    let doc;
    try {
      doc = JSON.parse(await file.text());
    } catch (e) {
      setError({ message: `${file.name} is not a JSON backup (${e.message})` });
      return;
    }
    try {
      const { body } = await post('/restore', doc, { query: { dryRun: 'true' } });
      setPending({ doc, name: file.name, preview: body });
    } catch (e) {
      setError(e);
    }
  };
  const restore = async () => {
    setBusy(true);
    try {
      await post('/restore', pending.doc);
      announce(`Backup ${pending.name} restored.`);
      setPending(null);
      reloadStatus?.();
    } catch (e) {
      setPending(null);
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <${PageHeading} title="Backup and restore" />
    <${ErrorBox} error=${error} title="Backup or restore failed" />
    <section class="card" aria-labelledby="backup-h">
      <h2 id="backup-h">Back up</h2>
      <p>One JSON file: the config file's text, the users and the API tokens (password and token hashes only, never secrets). Keep it somewhere safe: the hashes still deserve protection.</p>
      <button type="button" onClick=${download}>Download backup</button>
    </section>
    <section class="card" aria-labelledby="restore-h">
      <h2 id="restore-h">Restore</h2>
      <p>The config is validated and applied like any change (and becomes a new version); users and tokens are replaced. You see the config diff before anything changes.</p>
      <label for="restore-file">Backup file</label>
      <input id="restore-file" type="file" accept="application/json,.json" onChange=${choose} />
    </section>
    ${pending
      ? html`<${Dialog} title=${`Restore ${pending.name}?`} wide=${true} onClose=${() => setPending(null)}>
          <p>The config would change as follows; users and tokens are replaced by the backup's.</p>
          <${DiffView} diff=${pending.preview?.diff ?? ''} label="What the restore changes in the config" />
          <div class="dialog-buttons">
            <button type="button" class="danger" onClick=${restore} disabled=${busy}>${busy ? 'Restoring…' : 'Restore'}</button>
            <button type="button" class="secondary" onClick=${() => setPending(null)}>Cancel</button>
          </div>
        <//>`
      : null}
  `;
}
