/**
 * A pool: its real servers coloured and named up / down / draining / disabled, each with the
 * health check's reason and last check (on hover, and in a detail opened by click or Enter),
 * requests in flight updating every second (a drained server visibly counts down to 0), per
 * server charts, and the Enable / Disable / Drain buttons (operator and admin; a viewer sees them
 * disabled with the reason).
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { put, seg } from '../lib/api.js';
import { formatCount } from '../lib/format.js';
import { healthSentence, serverState } from '../lib/health.js';
import { href } from '../lib/router.js';
import { Badge, ErrorBox, Facts, Loading, PageHeading, roleReason } from '../components/ui.js';
import { StatsCharts } from '../components/stats-charts.js';

const ACTIONS = [
  ['enabled', 'Enable'],
  ['disabled', 'Disable'],
  ['drain', 'Drain'],
];
const DONE = { enabled: 'enabled', disabled: 'disabled', drain: 'draining' };

export function PoolPage({ route, session, status, statusError, reloadStatus, announce }) {
  const name = route.args[0];
  const [open, setOpen] = useState(() => new Set());
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState('');
  if (!status) return html`<${PageHeading} title=${`Pool ${name}`} />${statusError ? html`<${ErrorBox} error=${statusError} />` : html`<${Loading} />`}`;
  const pool = status.pools.find((p) => p.name === name);
  if (!pool) return html`<${PageHeading} title=${`Pool ${name}`} /><p>No pool is named <code>${name}</code>. <a href="#/">Back to the dashboard</a>.</p>`;

  const operateReason = roleReason(session, 'operator');
  const adminReason = roleReason(session, 'admin');
  // A virtual service's own pool (realServers written on it) is addressed through the virtual service.
  const base = pool.inline ? `/virtual-services/${seg(pool.name)}` : `/pools/${seg(pool.name)}`;
  const setState = async (address, state) => {
    setBusy(`${address}:${state}`);
    setError(null);
    try {
      await put(`${base}/real-servers/${seg(address)}/state`, { state });
      announce(`${address} is now ${DONE[state]}.`);
      reloadStatus();
    } catch (e) {
      setError(e);
      announce(`Could not change ${address}: ${e.message}`);
    } finally {
      setBusy('');
    }
  };
  const toggle = (address) => {
    const next = new Set(open);
    if (next.has(address)) next.delete(address);
    else next.add(address);
    setOpen(next);
  };
  const editBase = pool.inline ? ['edit', 'virtual-services', pool.name] : ['edit', 'pools', pool.name];

  return html`
    <${PageHeading} title=${`Pool ${pool.name}`}>
      ${adminReason
        ? null
        : html`<a class="button" href=${href(...editBase)}>Edit pool</a>
            <a class="button secondary" href=${href(...editBase, 'healthCheck')}>Health check</a>
            <a class="button secondary" href=${href(...editBase, 'persistence')}>Persistence</a>
            ${pool.inline ? null : html`<a class="button secondary" href=${href('new', 'real-servers', pool.name)}>Add real server</a>`}`}
    <//>
    <${Facts} items=${[
      ['Scheduler', pool.scheduler],
      ['Persistence', pool.persistence ?? 'off'],
      ['Persistence entries', pool.persistenceEntries === undefined ? undefined : formatCount(pool.persistenceEntries)],
      ['Queued', formatCount(pool.queued)],
      ['Used by', pool.usedBy.length === 0 ? 'nothing' : pool.usedBy.map((u, i) => html`${i ? ', ' : ''}<a href=${href('vs', u.virtualService)}>${u.virtualService}</a>${u.rule ? ` (rule ${u.rule})` : ''}`)],
    ]} />
    <${ErrorBox} error=${error} title="The state change failed" />
    <section aria-labelledby="rs-h">
      <h2 id="rs-h">Real servers</h2>
      ${operateReason ? html`<p class="muted small" id="operate-why">${operateReason} Enable, Disable and Drain are for operators and admins.</p>` : null}
      <table class="servers">
        <thead>
          <tr><th scope="col">Real server</th><th scope="col">State</th><th scope="col">Why</th><th scope="col">Weight</th><th scope="col">In flight</th><th scope="col">Idle conns</th><th scope="col">Requests</th><th scope="col">Actions</th></tr>
        </thead>
        <tbody>
          ${pool.realServers.map((rs) => {
            const st = serverState(rs);
            const sentence = healthSentence(rs.health);
            const detailId = `detail-${rs.address.replace(/[^A-Za-z0-9]/g, '-')}`;
            const isOpen = open.has(rs.address);
            return html`
              <tr class=${`rs rs-${st.tone}`} data-server=${rs.address} data-state=${st.word}>
                <th scope="row">
                  <button type="button" class="link" aria-expanded=${isOpen ? 'true' : 'false'} aria-controls=${isOpen ? detailId : undefined} title=${sentence} onClick=${() => toggle(rs.address)}>
                    ${rs.address}
                  </button>
                </th>
                <td><${Badge} tone=${st.tone} title=${sentence}><span class="rs-state">${st.label}</span><//></td>
                <td class="reason" title=${sentence}>${rs.health.up ? (rs.health.lastCheck ? 'checks pass' : rs.health.reason) : rs.health.reason}</td>
                <td class="num">${rs.effectiveWeight === rs.weight ? rs.weight : `${rs.effectiveWeight} of ${rs.weight}`}</td>
                <td class="num rs-active" aria-label=${`${rs.activeRequests} requests in flight`}>${formatCount(rs.activeRequests)}</td>
                <td class="num">${formatCount(rs.idleConnections)}</td>
                <td class="num">${formatCount(rs.requests)}</td>
                <td class="actions">
                  ${ACTIONS.map(
                    ([state, label]) => html`<button type="button" class="small"
                      disabled=${Boolean(operateReason) || rs.state === state || busy !== ''}
                      aria-describedby=${operateReason ? 'operate-why' : undefined}
                      title=${operateReason ?? (rs.state === state ? `already ${DONE[state]}` : `${label} ${rs.address}`)}
                      onClick=${() => setState(rs.address, state)}>${label}</button> `,
                  )}
                  ${adminReason || pool.inline ? null : html`<a class="small" href=${href('edit', 'real-servers', pool.name, rs.address)} ><span>Edit</span><span class="sr-only"> ${rs.address}</span></a>`}
                </td>
              </tr>
              ${isOpen
                ? html`<tr class="detail" id=${detailId}>
                    <td colspan="8">
                      <p class="health-sentence">${sentence}</p>
                      ${rs.agent ? html`<p class="small">Agent: ${JSON.stringify(rs.agent)}</p>` : null}
                      ${rs.health.certificateExpires ? html`<p class="small">Its certificate expires ${rs.health.certificateExpires}.</p>` : null}
                      <${StatsCharts} query=${{ pool: pool.name, realServer: rs.address }} compact=${true} />
                    </td>
                  </tr>`
                : null}
            `;
          })}
        </tbody>
      </table>
    </section>
  `;
}
