/**
 * Login: POST /api/v1/session; the answer's csrfToken is kept for every later write. A 429
 * (too many failures) says how long to wait.
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { post } from '../lib/api.js';

export function LoginPage({ onLogin }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      const { body } = await post('/session', { user, password });
      onLogin(body);
    } catch (e) {
      setError(e.status === 401 ? 'Wrong user name or password.' : e.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main id="main" class="login">
    <h1>Fulcrum console</h1>
    <form onSubmit=${submit} aria-describedby=${error ? 'login-error' : undefined}>
      <label for="login-user">User</label>
      <input id="login-user" name="username" autocomplete="username" required value=${user} onInput=${(e) => setUser(e.currentTarget.value)} />
      <label for="login-password">Password</label>
      <input id="login-password" name="password" type="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
      ${error ? html`<p id="login-error" class="field-error" role="alert">${error}</p>` : null}
      <button type="submit" disabled=${busy}>${busy ? 'Logging in…' : 'Log in'}</button>
    </form>
    <p class="muted small">The first admin is created with <code>fulcrum user add NAME --role admin</code>.</p>
  </main>`;
}
