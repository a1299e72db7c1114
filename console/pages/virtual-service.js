/**
 * A virtual service: where it listens, its protocol and pool, its rules in order with the pool
 * each routes to and how often each decided, its real servers at a glance, its certificates, and
 * its live charts.
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { del, get, seg } from '../lib/api.js';
import { countStates, healthSentence, serverState } from '../lib/health.js';
import { expiryText, formatCount } from '../lib/format.js';
import { href } from '../lib/router.js';
import { Badge, ErrorBox, Facts, Loading, PageHeading, roleReason } from '../components/ui.js';
import { StatsCharts } from '../components/stats-charts.js';
import { ConfirmDialog } from '../components/dialog.js';

export function VirtualServicePage({ route, session, status, statusError, announce }) {
  const name = route.args[0];
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState(null);
  if (!status) return html`<${PageHeading} title=${`Virtual service ${name}`} />${statusError ? html`<${ErrorBox} error=${statusError} />` : html`<${Loading} />`}`;
  const vs = status.virtualServices.find((v) => v.name === name);
  if (!vs) return html`<${PageHeading} title=${`Virtual service ${name}`} /><p>No virtual service is named <code>${name}</code>. <a href="#/">Back to the dashboard</a>.</p>`;
  const adminReason = roleReason(session, 'admin');
  const counts = countStates(vs.realServers);
  const remove = async () => {
    setConfirming(false);
    try {
      const { etag } = await get(`/virtual-services/${seg(name)}`);
      await del(`/virtual-services/${seg(name)}`, { ifMatch: etag ?? undefined });
      announce(`Virtual service ${name} removed.`);
      location.hash = '#/';
    } catch (e) {
      setError(e);
    }
  };
  return html`
    <${PageHeading} title=${`Virtual service ${vs.name}`}>
      ${adminReason
        ? null
        : html`<a class="button" href=${href('edit', 'virtual-services', vs.name)}>Edit</a>
            <a class="button secondary" href=${href('edit', 'virtual-services', vs.name, 'rules')}>Edit rules</a>
            ${vs.protocol === 'https' ? html`<a class="button secondary" href=${href('edit', 'virtual-services', vs.name, 'tls')}>TLS</a>` : null}
            <button type="button" class="danger" onClick=${() => setConfirming(true)}>Delete</button>`}
    <//>
    <${ErrorBox} error=${error} title="Could not delete" />
    ${confirming
      ? html`<${ConfirmDialog} title=${`Delete ${vs.name}?`} confirmLabel="Delete" onConfirm=${remove} onCancel=${() => setConfirming(false)}>
          <p>Clients connected to <code>${vs.listen}</code> lose the service. The change is audited and can be undone from Config versions.</p>
        <//>`
      : null}
    <${Facts} items=${[
      ['Listen', html`<code>${vs.listen}</code>`],
      ['Protocol', vs.protocol],
      ['Pool', html`<a href=${href('pools', vs.pool)}>${vs.pool}</a>`],
      ['Scheduler', vs.scheduler],
      ['Client connections', formatCount(vs.clientConnections)],
      ['Persistence entries', vs.persistenceEntries === undefined ? undefined : formatCount(vs.persistenceEntries)],
      ['Real servers', `${counts.up} up, ${counts.down} down, ${counts.draining} draining, ${counts.disabled} disabled`],
    ]} />
    <section aria-labelledby="rules-h">
      <h2 id="rules-h">Rules</h2>
      ${vs.rules.length === 0
        ? html`<p class="muted">No rules: every request goes to <a href=${href('pools', vs.pool)}>${vs.pool}</a>.</p>`
        : html`<table>
            <thead><tr><th scope="col">#</th><th scope="col">Rule</th><th scope="col">Action</th><th scope="col">Target pool</th><th scope="col">Hits</th></tr></thead>
            <tbody>
              ${vs.rules.map(
                (r, i) => html`<tr>
                  <td class="num">${i + 1}</td>
                  <th scope="row">${r.name}</th>
                  <td>${r.action}</td>
                  <td>${r.pool ? html`<a href=${href('pools', r.pool)}>${r.pool}</a>` : html`<span class="muted">${r.action === 'route' || r.action === 'edit' ? `${vs.pool} (default)` : '—'}</span>`}</td>
                  <td class="num">${formatCount(r.hits)}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}
    </section>
    <section aria-labelledby="servers-h">
      <h2 id="servers-h">Real servers of <a href=${href('pools', vs.pool)}>${vs.pool}</a></h2>
      <ul class="server-chips">
        ${vs.realServers.map((rs) => {
          const st = serverState(rs);
          return html`<li><${Badge} tone=${st.tone} title=${healthSentence(rs.health)}>${rs.address}: ${st.label}, ${rs.activeRequests} in flight<//></li>`;
        })}
      </ul>
    </section>
    ${vs.certificates && vs.certificates.length > 0
      ? html`<section aria-labelledby="certs-h">
          <h2 id="certs-h">Certificates</h2>
          <ul>${vs.certificates.map((c) => html`<li>${c.names.join(', ')}: ${expiryText(c.notAfter)}${c.warnings?.length ? html` <${Badge} tone="drain">${c.warnings.join('; ')}<//>` : null}</li>`)}</ul>
        </section>`
      : null}
    <section aria-labelledby="charts-h">
      <h2 id="charts-h">Live statistics (last 10 minutes)</h2>
      <${StatsCharts} query=${{ virtualService: vs.name }} />
    </section>
  `;
}
