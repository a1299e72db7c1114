/**
 * The Fulcrum console: session, hash router and page frame (header, navigation, main, a live
 * region for announcements). Pages get the session (its role decides which buttons work) and
 * the status document, polled every second while the tab is visible so a real server that goes
 * down turns red and a drained one's requests count down without a reload.
 */
import { render } from 'preact';
import { html } from 'htm/preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, del, get, setCsrfToken, setUnauthorizedHandler } from './lib/api.js';
import { parseRoute } from './lib/router.js';
import { usePoll } from './components/hooks.js';
import { LoginPage } from './pages/login.js';
import { DashboardPage } from './pages/dashboard.js';
import { VirtualServicePage } from './pages/virtual-service.js';
import { PoolPage } from './pages/pool.js';
import { EditPage } from './pages/edit.js';
import { GslbPage } from './pages/gslb.js';
import { CertificatesPage } from './pages/certificates.js';
import { AuditPage } from './pages/audit.js';
import { UsersPage } from './pages/users.js';
import { VersionsPage } from './pages/versions.js';
import { BackupPage } from './pages/backup.js';

const NAV = [
  ['', 'Dashboard'],
  ['gslb', 'GSLB'],
  ['certificates', 'Certificates'],
  ['versions', 'Config versions'],
  ['audit', 'Audit log'],
  ['users', 'Users and tokens'],
  ['backup', 'Backup'],
];

const PAGES = {
  '': DashboardPage,
  vs: VirtualServicePage,
  pools: PoolPage,
  edit: EditPage,
  new: EditPage,
  gslb: GslbPage,
  certificates: CertificatesPage,
  audit: AuditPage,
  users: UsersPage,
  versions: VersionsPage,
  backup: BackupPage,
};

/** Pages whose content comes from GET /api/v1/status. */
const LIVE_PAGES = new Set(['', 'vs', 'pools', 'gslb', 'certificates']);

function useRoute() {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

/** Who is logged in: undefined while asking, null when nobody. */
function useSession() {
  const [session, setSession] = useState(undefined);
  const adopt = useCallback((value) => {
    setCsrfToken(value?.csrfToken ?? '');
    setSession(value);
  }, []);
  useEffect(() => {
    setUnauthorizedHandler(() => adopt(null));
    get('/session')
      .then(({ body }) => adopt(body))
      .catch((error) => {
        // An API without the session route (older server) is an open loopback API: every caller is admin.
        if (error instanceof ApiError && error.status === 404) adopt({ user: 'local', role: 'admin', via: 'loopback' });
        else adopt(null);
      });
  }, []);
  return [session, adopt];
}

function App() {
  const route = useRoute();
  const [session, setSession] = useSession();
  const [announcement, setAnnouncement] = useState('');
  const announce = useCallback((text) => {
    // Clear first so the same words twice are announced twice.
    setAnnouncement('');
    setTimeout(() => setAnnouncement(text), 50);
  }, []);
  const live = session && LIVE_PAGES.has(route.page);
  const status = usePoll(() => (live ? get('/status').then((r) => r.body) : Promise.resolve(null)), live ? 1000 : 0, [live]);

  useEffect(() => {
    document.title = `Fulcrum console${route.page ? ` — ${route.page}` : ''}`;
  }, [route.page]);

  if (session === undefined) return html`<main id="main"><p class="muted">Loading…</p></main>`;
  if (session === null || route.page === 'login') {
    return html`<${LoginPage} onLogin=${(s) => {
      // POST /session's answer is the session itself; GET /session adds `via`.
      setSession({ via: 'session', ...s });
      if (route.page === 'login') location.hash = '#/';
    }} />`;
  }
  const logout = async () => {
    try {
      await del('/session');
    } catch {
      // Logged out either way: the cookie is gone or was already.
    }
    setSession(null);
  };
  const Page = PAGES[route.page] ?? NotFound;
  return html`
    <a class="skip-link" href="#main" onClick=${(e) => {
      e.preventDefault();
      document.getElementById('main')?.focus();
    }}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/">Fulcrum</a>
      <nav aria-label="Main">
        <ul>
          ${NAV.map(([page, label]) => html`<li><a href=${`#/${page}`} aria-current=${route.page === page ? 'page' : undefined}>${label}</a></li>`)}
        </ul>
      </nav>
      <div class="who">
        <span>${session.user} <span class="role">(${session.role}${session.via === 'loopback' ? ', loopback without users' : ''})</span></span>
        ${session.via === 'session' ? html`<button type="button" class="secondary" onClick=${logout}>Log out</button>` : null}
      </div>
    </header>
    <main id="main" tabindex="-1">
      <${Page} route=${route} session=${session} status=${status.data} statusError=${status.error} reloadStatus=${status.reload} announce=${announce} />
    </main>
    <div class="sr-only" role="status" aria-live="polite">${announcement}</div>
  `;
}

function NotFound({ route }) {
  return html`<h1>Not found</h1><p>The console has no page <code>${route.page}</code>. <a href="#/">Go to the dashboard</a>.</p>`;
}

render(html`<${App} />`, document.getElementById('app'));
