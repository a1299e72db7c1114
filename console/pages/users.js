/**
 * Users and API tokens. An admin creates users and removes them; anyone creates tokens of at
 * most their own role. A new token's secret is shown once, with a copy button, and never again
 * (the server keeps only its hash).
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { del, get, post, seg } from '../lib/api.js';
import { formatTime, timeAgo } from '../lib/format.js';
import { usePoll } from '../components/hooks.js';
import { ConfirmDialog, Dialog } from '../components/dialog.js';
import { ErrorBox, Loading, PageHeading, roleReason } from '../components/ui.js';

const ROLES = ['viewer', 'operator', 'admin'];
const RANK = { viewer: 0, operator: 1, admin: 2 };

function RoleSelect({ id, value, onChange, max }) {
  return html`<select id=${id} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
    ${ROLES.filter((r) => RANK[r] <= RANK[max]).map((r) => html`<option value=${r} selected=${r === value}>${r}</option>`)}
  </select>`;
}

function NewUser({ onDone, announce }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      await post('/users', { name, role, password });
      announce(`User ${name} created.`);
      setName('');
      setPassword('');
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="card inline-form" onSubmit=${submit}>
    <h3>New user</h3>
    <${ErrorBox} error=${error} title="Not created" />
    <div class="field"><label for="user-name">Name</label><input id="user-name" required autocomplete="off" value=${name} onInput=${(e) => setName(e.currentTarget.value)} /></div>
    <div class="field"><label for="user-role">Role</label><${RoleSelect} id="user-role" value=${role} onChange=${setRole} max="admin" /></div>
    <div class="field"><label for="user-password">Password</label><input id="user-password" type="password" autocomplete="new-password" minlength="8" required value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} aria-describedby="user-password-help" />
      <p class="help" id="user-password-help">At least 8 characters; stored as a scrypt hash.</p></div>
    <button type="submit">Create user</button>
  </form>`;
}

function NewToken({ session, onCreated }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState(session.role === 'admin' ? 'operator' : session.role);
  const [expiresIn, setExpiresIn] = useState('30d');
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      const { body } = await post('/tokens', { name, role, expiresIn });
      setName('');
      onCreated(body);
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="card inline-form" onSubmit=${submit}>
    <h3>New API token</h3>
    <${ErrorBox} error=${error} title="Not created" />
    <div class="field"><label for="token-name">What it is for</label><input id="token-name" required autocomplete="off" placeholder="deploy script" value=${name} onInput=${(e) => setName(e.currentTarget.value)} /></div>
    <div class="field"><label for="token-role">Role</label><${RoleSelect} id="token-role" value=${role} onChange=${setRole} max=${session.role} /></div>
    <div class="field"><label for="token-expiry">Expires in</label><input id="token-expiry" required pattern="[0-9]+[mhd]" value=${expiresIn} onInput=${(e) => setExpiresIn(e.currentTarget.value)} aria-describedby="token-expiry-help" />
      <p class="help" id="token-expiry-help">Minutes, hours or days: 12h, 30d, 365d.</p></div>
    <button type="submit">Create token</button>
  </form>`;
}

function ShownOnce({ token, onClose }) {
  const [copied, setCopied] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(token.token);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('The browser refused the clipboard; select the token and copy it.');
    }
  };
  return html`<${Dialog} title=${`Token ${token.name} created`} onClose=${onClose}>
    <p><strong>Copy it now: it is shown this once.</strong> Scripts send it as <code>Authorization: Bearer TOKEN</code>.</p>
    <label for="new-token">Token</label>
    <input id="new-token" class="token" readonly value=${token.token} onFocus=${(e) => e.currentTarget.select()} />
    <p role="status">${copied}</p>
    <div class="dialog-buttons">
      <button type="button" onClick=${copy}>Copy</button>
      <button type="button" class="secondary" onClick=${onClose}>Done</button>
    </div>
  <//>`;
}

export function UsersPage({ session, announce }) {
  const isAdmin = !roleReason(session, 'admin');
  const users = usePoll(() => (isAdmin ? get('/users').then((r) => r.body) : Promise.resolve([])), 0, []);
  const tokens = usePoll(() => get('/tokens').then((r) => r.body), 0, []);
  const [created, setCreated] = useState(null);
  const [confirm, setConfirm] = useState(null);
  const [error, setError] = useState(null);
  const run = async () => {
    const { kind, id } = confirm;
    setConfirm(null);
    setError(null);
    try {
      await del(kind === 'user' ? `/users/${seg(id)}` : `/tokens/${seg(id)}`);
      announce(kind === 'user' ? `User ${id} removed.` : 'Token revoked.');
      (kind === 'user' ? users : tokens).reload();
    } catch (e) {
      setError(e);
    }
  };
  return html`
    <${PageHeading} title="Users and tokens" />
    <${ErrorBox} error=${error} />
    ${isAdmin
      ? html`<section aria-labelledby="users-h">
          <h2 id="users-h">Users</h2>
          <${ErrorBox} error=${users.error} />
          ${users.data === null && !users.error
            ? html`<${Loading} />`
            : html`<table>
                <thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Last login</th><th scope="col">Actions</th></tr></thead>
                <tbody>${(users.data ?? []).map(
                  (u) => html`<tr>
                    <th scope="row">${u.name}${u.name === session.user ? html` <span class="muted small">(you)</span>` : null}</th>
                    <td>${u.role}</td>
                    <td>${formatTime(u.createdAt)}</td>
                    <td>${u.lastLogin ? timeAgo(u.lastLogin) : 'never'}</td>
                    <td><button type="button" class="small danger" disabled=${u.name === session.user} title=${u.name === session.user ? 'You cannot remove yourself.' : undefined} onClick=${() => setConfirm({ kind: 'user', id: u.name })}>Remove<span class="sr-only"> ${u.name}</span></button></td>
                  </tr>`,
                )}</tbody>
              </table>`}
          <${NewUser} onDone=${users.reload} announce=${announce} />
        </section>`
      : html`<p class="muted">${roleReason(session, 'admin')} Only admins manage users.</p>`}
    <section aria-labelledby="tokens-h">
      <h2 id="tokens-h">API tokens</h2>
      <${ErrorBox} error=${tokens.error} />
      ${tokens.data === null && !tokens.error
        ? html`<${Loading} />`
        : (tokens.data ?? []).length === 0
          ? html`<p class="muted">No tokens.</p>`
          : html`<table>
              <thead><tr><th scope="col">Token</th><th scope="col">Owner</th><th scope="col">Role</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col">Actions</th></tr></thead>
              <tbody>${tokens.data.map(
                (t) => html`<tr>
                  <th scope="row">${t.name} <span class="muted small">${t.id}</span></th>
                  <td>${t.user}</td>
                  <td>${t.role}</td>
                  <td>${timeAgo(t.expiresAt)}</td>
                  <td>${t.lastUsed ? timeAgo(t.lastUsed) : 'never'}</td>
                  <td><button type="button" class="small danger" onClick=${() => setConfirm({ kind: 'token', id: t.id, name: t.name })}>Revoke<span class="sr-only"> ${t.name}</span></button></td>
                </tr>`,
              )}</tbody>
            </table>`}
      <${NewToken} session=${session} onCreated=${(t) => {
        setCreated(t);
        tokens.reload();
        announce(`Token ${t.name} created; copy it now.`);
      }} />
    </section>
    ${created ? html`<${ShownOnce} token=${created} onClose=${() => setCreated(null)} />` : null}
    ${confirm
      ? html`<${ConfirmDialog} title=${confirm.kind === 'user' ? `Remove user ${confirm.id}?` : `Revoke token ${confirm.name}?`} confirmLabel=${confirm.kind === 'user' ? 'Remove' : 'Revoke'} onConfirm=${run} onCancel=${() => setConfirm(null)}>
          <p>${confirm.kind === 'user' ? 'Their sessions end; their tokens stop working.' : 'Scripts using it get 401 from now on.'}</p>
        <//>`
      : null}
  `;
}
