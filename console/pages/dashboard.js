/**
 * The dashboard: every virtual service, pool and GSLB name with its health at a glance (counts
 * of up, down, draining and disabled real servers) and the totals of connections and requests.
 */
import { html } from 'htm/preact';
import { useRef } from 'preact/hooks';
import { countStates } from '../lib/health.js';
import { formatCount, formatRate } from '../lib/format.js';
import { href } from '../lib/router.js';
import { siteState } from '../lib/health.js';
import { Badge, ErrorBox, Loading, PageHeading, roleReason } from '../components/ui.js';

function Counts({ servers }) {
  const c = countStates(servers);
  return html`<span class="counts">
    <${Badge} tone="up">${c.up} up<//>
    ${c.down ? html` <${Badge} tone="down">${c.down} down<//>` : null}
    ${c.draining ? html` <${Badge} tone="drain">${c.draining} draining<//>` : null}
    ${c.disabled ? html` <${Badge} tone="off">${c.disabled} disabled<//>` : null}
  </span>`;
}

/** Requests per second from two successive samples of the summed request counters. */
function useRequestRate(status) {
  const last = useRef(null);
  const rate = useRef(null);
  if (status) {
    const total = status.pools.reduce((sum, p) => sum + p.realServers.reduce((s, r) => s + (r.requests ?? 0), 0), 0);
    const now = performance.now();
    if (last.current && now - last.current.at > 500) {
      rate.current = Math.max(0, ((total - last.current.total) * 1000) / (now - last.current.at));
      last.current = { total, at: now };
    } else if (!last.current) last.current = { total, at: now };
  }
  return rate.current;
}

export function DashboardPage({ session, status, statusError }) {
  const rate = useRequestRate(status);
  if (!status) return html`<${PageHeading} title="Dashboard" />${statusError ? html`<${ErrorBox} error=${statusError} />` : html`<${Loading} />`}`;
  const allServers = status.pools.flatMap((p) => p.realServers);
  const connections = status.virtualServices.reduce((s, v) => s + (v.clientConnections ?? 0), 0);
  const active = allServers.reduce((s, r) => s + (r.activeRequests ?? 0), 0);
  const cannot = roleReason(session, 'admin');
  return html`
    <${PageHeading} title="Dashboard">
      ${cannot ? html`<span class="muted small">${cannot}</span>` : html`<a class="button" href=${href('new', 'virtual-services')}>New virtual service</a> <a class="button" href=${href('new', 'pools')}>New pool</a>`}
    <//>
    ${statusError ? html`<${ErrorBox} error=${statusError} title="Status is stale" />` : null}
    <section aria-labelledby="totals-h" class="totals">
      <h2 id="totals-h" class="sr-only">Totals</h2>
      <div class="tile"><span class="tile-value">${status.virtualServices.length}</span><span class="tile-label">virtual services</span></div>
      <div class="tile"><span class="tile-value">${status.pools.length}</span><span class="tile-label">pools</span></div>
      <div class="tile"><span class="tile-value"><${Counts} servers=${allServers} /></span><span class="tile-label">real servers</span></div>
      <div class="tile"><span class="tile-value" data-testid="total-connections">${formatCount(connections)}</span><span class="tile-label">client connections</span></div>
      <div class="tile"><span class="tile-value">${formatCount(active)}</span><span class="tile-label">requests in flight</span></div>
      <div class="tile"><span class="tile-value">${rate === null ? '–' : formatRate(rate)}</span><span class="tile-label">requests/s</span></div>
    </section>
    <section aria-labelledby="vs-h">
      <h2 id="vs-h">Virtual services</h2>
      ${status.virtualServices.length === 0
        ? html`<p class="muted">No virtual service yet.</p>`
        : html`<table>
            <thead><tr><th scope="col">Name</th><th scope="col">Listen</th><th scope="col">Protocol</th><th scope="col">Pool</th><th scope="col">Real servers</th><th scope="col">Connections</th></tr></thead>
            <tbody>
              ${status.virtualServices.map(
                (v) => html`<tr>
                  <th scope="row"><a href=${href('vs', v.name)}>${v.name}</a></th>
                  <td><code>${v.listen}</code></td>
                  <td>${v.protocol}</td>
                  <td><a href=${href('pools', v.pool)}>${v.pool}</a></td>
                  <td><${Counts} servers=${v.realServers} /></td>
                  <td class="num">${formatCount(v.clientConnections)}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}
    </section>
    <section aria-labelledby="pools-h">
      <h2 id="pools-h">Pools</h2>
      <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Scheduler</th><th scope="col">Used by</th><th scope="col">Real servers</th><th scope="col">In flight</th><th scope="col">Queued</th></tr></thead>
        <tbody>
          ${status.pools.map(
            (p) => html`<tr>
              <th scope="row"><a href=${href('pools', p.name)}>${p.name}</a>${p.inline ? html` <span class="muted small">(inline)</span>` : null}</th>
              <td>${p.scheduler}</td>
              <td>${p.usedBy.map((u, i) => html`${i ? ', ' : ''}<a href=${href('vs', u.virtualService)}>${u.virtualService}</a>${u.rule ? ` (rule ${u.rule})` : ''}`)}</td>
              <td><${Counts} servers=${p.realServers} /></td>
              <td class="num">${formatCount(p.realServers.reduce((s, r) => s + r.activeRequests, 0))}</td>
              <td class="num">${formatCount(p.queued)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>
    ${status.gslb
      ? html`<section aria-labelledby="gslb-h">
          <h2 id="gslb-h">GSLB names</h2>
          <table>
            <thead><tr><th scope="col">Name</th><th scope="col">Selection</th><th scope="col">Sites</th><th scope="col">Answers now (A)</th></tr></thead>
            <tbody>
              ${status.gslb.fqdns.map(
                (f) => html`<tr>
                  <th scope="row"><a href=${`${href('gslb')}?fqdn=${encodeURIComponent(f.name)}`}>${f.name}</a></th>
                  <td>${f.selection}</td>
                  <td>${f.sites.map((s) => {
                    const st = siteState(s);
                    return html`<${Badge} tone=${st.tone} title=${`${s.name}: ${st.label}; ${s.reason}`}>${s.name}: ${st.word}<//> `;
                  })}</td>
                  <td><code>${(f.answers?.A?.answers?.[0] ?? []).join(', ') || '—'}</code></td>
                </tr>`,
              )}
            </tbody>
          </table>
        </section>`
      : null}
  `;
}
