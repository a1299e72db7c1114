/**
 * Create or edit one item of the config through its generated form, the way every change goes:
 * Preview sends the write with ?dryRun=true and shows the diff it would make (or places the
 * server's problems next to their fields); Apply sends it for real, with If-Match of the ETag read,
 * so an edit made meanwhile by someone else gets 412 instead of being overwritten.
 */
import { html } from 'htm/preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, get, request } from '../lib/api.js';
import { isEmptyDiff } from '../lib/diff.js';
import { placeProblems } from '../lib/problems.js';
import { initialValue } from '../lib/schema.js';
import { RESOURCES, loadSchema } from '../lib/resources.js';
import { SchemaForm } from './schema-form.js';
import { DiffView } from './diff-view.js';
import { Dialog } from './dialog.js';
import { ErrorBox, Loading, PageHeading } from './ui.js';

/**
 * @param {{kind: string, args: string[], creating: boolean, section?: string, announce: (t: string) => void}} props
 *   args: the item's URL arguments (for real servers [pool, address]; creating one: [pool]).
 */
export function ResourceEditor({ kind, args, creating, section, announce }) {
  const resource = RESOURCES[kind];
  const [loaded, setLoaded] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [value, setValue] = useState({});
  const [problems, setProblems] = useState({ byField: new Map(), unplaced: [] });
  const [error, setError] = useState(null);
  const [preview, setPreview] = useState(null);
  const [busy, setBusy] = useState(false);
  const fields = useRef(new Set());
  const key = `${kind}/${args.join('/')}/${creating}`;

  useEffect(() => {
    setLoaded(null);
    setLoadError(null);
    setError(null);
    setProblems({ byField: new Map(), unplaced: [] });
    const item = creating && !resource.singleton ? Promise.resolve({ body: {}, etag: null }) : get(resource.item(args));
    Promise.all([loadSchema(resource.schema), item])
      .then(([schema, answer]) => {
        setLoaded({ ...schema, etag: answer.etag });
        // A new item starts with what its schema fixes (a virtual service's protocol), so the form shows what will be sent.
        setValue(creating && !resource.singleton ? initialValue(schema.schema, schema.root) : (answer.body ?? {}));
      })
      .catch(setLoadError);
  }, [key]);

  const title = `${creating ? 'New' : 'Edit'} ${resource?.title ?? kind}${creating ? '' : ` ${args[args.length - 1] ?? ''}`}${section ? `: ${resource.sections[section] ?? section}` : ''}`;
  const onlyKeys = useMemo(() => (section ? [section] : null), [section]);
  if (!resource) return html`<${PageHeading} title="Edit" /><p>The console cannot edit <code>${kind}</code>.</p>`;
  if (loadError) return html`<${PageHeading} title=${title} /><${ErrorBox} error=${loadError} title="Cannot open the form" />`;
  if (!loaded) return html`<${PageHeading} title=${title} /><${Loading} what="Loading the form" />`;

  const send = async (dryRun) => {
    const method = creating && !resource.singleton ? 'POST' : 'PUT';
    const path = creating && !resource.singleton ? resource.collection(args) : resource.item(args);
    return request(method, path, { body: value, ifMatch: loaded.etag ?? undefined, query: dryRun ? { dryRun: 'true' } : {} });
  };
  const fail = (e) => {
    if (e instanceof ApiError && e.problems.length > 0) {
      const placed = placeProblems(e.problems, fields.current);
      setProblems(placed);
      setError(placed.unplaced.length > 0 ? Object.assign(e, { placed: true }) : null);
      const count = e.problems.length;
      announce(`The server found ${count} problem${count === 1 ? '' : 's'}; ${placed.byField.size > 0 ? 'they are shown next to their fields' : 'see the message at the top'}.`);
      if (placed.byField.size > 0) {
        // Move focus to the first field with a problem, so a keyboard user lands on it.
        setTimeout(() => document.querySelector('.schema-form [aria-invalid="true"]')?.focus(), 0);
      }
    } else {
      setProblems({ byField: new Map(), unplaced: [] });
      setError(e);
      announce(e.message);
    }
  };
  const onPreview = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { body } = await send(true);
      setProblems({ byField: new Map(), unplaced: [] });
      setPreview(body);
    } catch (e) {
      fail(e);
    } finally {
      setBusy(false);
    }
  };
  const onApply = async () => {
    setBusy(true);
    try {
      const { body } = await send(false);
      setPreview(null);
      announce(`${resource.title} ${creating ? 'created' : 'saved'}.`);
      const item = body && typeof body === 'object' && !Array.isArray(body) && (resource.idKey === null || body[resource.idKey]) ? body : value;
      location.hash = resource.page(item, args);
    } catch (e) {
      setPreview(null);
      fail(e);
    } finally {
      setBusy(false);
    }
  };

  const diff = preview && typeof preview === 'object' && 'diff' in preview ? preview.diff : preview;
  const noChange = preview !== null && (preview?.changed === false || (diff !== null && diff !== undefined && isEmptyDiff(diff) && (typeof diff === 'string' || Array.isArray(diff))));
  const stale = error instanceof ApiError && error.status === 412;
  return html`
    <${PageHeading} title=${title} />
    ${stale
      ? html`<div class="error-box" role="alert">
          Someone changed this ${resource.title} after you opened it (HTTP 412); your edit was not applied.
          <button type="button" onClick=${() => location.reload()}>Reload the latest</button>
        </div>`
      : html`<${ErrorBox} error=${error} title="Not applied" />`}
    ${problems.unplaced.length > 0 ? html`<div class="error-box" role="alert"><ul>${problems.unplaced.map((p) => html`<li>${p}</li>`)}</ul></div>` : null}
    <form class="editor" onSubmit=${onPreview} novalidate>
      <${SchemaForm} schema=${loaded.schema} root=${loaded.root} value=${value} onChange=${setValue} problems=${problems.byField} fields=${fields.current}
        lockedKeys=${creating || resource.idKey === null ? [] : [resource.idKey]} onlyKeys=${onlyKeys} />
      <div class="form-buttons">
        <button type="submit" disabled=${busy}>${busy ? 'Checking…' : 'Preview changes'}</button>
        <a class="button secondary" href=${creating ? '#/' : resource.page(value, args)}>Cancel</a>
      </div>
    </form>
    ${preview !== null
      ? html`<${Dialog} title="Review the change" wide=${true} onClose=${() => setPreview(null)}>
          <p>The server validated this change; this is what it would change in the config file.</p>
          ${noChange ? html`<p><strong>No change:</strong> the config already says this.</p>` : html`<${DiffView} diff=${diff} />`}
          <div class="dialog-buttons">
            <button type="button" onClick=${onApply} disabled=${busy || noChange}>${busy ? 'Applying…' : 'Apply'}</button>
            <button type="button" class="secondary" onClick=${() => setPreview(null)}>Back to editing</button>
          </div>
        <//>`
      : null}
  `;
}
