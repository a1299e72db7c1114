/**
 * A form generated from a JSON Schema: objects become fieldsets (optional ones fold away until
 * opened, which also stops recursive schemas such as a rule's `match`), enums selects, booleans
 * checkboxes, numbers number inputs with their range, arrays rows to add and remove, maps
 * key/value rows, and anyOf/oneOf a select that swaps the fields (a virtual service's protocol).
 * Every control has a <label>, its description as tooltip and help text, its default as the
 * placeholder, and the server's message for its JSON path in place. The form edits a plain JSON
 * value; unset optional fields are absent from it (lib/schema.js setIn).
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import {
  allowedValues,
  chooseVariant,
  discriminatorOf,
  formatInput,
  helpText,
  initialValue,
  isRequired,
  jsonPath,
  kindOf,
  localProblem,
  parseInput,
  placeholderOf,
  removeAt,
  renameKey,
  resolve,
  setIn,
  switchVariant,
  typesOf,
  variantLabel,
  variantsOf,
} from '../lib/schema.js';

/**
 * @param {{schema: object, root: object, value: any, onChange: (next: any) => void, problems?: Map<string, string[]>, fields?: Set<string>, idPrefix?: string, lockedKeys?: string[]}} props
 *   fields: filled with the JSON path of every field shown, so server problems can be placed;
 *   lockedKeys: top-level keys shown read-only (an item's name when editing it: the URL names it);
 *   onlyKeys: show only these top-level keys (one section of an item: its health check, its rules).
 */
export function SchemaForm({ schema, root, value, onChange, problems = new Map(), fields = new Set(), idPrefix = 'f', lockedKeys = [], onlyKeys = null }) {
  fields.clear();
  const ctx = {
    root,
    problems,
    fields,
    idPrefix,
    lockedKeys,
    onlyKeys,
    value,
    set: (path, next) => onChange(setIn(value, path, next) ?? {}),
    remove: (path, index) => onChange(removeAt(value, path, index) ?? {}),
    rename: (path, from, to) => onChange(renameKey(value, path, from, to)),
  };
  return html`<div class="schema-form"><${Field} ctx=${ctx} schema=${schema} path=${[]} label="" required=${true} /></div>`;
}

function idFor(ctx, path) {
  return `${ctx.idPrefix}-${path.length === 0 ? 'root' : path.map(String).join('-').replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

function getAt(value, path) {
  let node = value;
  for (const key of path) node = node === undefined || node === null ? undefined : node[key];
  return node;
}

function problemsAt(ctx, path) {
  return ctx.problems.get(jsonPath(path)) ?? [];
}

function hasProblemUnder(ctx, path) {
  const prefix = jsonPath(path);
  for (const key of ctx.problems.keys()) if (key === prefix || key.startsWith(`${prefix}.`) || key.startsWith(`${prefix}[`)) return true;
  return false;
}

function Messages({ id, messages }) {
  if (messages.length === 0) return null;
  return html`<ul class="field-error" id=${id}>${messages.map((m) => html`<li>${m}</li>`)}</ul>`;
}

function Help({ id, text }) {
  return text ? html`<p class="help" id=${id}>${text}</p>` : null;
}

function describedBy(...ids) {
  const list = ids.filter(Boolean);
  return list.length > 0 ? list.join(' ') : undefined;
}

function Field({ ctx, schema, path, label, required }) {
  const s = resolve(schema, ctx.root);
  const kind = kindOf(s, ctx.root);
  ctx.fields.add(jsonPath(path));
  const props = { ctx, s, path, label, required, id: idFor(ctx, path), value: getAt(ctx.value, path) };
  switch (kind) {
    case 'object':
      return path.length === 0 ? html`<${ObjectBody} ...${props} />` : html`<${ObjectField} ...${props} />`;
    case 'choice':
      return html`<${ChoiceField} ...${props} />`;
    case 'enum':
      return html`<${EnumField} ...${props} />`;
    case 'boolean':
      return html`<${BooleanField} ...${props} />`;
    case 'list':
      return html`<${ListField} ...${props} />`;
    case 'map':
      return html`<${MapField} ...${props} />`;
    case 'json':
      return html`<${JsonField} ...${props} />`;
    default:
      return html`<${InputField} ...${props} kind=${kind} />`;
  }
}

/** The properties of an object, in schema order; `skip` leaves out a discriminator shown by the parent. */
function ObjectBody({ ctx, s, path, skip }) {
  const keys = Object.keys(s.properties ?? {}).filter((k) => k !== skip && (path.length > 0 || ctx.onlyKeys === null || ctx.onlyKeys.includes(k)));
  return html`${keys.map((key) => {
    if (path.length === 0 && ctx.lockedKeys.includes(key)) {
      return html`<div class="field"><span class="label-text">${key}</span> <code class="locked">${formatInput(getAt(ctx.value, [key]))}</code></div>`;
    }
    return html`<${Field} key=${key} ctx=${ctx} schema=${s.properties[key]} path=${[...path, key]} label=${key} required=${isRequired(s, key)} />`;
  })}`;
}

/** A nested object: a fieldset when set or required, else folded away (<details>) until opened. */
function ObjectField({ ctx, s, path, label, required, id, value }) {
  const help = helpText(s, ctx.root);
  const messages = problemsAt(ctx, path);
  const [opened, setOpened] = useState(false);
  const isOpen = opened || value !== undefined || required || hasProblemUnder(ctx, path);
  return html`<details class="object" open=${isOpen} onToggle=${(e) => setOpened(e.currentTarget.open)} id=${id}>
    <summary title=${s.description}>
      <span class="label-text">${label}</span>
      ${value === undefined && !required ? html` <span class="muted small">(not set${s.default !== undefined ? ', default applies' : ''})</span>` : null}
    </summary>
    ${isOpen
      ? html`<fieldset aria-describedby=${describedBy(help && `${id}-help`, messages.length && `${id}-err`)}>
          <legend class="sr-only">${label}</legend>
          <${Help} id=${`${id}-help`} text=${help} />
          <${Messages} id=${`${id}-err`} messages=${messages} />
          <${ObjectBody} ctx=${ctx} s=${s} path=${path} />
          ${!required && value !== undefined
            ? html`<button type="button" class="small secondary" onClick=${() => ctx.set(path, undefined)}>Clear ${label}</button>`
            : null}
        </fieldset>`
      : null}
  </details>`;
}

/** anyOf / oneOf: a select of the branches, then the chosen branch's fields. */
function ChoiceField({ ctx, s, path, label, required, id, value }) {
  const variants = variantsOf(s, ctx.root);
  const discriminator = discriminatorOf(variants);
  const index = chooseVariant(variants, value);
  const chosen = index >= 0 ? variants[index] : null;
  const discSchema = discriminator && chosen ? resolve(chosen.properties[discriminator], ctx.root) : null;
  // A protocol select explains the protocol (the discriminator's words), not the whole union.
  const help = helpText(discSchema?.description ? { ...s, description: discSchema.description } : s, ctx.root);
  const messages = problemsAt(ctx, discriminator ? [...path, discriminator] : path).concat(discriminator ? problemsAt(ctx, path) : []);
  const selectLabel = discriminator ? (label ? `${label}: ${discriminator}` : discriminator) : `${label || 'value'}: kind`;
  const selectId = `${id}-kind`;
  if (discriminator) ctx.fields.add(jsonPath([...path, discriminator]));
  const select = html`<div class="field">
    <label for=${selectId} title=${s.description ?? discSchema?.description}>${selectLabel}</label>
    <select id=${selectId} aria-describedby=${describedBy(help && `${id}-help`, messages.length && `${id}-err`)} aria-invalid=${messages.length ? 'true' : undefined}
      onChange=${(e) => {
        const i = Number(e.currentTarget.value);
        ctx.set(path, i < 0 ? undefined : switchVariant(value, variants[i], ctx.root));
      }}>
      ${!required || index < 0 ? html`<option value="-1" selected=${index < 0}>${required ? '(choose)' : '(not set)'}</option>` : null}
      ${variants.map((v, i) => html`<option value=${String(i)} selected=${i === index}>${variantLabel(v, discriminator)}</option>`)}
    </select>
    <${Help} id=${`${id}-help`} text=${help} />
    <${Messages} id=${`${id}-err`} messages=${messages} />
  </div>`;
  let body = null;
  if (chosen) {
    const kind = kindOf(chosen, ctx.root);
    if (kind === 'object') {
      body = html`<${ObjectBody} ctx=${ctx} s=${chosen} path=${path} skip=${discriminator} />`;
    } else if (!(chosen.const !== undefined || (Array.isArray(chosen.enum) && chosen.enum.length === 1))) {
      // The branch's own description (if any) beats the union's, which the select already shows.
      const inner = { ...chosen, description: chosen.description, default: chosen.default ?? s.default };
      body = html`<${Field} ctx=${ctx} schema=${inner} path=${path} label=${`${label || 'value'} (${variantLabel(chosen, null)})`} required=${true} />`;
    }
  }
  if (path.length === 0) return ctx.onlyKeys === null ? html`${select}${body}` : body;
  return html`<fieldset class="choice"><legend class="sr-only">${label}</legend>${select}${body ? html`<div class="choice-body">${body}</div>` : null}</fieldset>`;
}

function EnumField({ ctx, s, path, label, required, id, value }) {
  const allowed = allowedValues(s, ctx.root);
  const help = helpText(s, ctx.root);
  const messages = problemsAt(ctx, path);
  if (allowed.length === 1 && required) {
    return html`<div class="field"><span class="label-text" title=${s.description}>${label}</span> <code>${String(allowed[0])}</code><${Help} id=${`${id}-help`} text=${s.description} /></div>`;
  }
  const index = allowed.findIndex((v) => v === value);
  const empty = s.default !== undefined ? `(default: ${String(s.default)})` : required ? '(choose)' : '(not set)';
  return html`<div class="field">
    <label for=${id} title=${s.description}>${label}${required ? html`<span aria-hidden="true"> *</span>` : null}</label>
    <select id=${id} aria-describedby=${describedBy(help && `${id}-help`, messages.length && `${id}-err`)} aria-invalid=${messages.length ? 'true' : undefined} aria-required=${required ? 'true' : undefined}
      onChange=${(e) => {
        const i = Number(e.currentTarget.value);
        ctx.set(path, i < 0 ? undefined : allowed[i]);
      }}>
      <option value="-1" selected=${index < 0}>${empty}</option>
      ${allowed.map((v, i) => html`<option value=${String(i)} selected=${i === index}>${String(v)}</option>`)}
    </select>
    <${Help} id=${`${id}-help`} text=${help} />
    <${Messages} id=${`${id}-err`} messages=${messages} />
  </div>`;
}

/** A checkbox; a value equal to the default is left unset, so the file keeps only what differs. */
function BooleanField({ ctx, s, path, label, required, id, value }) {
  const help = helpText(s, ctx.root);
  const messages = problemsAt(ctx, path);
  const checked = value ?? s.default ?? false;
  return html`<div class="field checkbox">
    <input type="checkbox" id=${id} checked=${checked} aria-describedby=${describedBy(help && `${id}-help`, messages.length && `${id}-err`)} aria-invalid=${messages.length ? 'true' : undefined}
      onChange=${(e) => {
        const next = e.currentTarget.checked;
        ctx.set(path, !required && s.default !== undefined && next === s.default ? undefined : next);
      }} />
    <label for=${id} title=${s.description}>${label}</label>
    <${Help} id=${`${id}-help`} text=${help} />
    <${Messages} id=${`${id}-err`} messages=${messages} />
  </div>`;
}

function InputField({ ctx, s, path, label, required, id, value, kind }) {
  const help = helpText(s, ctx.root);
  const local = localProblem(s, value);
  const messages = problemsAt(ctx, path).concat(local ? [local] : []);
  const integer = typesOf(s).includes('integer') && !typesOf(s).includes('number');
  return html`<div class="field">
    <label for=${id} title=${s.description}>${label}${required ? html`<span aria-hidden="true"> *</span>` : null}</label>
    <input id=${id} type=${kind === 'number' ? 'number' : 'text'} value=${formatInput(value)} placeholder=${placeholderOf(s)}
      min=${kind === 'number' ? s.minimum : undefined} max=${kind === 'number' ? s.maximum : undefined} step=${kind === 'number' ? (integer ? '1' : 'any') : undefined}
      maxlength=${s.maxLength} spellcheck="false" autocomplete="off"
      aria-required=${required ? 'true' : undefined} aria-invalid=${messages.length ? 'true' : undefined}
      aria-describedby=${describedBy(help && `${id}-help`, messages.length && `${id}-err`)}
      onInput=${(e) => ctx.set(path, parseInput(s, e.currentTarget.value))} />
    <${Help} id=${`${id}-help`} text=${help} />
    <${Messages} id=${`${id}-err`} messages=${messages} />
  </div>`;
}

/** Free JSON for what the schema leaves open; kept as text until it parses. */
function JsonField({ ctx, s, path, label, required, id, value }) {
  const help = helpText(s, ctx.root);
  const messages = problemsAt(ctx, path);
  return html`<div class="field">
    <label for=${id} title=${s.description}>${label} (JSON)</label>
    <textarea id=${id} rows="2" spellcheck="false" aria-describedby=${describedBy(help && `${id}-help`, messages.length && `${id}-err`)}
      onChange=${(e) => ctx.set(path, parseInput({}, e.currentTarget.value))}>${formatInput(value)}</textarea>
    <${Help} id=${`${id}-help`} text=${help} />
    <${Messages} id=${`${id}-err`} messages=${messages} />
  </div>`;
}

/** Rows of one item schema; order matters for rules, so a row can move up. */
function ListField({ ctx, s, path, label, id, value }) {
  const items = resolve(s.items ?? {}, ctx.root);
  const rows = Array.isArray(value) ? value : [];
  const help = helpText(s, ctx.root);
  const messages = problemsAt(ctx, path);
  const singular = label.replace(/(ie)?s$/, (m, ie) => (ie ? 'y' : '')) || 'item';
  return html`<fieldset class="list" id=${id} aria-describedby=${describedBy(help && `${id}-help`, messages.length && `${id}-err`)}>
    <legend title=${s.description}>${label}</legend>
    <${Help} id=${`${id}-help`} text=${help} />
    <${Messages} id=${`${id}-err`} messages=${messages} />
    ${rows.map(
      (_, i) => html`<div class="list-row" key=${i}>
        <${Field} ctx=${ctx} schema=${items} path=${[...path, i]} label=${`${singular} ${i + 1}`} required=${true} />
        <div class="row-buttons">
          ${i > 0
            ? html`<button type="button" class="small secondary" onClick=${() => {
                const next = [...rows];
                [next[i - 1], next[i]] = [next[i], next[i - 1]];
                ctx.set(path, next);
              }}>Move ${singular} ${i + 1} up</button>`
            : null}
          <button type="button" class="small secondary" onClick=${() => ctx.remove(path, i)}>Remove ${singular} ${i + 1}</button>
        </div>
      </div>`,
    )}
    <button type="button" class="small" onClick=${() => ctx.set(path, [...rows, initialValue(items, ctx.root)])}>Add ${singular}</button>
  </fieldset>`;
}

/** An object with free keys (headers: name -> value): rows of a key and its value. */
function MapField({ ctx, s, path, label, id, value }) {
  const valueSchema = resolve(s.additionalProperties, ctx.root);
  const entries = Object.entries(value ?? {});
  const help = helpText(s, ctx.root);
  const messages = problemsAt(ctx, path);
  return html`<fieldset class="list" id=${id}>
    <legend title=${s.description}>${label}</legend>
    <${Help} id=${`${id}-help`} text=${help} />
    <${Messages} id=${`${id}-err`} messages=${messages} />
    ${entries.map(([key], i) => {
      const keyId = `${id}-key-${i}`;
      return html`<div class="list-row map-row" key=${i}>
        <div class="field">
          <label for=${keyId}>${label} name ${i + 1}</label>
          <input id=${keyId} type="text" value=${key} spellcheck="false" autocomplete="off" onChange=${(e) => ctx.rename(path, key, e.currentTarget.value)} />
        </div>
        <${Field} ctx=${ctx} schema=${valueSchema} path=${[...path, key]} label=${`${key} value`} required=${true} />
        <button type="button" class="small secondary" onClick=${() => ctx.set([...path, key], undefined)}>Remove ${key}</button>
      </div>`;
    })}
    <button type="button" class="small" onClick=${() => {
      let n = entries.length + 1;
      while (Object.hasOwn(value ?? {}, `name${n}`)) n++;
      ctx.set([...path, `name${n}`], initialValue(valueSchema, ctx.root));
    }}>Add ${label} entry</button>
  </fieldset>`;
}
