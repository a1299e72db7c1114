/**
 * Reading the config's JSON Schema (2020-12, from /api/v1/openapi.json) for the generated forms:
 * what kind of control a schema asks for, which anyOf/oneOf branch a value is in, the words of
 * its help text, and immutable edits of the value the form shows. Pure functions, tested in
 * Node (test/console/schema.test.ts); the form component (components/schema-form.js) only
 * renders what these decide, so a field the schema gains appears without console code.
 */

/** Follow `$ref` ("#/components/schemas/Rule", "#/$defs/x") through `root`; cycles stop after 32 hops. */
export function resolve(schema, root) {
  let current = schema ?? {};
  for (let hops = 0; current && typeof current.$ref === 'string' && hops < 32; hops++) {
    const target = pointer(root, current.$ref);
    if (target === undefined) break;
    // Keywords beside $ref (2020-12 allows them: a description on the use site) win over the target's.
    const { $ref: _ref, ...beside } = current;
    current = { ...target, ...beside };
  }
  return current;
}

function pointer(root, ref) {
  if (!ref.startsWith('#')) return undefined;
  let node = root;
  for (const raw of ref.slice(1).split('/').filter((p) => p !== '')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = node[key];
  }
  return node;
}

/** The schema's types as a list ("type": ["string", "number"] or one name; [] when open). */
export function typesOf(schema) {
  if (Array.isArray(schema.type)) return schema.type;
  if (typeof schema.type === 'string') return [schema.type];
  if (schema.properties) return ['object'];
  if (schema.items) return ['array'];
  return [];
}

/** The branches of an anyOf/oneOf, resolved; null when the schema has none. */
export function variantsOf(schema, root) {
  const list = schema.oneOf ?? schema.anyOf;
  if (!Array.isArray(list)) return null;
  return list.map((v) => resolve(v, root));
}

/** The property every object branch fixes with a `const` (a virtual service's `protocol`); null when none does. */
export function discriminatorOf(variants) {
  if (variants.length < 2 || !variants.every((v) => v.properties)) return null;
  const first = variants[0].properties;
  for (const key of Object.keys(first)) {
    if (variants.every((v) => v.properties[key] && v.properties[key].const !== undefined)) return key;
  }
  return null;
}

/** The scalar values a schema allows, when it is a closed list (enum, const, or branches of those); null otherwise. */
export function allowedValues(schema, root) {
  if (Array.isArray(schema.enum)) return schema.enum;
  if (schema.const !== undefined) return [schema.const];
  const variants = variantsOf(schema, root);
  if (variants === null) return null;
  const values = [];
  for (const v of variants) {
    const own = Array.isArray(v.enum) ? v.enum : v.const !== undefined ? [v.const] : null;
    if (own === null) return null;
    values.push(...own);
  }
  return values;
}

/**
 * The control a schema asks for:
 * object (fieldset), map (key/value rows), list (rows), choice (a select that swaps the fields:
 * anyOf/oneOf), enum (select), boolean (checkbox), number, string, json (free JSON text).
 */
export function kindOf(schema, root) {
  if (allowedValues(schema, root) !== null) return 'enum';
  if (variantsOf(schema, root) !== null) return 'choice';
  const types = typesOf(schema);
  if (types.length !== 1) return types.every((t) => t === 'string' || t === 'number' || t === 'integer') && types.length > 0 ? 'string' : 'json';
  switch (types[0]) {
    case 'object':
      if (schema.properties) return 'object';
      if (schema.additionalProperties && typeof schema.additionalProperties === 'object') return 'map';
      return 'json';
    case 'array':
      return 'list';
    case 'boolean':
      return 'boolean';
    case 'integer':
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    default:
      return 'json';
  }
}

function typeOfValue(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeAccepts(schema, value) {
  if (schema.const !== undefined) return schema.const === value;
  if (Array.isArray(schema.enum)) return schema.enum.includes(value);
  const types = typesOf(schema);
  if (types.length === 0) return true;
  const t = typeOfValue(value);
  return types.includes(t) || (t === 'integer' && types.includes('number'));
}

/** Which branch `value` is in: by the discriminator, else the first whose type accepts it; -1 when unset. */
export function chooseVariant(variants, value) {
  if (value === undefined) return -1;
  const key = discriminatorOf(variants);
  if (key !== null && value && typeof value === 'object') {
    const index = variants.findIndex((v) => v.properties[key].const === value[key]);
    if (index >= 0) return index;
  }
  const index = variants.findIndex((v) => typeAccepts(v, value));
  return index >= 0 ? index : 0;
}

/** A branch's name in the select that swaps them. */
export function variantLabel(variant, discriminator) {
  if (discriminator !== null && variant.properties?.[discriminator]) return String(variant.properties[discriminator].const);
  if (variant.title) return variant.title;
  if (variant.const !== undefined) return variant.const === false ? 'off (false)' : String(variant.const);
  const types = typesOf(variant);
  const words = { object: 'settings', array: 'list', string: 'text', integer: 'whole number', number: 'number', boolean: 'yes / no', null: 'none' };
  if (types.length === 0) return 'value';
  return types.map((t) => words[t] ?? t).join(' or ');
}

/** What a newly chosen branch, or a newly added row, starts as: never undefined, so the choice sticks. */
export function initialValue(schema, root) {
  const s = resolve(schema, root);
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum)) return s.default ?? s.enum[0];
  const variants = variantsOf(s, root);
  if (variants !== null) return initialValue(variants[0], root);
  switch (typesOf(s)[0]) {
    case 'object': {
      const value = {};
      for (const key of s.required ?? []) {
        const prop = resolve(s.properties?.[key] ?? {}, root);
        if (prop.const !== undefined) value[key] = prop.const;
      }
      return value;
    }
    case 'array':
      return [];
    case 'boolean':
      return s.default ?? true;
    case 'integer':
    case 'number':
      return s.default ?? s.minimum ?? 0;
    default:
      return s.default ?? '';
  }
}

/** Switch a value to another branch: an object keeps the keys the new branch also has (a protocol change keeps name and listen). */
export function switchVariant(value, variant, root) {
  const next = initialValue(variant, root);
  if (next && typeof next === 'object' && !Array.isArray(next) && value && typeof value === 'object' && !Array.isArray(value)) {
    const kept = {};
    for (const [key, v] of Object.entries(value)) if (variant.properties?.[key]) kept[key] = v;
    return { ...kept, ...next };
  }
  return next;
}

export function getIn(value, path) {
  let node = value;
  for (const key of path) {
    if (node === null || node === undefined) return undefined;
    node = node[key];
  }
  return node;
}

/**
 * `value` with `next` at `path`, copied along the path. `undefined` removes the key, and an
 * object that removal leaves empty goes too, so unset optional fields stay out of the JSON sent.
 */
export function setIn(value, path, next) {
  if (path.length === 0) return next;
  const [head, ...rest] = path;
  const isList = typeof head === 'number';
  const container = isList ? [...(Array.isArray(value) ? value : [])] : { ...(value && typeof value === 'object' && !Array.isArray(value) ? value : {}) };
  const child = setIn(container[head], rest, next);
  if (child === undefined && !isList) {
    delete container[head];
    if (Object.keys(container).length === 0 && next === undefined) return undefined;
    return container;
  }
  // A row that lost its last key stays a row ({}), so the rows after it keep their indexes.
  container[head] = child === undefined && isPlainObject(container[head]) ? {} : child;
  return container;
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Remove row `index` of the list at `path`; an emptied list is removed. */
export function removeAt(value, path, index) {
  const list = getIn(value, path);
  if (!Array.isArray(list)) return value;
  const next = list.filter((_, i) => i !== index);
  return setIn(value, path, next.length === 0 ? undefined : next);
}

/** Rename a map key in place (order kept). */
export function renameKey(value, path, from, to) {
  const map = getIn(value, path) ?? {};
  if (from === to || Object.hasOwn(map, to)) return value;
  const next = {};
  for (const [k, v] of Object.entries(map)) next[k === from ? to : k] = v;
  return setIn(value, path, next);
}

/** An input's text as the value to store: '' is unset; numbers parse when they are numbers (else the text goes to the server, which says why). */
export function parseInput(schema, text) {
  if (text === '') return undefined;
  const types = typesOf(schema);
  if ((types.includes('integer') || types.includes('number')) && !types.includes('string')) {
    return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text.trim()) ? Number(text) : text;
  }
  if (types.length === 0 || kindOf(schema) === 'json') {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** A value as an input's text. */
export function formatInput(value) {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The placeholder: the default, when there is one. */
export function placeholderOf(schema) {
  if (schema.default === undefined) return '';
  return `default: ${typeof schema.default === 'object' ? JSON.stringify(schema.default) : String(schema.default)}`;
}

/** Help text: the description, then allowed values, range, length and default, in words. */
export function helpText(schema, root) {
  const parts = [];
  if (schema.description) parts.push(schema.description);
  const allowed = allowedValues(schema, root);
  if (allowed !== null && allowed.length > 1) parts.push(`Allowed: ${allowed.map(String).join(', ')}.`);
  const range = rangeText(schema);
  if (range) parts.push(range);
  if (schema.default !== undefined) parts.push(`Default: ${typeof schema.default === 'object' ? JSON.stringify(schema.default) : String(schema.default)}.`);
  return parts.join(' ');
}

function rangeText(schema) {
  const { minimum: min, maximum: max, minLength, maxLength, minItems, maxItems } = schema;
  if (min !== undefined && max !== undefined) return `From ${min} to ${max}.`;
  if (min !== undefined) return `At least ${min}.`;
  if (max !== undefined) return `At most ${max}.`;
  if (minItems !== undefined && maxItems !== undefined) return `${minItems} to ${maxItems} entries.`;
  if (minItems !== undefined && minItems > 0) return `At least ${minItems} ${minItems === 1 ? 'entry' : 'entries'}.`;
  if (maxLength !== undefined && minLength !== undefined && minLength > 0) return `${minLength} to ${maxLength} characters.`;
  if (maxLength !== undefined) return `Up to ${maxLength} characters.`;
  return '';
}

/** What is wrong with a scalar before the server sees it (pattern, range, length); null when nothing. */
export function localProblem(schema, value) {
  if (value === undefined) return null;
  if (typeof value === 'string') {
    const types = typesOf(schema);
    if ((types.includes('integer') || types.includes('number')) && !types.includes('string')) return 'must be a number';
    if (schema.minLength !== undefined && value.length < schema.minLength) return `must be at least ${schema.minLength} character${schema.minLength === 1 ? '' : 's'}`;
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return `must be at most ${schema.maxLength} characters`;
    if (typeof schema.pattern === 'string') {
      let pattern = null;
      try {
        pattern = new RegExp(schema.pattern, 'u');
      } catch {
        pattern = null; // a pattern this engine cannot read: the server decides
      }
      if (pattern !== null && !pattern.test(value)) return `does not have the expected form (${schema.pattern})`;
    }
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return `must be at least ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `must be at most ${schema.maximum}`;
    if (typesOf(schema).includes('integer') && !typesOf(schema).includes('number') && !Number.isInteger(value)) return 'must be a whole number';
  }
  return null;
}

/** Whether `key` is required by the object schema. */
export function isRequired(schema, key) {
  return Array.isArray(schema.required) && schema.required.includes(key);
}

/** A path as the API writes it (RFC 9535 style): ["rules", 0, "match", "path"] -> "$.rules[0].match.path", ["a b"] -> "$['a b']". */
export function jsonPath(path) {
  let text = '$';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(key)) text += `.${key}`;
    else text += `['${key.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}']`;
  }
  return text;
}

/** The reverse of jsonPath; null for text that is not a path ("$.a[0]['b c']" and '$.a["b"]' both read). */
export function parseJsonPath(text) {
  if (typeof text !== 'string') return null;
  const source = text.trim();
  if (!source.startsWith('$')) return null;
  const path = [];
  let i = 1;
  while (i < source.length) {
    const c = source[i];
    if (c === '.') {
      const m = /^[^.[\]\s]+/.exec(source.slice(i + 1));
      if (m === null) return null;
      path.push(m[0]);
      i += 1 + m[0].length;
    } else if (c === '[') {
      const rest = source.slice(i);
      const index = /^\[(\d+)\]/.exec(rest);
      const quoted = /^\[(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\]/.exec(rest);
      if (index) {
        path.push(Number(index[1]));
        i += index[0].length;
      } else if (quoted) {
        path.push(quoted[1] !== undefined ? JSON.parse(`"${quoted[1]}"`) : quoted[2].replace(/\\(.)/g, '$1'));
        i += quoted[0].length;
      } else return null;
    } else return null;
  }
  return path;
}
