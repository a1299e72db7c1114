/**
 * Certificates in service (GET /api/v1/certificates; falls back to the status document's
 * per-service certificates): names, issuer, expiry in days with warnings, and upload (admin).
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { del, get, post, seg } from '../lib/api.js';
import { daysLeft, expiryText, formatTime } from '../lib/format.js';
import { usePoll } from '../components/hooks.js';
import { Badge, ErrorBox, Loading, PageHeading, roleReason } from '../components/ui.js';
import { ConfirmDialog } from '../components/dialog.js';

/** Expiring within 14 days is a warning (the same threshold as the server's), expired an error. */
function expiryTone(notAfter) {
  const days = daysLeft(notAfter);
  if (days === null) return 'off';
  if (days < 0) return 'down';
  if (days < 14) return 'drain';
  return 'up';
}

function UploadForm({ onDone, announce }) {
  const [name, setName] = useState('');
  const [cert, setCert] = useState('');
  const [key, setKey] = useState('');
  const [error, setError] = useState(null);
  const readFile = (setter) => async (e) => {
    const file = e.currentTarget.files?.[0];
    if (file) setter(await file.text());
  };
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      await post('/certificates', { name, cert, key });
      announce(`Certificate ${name} uploaded.`);
      setName('');
      setCert('');
      setKey('');
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="card" onSubmit=${submit}>
    <h2>Upload a certificate</h2>
    <${ErrorBox} error=${error} title="Not uploaded" />
    <div class="field"><label for="cert-name">Name</label>
      <input id="cert-name" required value=${name} onInput=${(e) => setName(e.currentTarget.value)} aria-describedby="cert-name-help" />
      <p class="help" id="cert-name-help">The file name stem in the state folder (letters, digits, ".", "_", "-").</p></div>
    <div class="field"><label for="cert-pem">Certificate chain (PEM, leaf first)</label>
      <textarea id="cert-pem" rows="4" required value=${cert} onInput=${(e) => setCert(e.currentTarget.value)}></textarea>
      <label for="cert-file">or read it from a file</label><input id="cert-file" type="file" accept=".pem,.crt,.cer" onChange=${readFile(setCert)} /></div>
    <div class="field"><label for="key-pem">Private key (PEM)</label>
      <textarea id="key-pem" rows="4" required value=${key} onInput=${(e) => setKey(e.currentTarget.value)}></textarea>
      <label for="key-file">or read it from a file</label><input id="key-file" type="file" accept=".pem,.key" onChange=${readFile(setKey)} /></div>
    <button type="submit">Upload</button>
  </form>`;
}

/**
 * One row per certificate, from either answer shape: the documented list of Certificate, or
 * {inService: [{virtualService, ...status}], uploaded: [{name, usedBy, ...}]} (what the handler answers).
 */
function certificateRows(body) {
  if (Array.isArray(body)) return body;
  if (!body || typeof body !== 'object') return [];
  const base = (file) => String(file ?? '').split('/').pop();
  const inService = (body.inService ?? []).map((c) => ({ ...c, name: c.name ?? base(c.certFile), usedBy: c.usedBy ?? (c.virtualService ? [c.virtualService] : []) }));
  const uploaded = (body.uploaded ?? []).filter((u) => !inService.some((c) => c.certFile === u.certFile)).map((u) => ({ names: [], issuer: '', ...u, warnings: [...(u.warnings ?? []), ...(u.problems ?? [])] }));
  return [...inService, ...uploaded];
}

export function CertificatesPage({ session, status, announce }) {
  const list = usePoll(() => get('/certificates').then((r) => certificateRows(r.body)), 30_000, []);
  const [removing, setRemoving] = useState(null);
  const [error, setError] = useState(null);
  const adminReason = roleReason(session, 'admin');
  // Before the certificates route existed the status document was the only source.
  const fromStatus = (status?.virtualServices ?? []).flatMap((v) => (v.certificates ?? []).map((c) => ({ ...c, name: c.certFile, usedBy: [v.name] })));
  const certs = list.data ?? (list.error ? fromStatus : null);
  const remove = async () => {
    const name = removing;
    setRemoving(null);
    try {
      await del(`/certificates/${seg(name)}`);
      announce(`Certificate ${name} removed.`);
      list.reload();
    } catch (e) {
      setError(e);
    }
  };
  return html`
    <${PageHeading} title="Certificates" />
    <${ErrorBox} error=${error} title="Not removed" />
    ${certs === null
      ? html`<${Loading} />`
      : certs.length === 0
        ? html`<p class="muted">No certificate in service.</p>`
        : html`<table>
            <thead><tr><th scope="col">Certificate</th><th scope="col">Names</th><th scope="col">Issuer</th><th scope="col">Expires</th><th scope="col">Used by</th><th scope="col">Warnings</th>${adminReason ? null : html`<th scope="col">Actions</th>`}</tr></thead>
            <tbody>
              ${certs.map(
                (c) => html`<tr>
                  <th scope="row">${c.name}<br /><span class="muted small">${c.keyType}</span></th>
                  <td>${(c.names ?? []).join(', ')}</td>
                  <td>${c.issuer}</td>
                  <td>${c.notAfter ? html`<${Badge} tone=${expiryTone(c.notAfter)}>${expiryText(c.notAfter)}<//><br /><span class="muted small">${formatTime(c.notAfter)}</span>` : html`<span class="muted">unknown</span>`}</td>
                  <td>${(c.usedBy ?? []).join(', ') || html`<span class="muted">nothing</span>`}</td>
                  <td>${(c.warnings ?? []).length ? html`<ul class="plain">${c.warnings.map((w) => html`<li>${w}</li>`)}</ul>` : html`<span class="muted">none</span>`}</td>
                  ${adminReason ? null : html`<td><button type="button" class="small danger" onClick=${() => setRemoving(c.name)}>Remove<span class="sr-only"> ${c.name}</span></button></td>`}
                </tr>`,
              )}
            </tbody>
          </table>`}
    ${removing ? html`<${ConfirmDialog} title=${`Remove certificate ${removing}?`} confirmLabel="Remove" onConfirm=${remove} onCancel=${() => setRemoving(null)}><p>The server refuses while a virtual service still serves it.</p><//>` : null}
    ${adminReason ? null : html`<${UploadForm} onDone=${list.reload} announce=${announce} />`}
  `;
}
