/**
 * Create, read, replace and delete the keyed lists of the config: virtual services, pools, a
 * pool's real servers and GSLB FQDNs. One generic implementation over src/admin/collections:
 * each collection says where its list is and how its items are named; every write goes through
 * ConfigChanges (validate, dry run, If-Match, apply, version, audit).
 */
import type { Document } from 'yaml';
import { canonicalAddress } from '../config-edit.ts';
import type { ConfigChanges, EditOutcome } from '../config-changes.ts';
import { ErrorCode } from '../../errors.ts';
import { suggest } from '../../config/suggest.ts';
import { fqdnKey } from '../../config/gslb-names.ts';
import type { StoredConfig } from '../../store/config-store.ts';
import { append, etagOf, focusOf, idsOf, indexOf, items, parseConfigDocument, removeAt, render, replaceAt, type ListSpec } from '../collections/yaml-list.ts';
import type { ApiFailure } from '../types.ts';
import { redactFor } from '../redact.ts';
import { failureAnswer, type Answer, type Handler, type RequestContext, requestOf } from './context.ts';

export interface Collection {
  /** "virtual service": for messages and the audit log. */
  noun: string;
  /** The audit action's prefix ("virtualService"). */
  action: string;
  /** The path parameter holding the item's id ("name", "address", "fqdn"). */
  idParam: string;
  /** The key that names an item in the config ("name", "address"). */
  key: 'name' | 'address';
  /** Two ids that name the same item ("WWW.example.com." and "www.example.com"). */
  normalise: (id: string) => string;
  /** Where the list is, for this request (a pool's real servers depend on the pool); a failure when the parent is missing. */
  locate: (doc: Document, params: Record<string, string>) => { ok: true; spec: ListSpec } | { ok: false; failure: ApiFailure };
  /** The URL of an item, for Location. */
  url: (params: Record<string, string>, id: string) => string;
}

const byName = (id: string): string => id;
const byFqdn = fqdnKey;

export const VIRTUAL_SERVICES: Collection = {
  noun: 'virtual service',
  action: 'virtualService',
  idParam: 'name',
  key: 'name',
  normalise: byName,
  locate: () => ({ ok: true, spec: { path: ['virtualServices'], key: 'name', normalise: byName } }),
  url: (_p, id) => `/api/v1/virtual-services/${encodeURIComponent(id)}`,
};

export const POOLS: Collection = {
  noun: 'pool',
  action: 'pool',
  idParam: 'pool',
  key: 'name',
  normalise: byName,
  locate: () => ({ ok: true, spec: { path: ['pools'], key: 'name', normalise: byName } }),
  url: (_p, id) => `/api/v1/pools/${encodeURIComponent(id)}`,
};

/** A pool's real servers: a pool under pools:, or the inline pool of the virtual service of that name. */
export const REAL_SERVERS: Collection = {
  noun: 'real server',
  action: 'realServer',
  idParam: 'address',
  key: 'address',
  normalise: canonicalAddress,
  locate: (doc, params) => {
    const pool = params.pool ?? '';
    const spec = (path: ListSpec['path']): { ok: true; spec: ListSpec } => ({ ok: true, spec: { path: [...path, 'realServers'], key: 'address', normalise: canonicalAddress } });
    const shared = indexOf(doc, POOL_LIST, pool);
    if (shared >= 0) return spec(['pools', shared]);
    const inline = items(doc, VS_LIST).findIndex((vs) => vs.name === pool && Array.isArray(vs.realServers));
    if (inline >= 0) return spec(['virtualServices', inline]);
    const names = [...idsOf(doc, POOL_LIST), ...items(doc, VS_LIST).filter((vs) => Array.isArray(vs.realServers)).map((vs) => String(vs.name))];
    return { ok: false, failure: notFound('pool', pool, names) };
  },
  url: (params, id) => `/api/v1/pools/${encodeURIComponent(params.pool ?? '')}/real-servers/${encodeURIComponent(id)}`,
};

export const FQDNS: Collection = {
  noun: 'GSLB FQDN',
  action: 'fqdn',
  idParam: 'fqdn',
  key: 'name',
  normalise: byFqdn,
  locate: () => ({ ok: true, spec: { path: ['gslb', 'fqdns'], key: 'name', normalise: byFqdn } }),
  url: (_p, id) => `/api/v1/gslb/fqdns/${encodeURIComponent(id)}`,
};

export const ZONES: Collection = {
  noun: 'GSLB zone',
  action: 'zone',
  idParam: 'zone',
  key: 'name',
  normalise: byFqdn,
  locate: () => ({ ok: true, spec: { path: ['gslb', 'zones'], key: 'name', normalise: byFqdn } }),
  url: (_p, id) => `/api/v1/gslb/zones/${encodeURIComponent(id)}`,
};

/** The content rules of one virtual service, in order (a new one goes last). */
export const RULES: Collection = {
  noun: 'rule',
  action: 'rule',
  idParam: 'rule',
  key: 'name',
  normalise: byName,
  locate: (doc, params) => {
    const name = params.name ?? '';
    const index = indexOf(doc, VS_LIST, name);
    if (index < 0) return { ok: false, failure: notFound('virtual service', name, idsOf(doc, VS_LIST)) };
    return { ok: true, spec: { path: ['virtualServices', index, 'rules'], key: 'name', normalise: byName } };
  },
  url: (params, id) => `/api/v1/virtual-services/${encodeURIComponent(params.name ?? '')}/rules/${encodeURIComponent(id)}`,
};

/** The sites of one balanced name. */
export const SITES: Collection = {
  noun: 'GSLB site',
  action: 'site',
  idParam: 'site',
  key: 'name',
  normalise: byName,
  locate: (doc, params) => {
    const fqdn = params.fqdn ?? '';
    const index = indexOf(doc, FQDN_LIST, fqdn);
    if (index < 0) return { ok: false, failure: notFound('GSLB FQDN', fqdn, idsOf(doc, FQDN_LIST)) };
    return { ok: true, spec: { path: ['gslb', 'fqdns', index, 'sites'], key: 'name', normalise: byName } };
  },
  url: (params, id) => `/api/v1/gslb/fqdns/${encodeURIComponent(params.fqdn ?? '')}/sites/${encodeURIComponent(id)}`,
};

const POOL_LIST: ListSpec = { path: ['pools'], key: 'name', normalise: byName };
const FQDN_LIST: ListSpec = { path: ['gslb', 'fqdns'], key: 'name', normalise: byFqdn };
const VS_LIST: ListSpec = { path: ['virtualServices'], key: 'name', normalise: byName };

export function collectionHandlers(collection: Collection, changes: ConfigChanges, read: () => Promise<StoredConfig>): { list: Handler; get: Handler; create: Handler; replace: Handler; remove: Handler } {
  const open = async (ctx: RequestContext): Promise<{ ok: true; doc: Document; spec: ListSpec; revision: string } | { ok: false; answer: Answer }> => {
    const stored = await read();
    const parsed = parseConfigDocument(stored.text);
    if (!parsed.ok) return { ok: false, answer: failureAnswer({ status: 409, code: ErrorCode.CONFIG_INVALID, message: `the stored config does not parse: ${parsed.message}` }) };
    const located = collection.locate(parsed.doc, ctx.params);
    if (!located.ok) return { ok: false, answer: failureAnswer(located.failure) };
    return { ok: true, doc: parsed.doc, spec: located.spec, revision: stored.revision };
  };

  const list: Handler = async (ctx) => {
    const opened = await open(ctx);
    if (!opened.ok) return opened.answer;
    return { status: 200, body: redactFor(ctx.principal, items(opened.doc, opened.spec)), headers: { etag: `"${opened.revision}"` } };
  };

  const get: Handler = async (ctx) => {
    const opened = await open(ctx);
    if (!opened.ok) return opened.answer;
    const id = ctx.params[collection.idParam] ?? '';
    const index = indexOf(opened.doc, opened.spec, id);
    if (index < 0) return failureAnswer(notFound(collection.noun, id, idsOf(opened.doc, opened.spec)));
    const item = items(opened.doc, opened.spec)[index];
    return { status: 200, body: redactFor(ctx.principal, item), headers: { etag: etagOf(item) } };
  };

  /** An edit of the stored text for this collection: `change` gets the document, the list and the item's index (-1 when absent). */
  const write = async (ctx: RequestContext, verb: string, id: string, change: (doc: Document, spec: ListSpec, index: number) => ApiFailure | { index: number } | null): Promise<Answer> => {
    let etag: string | undefined;
    let focus: string | undefined;
    const result = await changes.apply({
      ...requestOf(ctx, `${collection.action}.${verb}`, id),
      edit: (current): EditOutcome => {
        const parsed = parseConfigDocument(current.text);
        if (!parsed.ok) return { ok: false, failure: { status: 409, code: ErrorCode.CONFIG_INVALID, message: `the stored config does not parse: ${parsed.message}` } };
        const located = collection.locate(parsed.doc, ctx.params);
        if (!located.ok) return located;
        const index = indexOf(parsed.doc, located.spec, id);
        if (ctx.ifMatch !== undefined && ctx.ifMatch !== '*') {
          const currentTag = index < 0 ? null : etagOf(items(parsed.doc, located.spec)[index]);
          if (currentTag !== ctx.ifMatch) {
            return { ok: false, failure: { status: 412, code: ErrorCode.ADMIN_PRECONDITION, message: `the ${collection.noun} ${JSON.stringify(id)} changed since it was read (If-Match ${ctx.ifMatch}, now ${currentTag ?? 'absent'}); read it again and retry` } };
          }
        }
        const outcome = change(parsed.doc, located.spec, index);
        if (outcome !== null && 'status' in outcome) return { ok: false, failure: outcome };
        if (outcome !== null) {
          focus = focusOf(located.spec, outcome.index);
          etag = etagOf(items(parsed.doc, located.spec)[outcome.index]);
        }
        return { ok: true, text: render(parsed.doc, current.text), summary: `${collection.noun} ${id}: ${verb === 'create' ? 'created' : verb === 'delete' ? 'deleted' : 'replaced'}`, ...(focus !== undefined ? { focus } : {}) };
      },
    });
    if (!result.ok) return failureAnswer(result.failure);
    const headers: Record<string, string> = {};
    if (etag !== undefined) headers.etag = etag;
    if (verb === 'create' && !result.dryRun) headers.location = collection.url(ctx.params, id);
    const status = verb === 'create' && !result.dryRun ? 201 : 200;
    return { status, headers, body: { dryRun: result.dryRun, changed: result.changed, diff: result.diff, revision: result.revision, generation: result.generation, version: result.version?.id ?? null, ...(etag !== undefined ? { etag } : {}) } };
  };

  const itemBody = async (ctx: RequestContext, key: string, id: string | null): Promise<{ ok: true; item: Record<string, unknown> } | { ok: false; answer: Answer }> => {
    const body = await ctx.body();
    if (!body.ok) return { ok: false, answer: failureAnswer(body.failure) };
    const value = body.value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { ok: false, answer: failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: `the body must be one ${collection.noun} as a JSON object` }) };
    }
    const item = value as Record<string, unknown>;
    if (id !== null) {
      if (item[key] === undefined) item[key] = id;
      // Renaming through PUT would orphan every reference to the old name; create and delete instead.
      else if (typeof item[key] !== 'string' || collection.normalise(item[key] as string) !== collection.normalise(id)) {
        return { ok: false, answer: failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: `the body's ${key} ${JSON.stringify(item[key])} is not the ${collection.noun} of the URL (${JSON.stringify(id)}); to rename, create the new one and delete the old` }) };
      }
    } else if (typeof item[key] !== 'string' || item[key] === '') {
      return { ok: false, answer: failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: `a new ${collection.noun} needs "${key}"`, problems: [`$.${key}: required`] }) };
    }
    return { ok: true, item };
  };

  const keyOf = (_ctx: RequestContext): string => collection.key;

  const create: Handler = async (ctx) => {
    const body = await itemBody(ctx, keyOf(ctx), null);
    if (!body.ok) return body.answer;
    const id = String(body.item[keyOf(ctx)]);
    return write(ctx, 'create', id, (doc, spec, index) => {
      if (index >= 0) return { status: 409, code: ErrorCode.ADMIN_EXISTS, message: `a ${collection.noun} ${JSON.stringify(id)} exists already; PUT ${collection.url(ctx.params, id)} replaces it` };
      return { index: append(doc, spec, body.item) };
    });
  };

  const replace: Handler = async (ctx) => {
    const id = ctx.params[collection.idParam] ?? '';
    const body = await itemBody(ctx, keyOf(ctx), id);
    if (!body.ok) return body.answer;
    return write(ctx, 'replace', id, (doc, spec, index) => {
      if (index < 0) return notFound(collection.noun, id, idsOf(doc, spec), ` (POST ${collection.url(ctx.params, '').replace(/\/$/, '')} creates one)`);
      replaceAt(doc, spec, index, body.item);
      return { index };
    });
  };

  const remove: Handler = async (ctx) => {
    const id = ctx.params[collection.idParam] ?? '';
    return write(ctx, 'delete', id, (doc, spec, index) => {
      if (index < 0) return notFound(collection.noun, id, idsOf(doc, spec));
      removeAt(doc, spec, index);
      return null;
    });
  };

  return { list, get, create, replace, remove };
}

export function notFound(noun: string, id: string, candidates: readonly string[], extra = ''): ApiFailure {
  const suggestion = suggest(id, candidates);
  let message = `no ${noun} ${JSON.stringify(id)}`;
  if (suggestion !== undefined) message += `; did you mean ${JSON.stringify(suggestion)}?`;
  else if (candidates.length > 0 && candidates.length <= 10) message += ` (there are: ${candidates.join(', ')})`;
  const failure: ApiFailure = { status: 404, code: ErrorCode.ADMIN_NOT_FOUND, message: message + extra };
  if (suggestion !== undefined) failure.suggestion = suggestion;
  return failure;
}
