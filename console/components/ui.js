/**
 * Small pieces every page uses: the state badge (colour AND word), an error box that reads the
 * API's messages, a loading line, and a page heading.
 */
import { html } from 'htm/preact';

/** A coloured badge with its word; `title` carries the reason for a hover. */
export function Badge({ tone, children, title }) {
  return html`<span class=${`badge badge-${tone}`} title=${title}>${children}</span>`;
}

export function ErrorBox({ error, title = 'Something went wrong' }) {
  if (!error) return null;
  const status = error.status ? ` (HTTP ${error.status}${error.code ? `, ${error.code}` : ''})` : '';
  return html`<div class="error-box" role="alert">
    <strong>${title}${status}:</strong> ${error.message}
    ${error.suggestion ? html` Did you mean <code>${error.suggestion}</code>?` : null}
    ${Array.isArray(error.problems) && error.problems.length > 0 && !error.placed
      ? html`<ul>${error.problems.map((p) => html`<li>${typeof p === 'string' ? p : `${p.path ?? ''} ${p.message ?? ''}`}</li>`)}</ul>`
      : null}
  </div>`;
}

export function Loading({ what = 'Loading' }) {
  return html`<p class="muted" aria-busy="true">${what}…</p>`;
}

export function PageHeading({ title, children }) {
  return html`<div class="page-heading"><h1>${title}</h1><div class="page-actions">${children}</div></div>`;
}

/** A definition list from [label, value] pairs, skipping empty values. */
export function Facts({ items }) {
  return html`<dl class="facts">
    ${items.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}
  </dl>`;
}

/** Why a control is disabled, for people who cannot do it. */
export function roleReason(session, needs) {
  const role = session?.role ?? 'viewer';
  const rank = { viewer: 0, operator: 1, admin: 2 };
  if (rank[role] >= rank[needs]) return null;
  return `Your role is ${role}; this needs ${needs}.`;
}
