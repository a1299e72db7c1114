/**
 * #/new/KIND[/ARGS] and #/edit/KIND/ARGS[/SECTION]: the generated form for one item.
 *   #/new/virtual-services, #/new/pools, #/new/real-servers/POOL, #/new/gslb-fqdns
 *   #/edit/pools/web, #/edit/pools/web/healthCheck, #/edit/real-servers/web/127.0.0.1:9001, #/edit/gslb
 */
import { html } from 'htm/preact';
import { RESOURCES } from '../lib/resources.js';
import { ResourceEditor } from '../components/resource-editor.js';
import { roleReason } from '../components/ui.js';

/** How many URL arguments name an item of each kind (the rest is a section). */
const ARITY = { 'real-servers': 2, gslb: 0 };

export function EditPage({ route, session, announce }) {
  const [kind, ...rest] = route.args;
  const creating = route.page === 'new';
  const resource = RESOURCES[kind];
  const cannot = roleReason(session, 'admin');
  if (cannot) return html`<h1>Editing is for admins</h1><p>${cannot} <a href="#/">Back to the dashboard</a>.</p>`;
  if (!resource) return html`<h1>Nothing to edit</h1><p>The console has no form for <code>${kind}</code>.</p>`;
  const arity = creating ? Math.max(0, (ARITY[kind] ?? 1) - 1) : (ARITY[kind] ?? 1);
  const args = rest.slice(0, arity);
  const section = creating ? undefined : rest[arity];
  return html`<${ResourceEditor} key=${route.args.join('/')} kind=${kind} args=${args} creating=${creating} section=${section} announce=${announce} />`;
}
