/**
 * The OpenAPI 3.1 document of the admin API, generated from the route table (route-table.ts),
 * the API's bodies (api-schemas.ts) and the config's own JSON Schema (configJsonSchema(), the
 * source of schema/fulcrum.schema.json). The config pieces (VirtualService, Pool, ...) are cut
 * out of that one JSON Schema by path, so every description, default and allowed value the
 * console shows as a tooltip is the same text as the editor's and docs/configuration.md's.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { configJsonSchema } from '../config/reference.ts';
import { apiSchemas, ErrorSchema } from './api-schemas.ts';
import { ROUTES, type BodySchema, type ConfigComponent, type ResponseSpec, type RouteSpec } from './route-table.ts';

type Json = Record<string, unknown>;

const SCHEMAS = '#/components/schemas/';
const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/**
 * Where each config piece sits in the config's JSON Schema: keys joined by dots, `[]` for a
 * list's items, `[protocol=https]` for the member of a list's union with that discriminator.
 */
const CONFIG_PIECES: Record<Exclude<ConfigComponent, 'Config'>, string> = {
  VirtualService: 'virtualServices[]',
  Pool: 'pools[]',
  RealServer: 'pools[].realServers[]',
  HealthCheck: 'pools[].healthCheck',
  Persistence: 'pools[].persistence',
  Rule: 'virtualServices[protocol=http].rules[]',
  Tls: 'virtualServices[protocol=https].tls',
  Gslb: 'gslb',
  GslbZone: 'gslb.zones[]',
  GslbFqdn: 'gslb.fqdns[]',
  GslbSite: 'gslb.fqdns[].sites[]',
};

/** Names for the config schema's own $defs (zod numbers them), by the key that refers to one. */
const DEFINITION_NAMES: Record<string, string> = { match: 'RuleMatch' };

let cached: Json | undefined;

/** The document served at /api/v1/openapi.json; built once (it does not change while the process runs). */
export function openApiDocument(): Json {
  cached ??= buildDocument();
  return cached;
}

function buildDocument(): Json {
  const schemas: Record<string, Json> = { ...configComponents(), ...apiComponents() };
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of ROUTES) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: JSON_SCHEMA_DIALECT,
    info: {
      title: 'Fulcrum admin API',
      version: packageVersion(),
      description:
        'JSON over HTTP on the admin listener (admin.listen). Config bodies are written as in the config file; the schemas of the config pieces are the config file\'s own (schema/fulcrum.schema.json). Every write to the config is validated like `fulcrum check`, applied to every worker as one transaction and saved; with ?dryRun=true it only answers the diff. Items answer an ETag; a PUT or DELETE with a stale If-Match gets 412.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { cookie: [] }],
    tags: [...new Set(ROUTES.map(tagOf))].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (POST /api/v1/tokens), for scripts and the CLI.' },
        cookie: {
          type: 'apiKey',
          in: 'cookie',
          name: 'fulcrum_session',
          description: 'The console\'s session (POST /api/v1/session). A POST, PUT, PATCH or DELETE made with it must echo the session\'s csrfToken in X-CSRF-Token.',
        },
      },
      parameters: {
        DryRun: { name: 'dryRun', in: 'query', description: 'true: validate exactly as a real write and answer the diff it would make; nothing is applied or saved.', schema: { type: 'boolean', default: false } },
        IfMatch: { name: 'If-Match', in: 'header', description: 'The ETag of the version this change is based on; a stale one gets 412 and changes nothing.', schema: { type: 'string' } },
        CsrfToken: { name: 'X-CSRF-Token', in: 'header', description: 'Required with the session cookie (not with a bearer token): the csrfToken of the session.', schema: { type: 'string' } },
      },
      responses: {
        BadRequest: errorResponse('The request is not valid: each problem with its JSON path in problems.'),
        Unauthorized: errorResponse('No credentials, or wrong or expired ones.'),
        Forbidden: errorResponse('The role does not allow this, or a cookie write lacks X-CSRF-Token.'),
        NotFound: errorResponse('No such item.'),
        PreconditionFailed: errorResponse('If-Match names a version that is no longer current; nothing was changed.'),
      },
    },
  };
}

function operation(route: RouteSpec): Json {
  const pathParams = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const writes = route.method !== 'GET';
  const parameters: Json[] = [
    ...pathParams.map((name) => ({ name, in: 'path', required: true, description: route.params?.[name] ?? name, schema: { type: 'string' } })),
    ...Object.entries(route.query ?? {}).map(([name, q]) => ({ name, in: 'query', description: q.description, schema: q.schema })),
  ];
  if (route.dryRun === true) parameters.push({ $ref: '#/components/parameters/DryRun' });
  if (route.etag === true && writes) parameters.push({ $ref: '#/components/parameters/IfMatch' });
  if (writes && route.permission !== 'public') parameters.push({ $ref: '#/components/parameters/CsrfToken' });

  const responses: Record<string, Json> = {};
  for (const [status, spec] of Object.entries(route.responses)) responses[status] = response(spec, route.etag === true && (route.method === 'GET' || route.method === 'PUT') && status === '200');
  const shared = (status: number, name: string, applies: boolean): void => {
    if (applies && responses[status] === undefined) responses[status] = { $ref: `#/components/responses/${name}` };
  };
  shared(400, 'BadRequest', route.requestBody !== undefined || route.query !== undefined || pathParams.length > 0 || route.dryRun === true);
  shared(401, 'Unauthorized', route.permission !== 'public');
  shared(403, 'Forbidden', route.permission === 'operate' || route.permission === 'administer' || (writes && route.permission !== 'public'));
  shared(404, 'NotFound', pathParams.length > 0);
  shared(412, 'PreconditionFailed', route.etag === true && writes);

  const op: Json = {
    operationId: route.id,
    summary: route.summary,
    ...(route.description === undefined ? {} : { description: route.description }),
    tags: [tagOf(route)],
    'x-fulcrum-permission': route.permission,
  };
  if (route.permission === 'public') op.security = [];
  if (parameters.length > 0) op.parameters = parameters;
  if (route.requestBody !== undefined) {
    op.requestBody = {
      required: true,
      ...(route.requestBody.description === undefined ? {} : { description: route.requestBody.description }),
      content: content(route.requestBody.schema, route.requestBody.contentTypes),
    };
  }
  op.responses = sortByStatus(responses);
  return op;
}

function response(spec: ResponseSpec, withEtag: boolean): Json {
  const headers: Record<string, Json> = {};
  if (withEtag) headers.ETag = { description: 'The version of what was answered; send it back in If-Match.', schema: { type: 'string' } };
  for (const [name, header] of Object.entries(spec.headers ?? {})) headers[name] = { description: header.description, schema: header.schema ?? { type: 'string' } };
  return {
    description: spec.description,
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(spec.schema !== undefined || spec.contentTypes !== undefined ? { content: content(spec.schema, spec.contentTypes) } : {}),
  };
}

/** JSON types carry the schema; another type (YAML, text) carries the text form of it. */
function content(schema: BodySchema | undefined, types: readonly string[] = ['application/json']): Json {
  const result: Json = {};
  for (const type of types) {
    const json = /[/+]json$/.test(type);
    result[type] = { schema: json && schema !== undefined ? bodySchema(schema) : { type: 'string' } };
  }
  return result;
}

function bodySchema(schema: BodySchema): Json {
  if (typeof schema !== 'string') {
    const id = apiSchemas.get(schema)?.id;
    return id !== undefined ? { $ref: SCHEMAS + id } : stripDocumentKeys(z.toJSONSchema(schema, { io: 'input' }) as Json);
  }
  if (schema === 'ConfigJsonSchema') return { type: 'object', description: 'A JSON Schema 2020-12 document: the config file\'s (schema/fulcrum.schema.json).' };
  if (schema === 'OpenApiDocument') return { type: 'object', description: 'An OpenAPI 3.1 document: this one.' };
  if (schema.endsWith('[]')) return { type: 'array', items: { $ref: SCHEMAS + schema.slice(0, -2) } };
  return { $ref: SCHEMAS + schema };
}

function errorResponse(description: string): Json {
  return { description, content: { 'application/json': { schema: bodySchema(ErrorSchema) } } };
}

function tagOf(route: RouteSpec): string {
  return route.id.slice(0, route.id.indexOf('.'));
}

function sortByStatus(responses: Record<string, Json>): Record<string, Json> {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
}

// --- components -----------------------------------------------------------------------------

/** The API's bodies, each $ref-ing the others by component name. */
function apiComponents(): Record<string, Json> {
  const { schemas } = z.toJSONSchema(apiSchemas, { io: 'input', uri: (id) => SCHEMAS + id }) as { schemas: Record<string, Json> };
  return Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, stripDocumentKeys(schema)]));
}

/**
 * Config, VirtualService, Pool, ... cut out of the config's JSON Schema. A piece found inside
 * another (a pool's real servers, a virtual service's rules) becomes a $ref to its component, so
 * the document holds each piece once and the console meets the same name everywhere.
 */
export function configComponents(): Record<string, Json> {
  const root = structuredClone(configJsonSchema()) as Json;
  const defs = (root.$defs ?? {}) as Record<string, Json>;
  delete root.$defs;
  const config = stripDocumentKeys(root);

  const pieces: Record<string, Json> = { Config: config };
  for (const [name, path] of Object.entries(CONFIG_PIECES)) pieces[name] = structuredClone(schemaAt(config, path));
  const byText = new Map<string, string>();
  for (const [name, piece] of Object.entries(pieces)) if (name !== 'Config') byText.set(JSON.stringify(piece), name);

  const defNames = definitionNames(config, Object.keys(defs));
  const components: Record<string, Json> = {};
  for (const [name, piece] of Object.entries(pieces)) components[name] = referTo(piece, byText, defNames, true) as Json;
  for (const [key, def] of Object.entries(defs)) components[defNames.get(key)!] = referTo(def, byText, defNames, true) as Json;
  return components;
}

/** A copy of `node` with every piece inside it (not itself) a $ref, and $defs refs renamed to components. */
function referTo(node: unknown, byText: ReadonlyMap<string, string>, defNames: ReadonlyMap<string, string>, isRoot: boolean): unknown {
  if (Array.isArray(node)) return node.map((item) => referTo(item, byText, defNames, false));
  if (typeof node !== 'object' || node === null) return node;
  if (!isRoot) {
    const piece = byText.get(JSON.stringify(node));
    if (piece !== undefined) return { $ref: SCHEMAS + piece };
  }
  const copy: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#/$defs/')) {
      copy.$ref = SCHEMAS + defNames.get(value.slice('#/$defs/'.length))!;
    } else {
      copy[key] = referTo(value, byText, defNames, false);
    }
  }
  return copy;
}

/** Each $defs key named after the first key that refers to it (DEFINITION_NAMES), else Config_<key>. */
function definitionNames(config: Json, keys: readonly string[]): Map<string, string> {
  const referrers = new Map<string, string>();
  const visit = (node: unknown, key: string): void => {
    if (Array.isArray(node)) return node.forEach((item) => visit(item, key));
    if (typeof node !== 'object' || node === null) return;
    const ref = (node as Json).$ref;
    if (typeof ref === 'string' && ref.startsWith('#/$defs/') && !referrers.has(ref.slice(8))) referrers.set(ref.slice(8), key);
    for (const [child, value] of Object.entries(node)) visit(value, child === 'items' || child === 'properties' ? key : child);
  };
  visit(config, '');
  return new Map(keys.map((key) => [key, DEFINITION_NAMES[referrers.get(key) ?? ''] ?? `Config_${key}`]));
}

/** The sub-schema at a CONFIG_PIECES path; throws when the config schema no longer has it (a test catches that). */
export function schemaAt(root: Json, path: string): Json {
  let node = root;
  for (const step of path.split('.')) {
    const [, key, bracket, member] = /^([A-Za-z0-9]+)(\[(?:protocol=([a-z]+))?\])?$/.exec(step) ?? [];
    if (key === undefined) throw new Error(`bad config piece path ${path}`);
    node = child(node, 'properties', key, path);
    if (bracket !== undefined) node = child(node, 'items', undefined, path);
    if (member !== undefined) {
      const found = ((node.oneOf ?? node.anyOf ?? []) as Json[]).find((m) => (m.properties as Record<string, Json> | undefined)?.protocol?.const === member);
      if (found === undefined) throw new Error(`no protocol ${member} member at ${path}`);
      node = found;
    }
  }
  return node;
}

function child(node: Json, keyword: string, key: string | undefined, path: string): Json {
  const holder = node[keyword] as Json | undefined;
  const found = key === undefined ? holder : (holder?.[key] as Json | undefined);
  if (found === undefined || typeof found !== 'object') throw new Error(`the config schema has nothing at ${path}`);
  return found;
}

/** A component is not a document: its dialect is the document's (jsonSchemaDialect), its id its place. */
function stripDocumentKeys(schema: Json): Json {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
