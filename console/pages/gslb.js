/**
 * GSLB: per balanced name, each site's health and reason, what the DNS server answers now to a
 * client it cannot locate, and manual recovery (Enable puts a held site back; Disable takes a
 * site out whatever its checks say).
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { put, seg } from '../lib/api.js';
import { formatCount, formatMs, timeAgo } from '../lib/format.js';
import { siteState } from '../lib/health.js';
import { href } from '../lib/router.js';
import { Badge, ErrorBox, Facts, Loading, PageHeading, roleReason } from '../components/ui.js';

function Answers({ family, status }) {
  if (!status) return null;
  const answers = status.answers ?? [];
  return html`<div class="answers">
    <strong>${family}:</strong>
    ${answers.length === 0 || answers.every((a) => a.length === 0)
      ? html` <span class="muted">no address${status.allDown ? ' (every site is down: whenAllDown applies)' : ''}</span>`
      : html` ${answers.map((a, i) => html`${i ? html`<span class="muted"> or </span>` : ''}<code>${a.join(', ')}</code>`)}`}
  </div>`;
}

export function GslbPage({ session, status, statusError, reloadStatus, announce }) {
  const [error, setError] = useState(null);
  if (!status) return html`<${PageHeading} title="GSLB" />${statusError ? html`<${ErrorBox} error=${statusError} />` : html`<${Loading} />`}`;
  const adminReason = roleReason(session, 'admin');
  const operateReason = roleReason(session, 'operator');
  const gslb = status.gslb;
  const actions = adminReason ? null : html`<a class="button" href=${href('new', 'gslb-fqdns')}>New name</a> <a class="button secondary" href=${href('edit', 'gslb')}>GSLB settings</a>`;
  if (!gslb) return html`<${PageHeading} title="GSLB">${adminReason ? null : html`<a class="button" href=${href('edit', 'gslb')}>Set up GSLB</a>`}<//><p>The config has no <code>gslb</code> section: Fulcrum answers no DNS.</p>`;
  const setSite = async (fqdn, site, state) => {
    setError(null);
    try {
      await put(`/gslb/fqdns/${seg(fqdn)}/sites/${seg(site)}/state`, { state });
      announce(`Site ${site} of ${fqdn} is now ${state}.`);
      reloadStatus();
    } catch (e) {
      setError(e);
    }
  };
  return html`
    <${PageHeading} title="GSLB">${actions}<//>
    <${Facts} items=${[
      ['DNS listens on', gslb.listen.join(', ')],
      ['SOA serial', String(gslb.serial)],
      ['Queries', formatCount(gslb.dns?.queries ?? 0)],
      ['Answers by code', Object.entries(gslb.dns?.responses ?? {}).map(([k, v]) => `${k} ${formatCount(v)}`).join(', ') || 'none yet'],
    ]} />
    <${ErrorBox} error=${error} title="The site change failed" />
    ${operateReason ? html`<p class="muted small" id="site-why">${operateReason} Enabling and disabling sites is for operators and admins.</p>` : null}
    ${gslb.fqdns.map(
      (f) => html`<section class="fqdn" aria-labelledby=${`fqdn-${f.name}`}>
        <h2 id=${`fqdn-${f.name}`}>${f.name} <span class="muted small">(${f.selection})</span>
          ${adminReason ? null : html` <a class="small" href=${href('edit', 'gslb-fqdns', f.name)}><span>Edit</span><span class="sr-only"> ${f.name}</span></a>`}</h2>
        <div class="dns-now" aria-label=${`What DNS answers now for ${f.name}`}>
          <h3>DNS answers now</h3>
          <${Answers} family="A" status=${f.answers?.A} />
          <${Answers} family="AAAA" status=${f.answers?.AAAA} />
        </div>
        <table>
          <thead><tr><th scope="col">Site</th><th scope="col">State</th><th scope="col">Why</th><th scope="col">Last check</th><th scope="col">Addresses</th><th scope="col">Weight</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            ${f.sites.map((s) => {
              const st = siteState(s);
              const why = `${s.reason}${s.progress ? ` (${s.progress})` : ''}`;
              return html`<tr data-site=${s.name}>
                <th scope="row">${s.name}</th>
                <td><${Badge} tone=${st.tone} title=${why}>${st.label}<//></td>
                <td>${why}${s.since ? html`<br /><span class="muted small">since ${timeAgo(s.since)}</span>` : null}</td>
                <td>${s.lastCheck ? `${timeAgo(s.lastCheck.at)}, ${s.lastCheck.ok ? 'passed' : 'failed'} in ${formatMs(s.lastCheck.latencyMs)}` : 'not checked yet'}<br /><span class="muted small">${s.check}</span></td>
                <td><code>${(s.addresses ?? []).join(', ')}</code></td>
                <td class="num">${s.weight ?? ''}</td>
                <td class="actions">
                  <button type="button" class="small" disabled=${Boolean(operateReason) || (!s.disabled && !s.held)} aria-describedby=${operateReason ? 'site-why' : undefined}
                    onClick=${() => setSite(f.name, s.name, 'enabled')}>Enable<span class="sr-only"> ${s.name}</span></button>
                  <button type="button" class="small" disabled=${Boolean(operateReason) || s.disabled} aria-describedby=${operateReason ? 'site-why' : undefined}
                    onClick=${() => setSite(f.name, s.name, 'disabled')}>Disable<span class="sr-only"> ${s.name}</span></button>
                </td>
              </tr>`;
            })}
          </tbody>
        </table>
      </section>`,
    )}
  `;
}
