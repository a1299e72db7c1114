/**
 * The OpenAPI document: a valid OpenAPI 3.1 document that holds every route of the table with its
 * method, permission, parameters and answers, and whose config components are the config's own
 * JSON Schema (the same descriptions and defaults as schema/fulcrum.schema.json), usable as
 * JSON Schema to check a config. Also validateBody's problems, which the handlers answer with.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { apiSchemas, TokenCreateSchema, validateBody, jsonPath } from '../../src/admin/api-schemas.ts';
import { openApiDocument } from '../../src/admin/openapi.ts';
import { ROUTES } from '../../src/admin/route-table.ts';

type Json = Record<string, any>;
const doc = openApiDocument() as Json;
const schemas = doc.components.schemas as Record<string, Json>;
const readJson = (path: string): Json => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as Json;

const CONFIG_COMPONENTS = ['Config', 'VirtualService', 'Pool', 'RealServer', 'HealthCheck', 'Persistence', 'Rule', 'Tls', 'Gslb', 'GslbFqdn', 'GslbSite'];

test('the document is valid OpenAPI 3.1', async () => {
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc));
  assert.deepEqual(result.errors, undefined);
  assert.equal(result.valid, true);
  assert.equal(validator.version, '3.1');
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(doc.jsonSchemaDialect, 'https://json-schema.org/draft/2020-12/schema');
  assert.equal(doc.info.version, readJson('../../package.json').version);
  assert.deepEqual(doc.servers, [{ url: '/' }]);
  assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', description: doc.components.securitySchemes.bearer.description });
  assert.equal(doc.components.securitySchemes.cookie.in, 'cookie');
  assert.equal(doc.components.securitySchemes.cookie.name, 'fulcrum_session');
  assert.equal(openApiDocument(), doc, 'built once');
});

test('every route is an operation with its method, id and permission, and nothing else is', () => {
  let operations = 0;
  for (const item of Object.values(doc.paths as Record<string, Json>)) operations += Object.keys(item).length;
  assert.equal(operations, ROUTES.length);
  for (const route of ROUTES) {
    const op = doc.paths[route.path]?.[route.method.toLowerCase()];
    assert.ok(op !== undefined, `${route.method} ${route.path} is missing`);
    assert.equal(op.operationId, route.id);
    assert.equal(op['x-fulcrum-permission'], route.permission, route.id);
    assert.deepEqual(op.security, route.permission === 'public' ? [] : undefined, `${route.id}: public routes need no credentials, others inherit bearer or cookie`);
    if (route.permission !== 'public') assert.ok(op.responses['401'] !== undefined, `${route.id}: 401`);
  }
  assert.deepEqual(doc.security, [{ bearer: [] }, { cookie: [] }]);
});

test('operations declare their path parameters, query, If-Match, dryRun and CSRF header', () => {
  const refs = (op: Json): string[] => (op.parameters ?? []).map((p: Json) => p.$ref).filter(Boolean);
  for (const route of ROUTES) {
    const op = doc.paths[route.path][route.method.toLowerCase()] as Json;
    const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    const pathParams = (op.parameters ?? []).filter((p: Json) => p.in === 'path');
    assert.deepEqual(pathParams.map((p: Json) => p.name), names, route.id);
    for (const p of pathParams) assert.ok(p.required === true && p.description !== p.name, `${route.id}: {${p.name}} is described`);
    if (names.length > 0) assert.ok(op.responses['404'] !== undefined, `${route.id}: 404`);
    const writes = route.method !== 'GET';
    assert.equal(refs(op).includes('#/components/parameters/IfMatch'), route.etag === true && writes, `${route.id}: If-Match`);
    assert.equal(op.responses['412'] !== undefined, route.etag === true && writes, `${route.id}: 412`);
    assert.equal(refs(op).includes('#/components/parameters/DryRun'), route.dryRun === true, `${route.id}: dryRun`);
    assert.equal(refs(op).includes('#/components/parameters/CsrfToken'), writes && route.permission !== 'public', `${route.id}: X-CSRF-Token`);
    if (route.etag === true && route.method === 'GET') assert.ok(op.responses['200'].headers?.ETag !== undefined, `${route.id}: ETag`);
    if (route.requestBody !== undefined) assert.ok(op.requestBody?.content !== undefined && op.responses['400'] !== undefined, `${route.id}: body and 400`);
    for (const name of Object.keys(route.query ?? {})) assert.ok(op.parameters.some((p: Json) => p.in === 'query' && p.name === name), `${route.id}: ?${name}`);
  }
  assert.equal(doc.components.parameters.IfMatch.name, 'If-Match');
  assert.equal(doc.components.parameters.DryRun.name, 'dryRun');
  assert.equal(doc.components.parameters.CsrfToken.name, 'X-CSRF-Token');
  const login = doc.paths['/api/v1/session'].post;
  assert.ok(login.responses['429'] !== undefined && login.responses['429'].headers['Retry-After'] !== undefined);
  assert.equal(login.requestBody.content['application/json'].schema.$ref, '#/components/schemas/Login');
  const replace = doc.paths['/api/v1/config'].put;
  assert.deepEqual(Object.keys(replace.requestBody.content), ['application/json', 'application/yaml']);
  assert.equal(replace.requestBody.content['application/json'].schema.$ref, '#/components/schemas/Config');
  assert.equal(replace.requestBody.content['application/yaml'].schema.type, 'string');
  assert.equal(doc.paths['/api/v1/pools'].get.responses['200'].content['application/json'].schema.items.$ref, '#/components/schemas/Pool');
});

test('a bad request answers the Error schema, with each problem\'s JSON path', () => {
  const bad = doc.components.responses.BadRequest.content['application/json'].schema;
  assert.equal(bad.$ref, '#/components/schemas/Error');
  const error = schemas.Error!.properties.error;
  assert.deepEqual(error.required, ['code', 'message']);
  assert.ok(error.properties.code.enum.includes('FULCRUM_ERR_ADMIN_PRECONDITION'));
  assert.equal(error.properties.problems.items.$ref, '#/components/schemas/Problem');
  assert.deepEqual(Object.keys(schemas.Problem!.properties).slice(0, 5), ['path', 'message', 'line', 'column', 'allowed']);
  assert.deepEqual(schemas.Problem!.required, ['path', 'message']);
});

test('every $ref points at something the document has; the config\'s $defs became components', () => {
  const text = JSON.stringify(doc);
  assert.ok(!text.includes('#/$defs/'), 'no $defs refs left');
  assert.ok(!text.includes('"$id"') && !text.includes('"$schema"'), 'components carry no document keys');
  const refs = new Set([...text.matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!));
  for (const ref of refs) {
    const [, kind, name] = /^#\/components\/(schemas|parameters|responses)\/(.+)$/.exec(ref) ?? [];
    assert.ok(kind !== undefined && doc.components[kind][name!] !== undefined, `dangling ${ref}`);
  }
  assert.ok(schemas.RuleMatch !== undefined, 'the recursive rule condition is a named component');
  assert.equal(schemas.Rule!.properties.match.$ref, '#/components/schemas/RuleMatch');
});

test('the config pieces are components, each referring to the others', () => {
  for (const name of CONFIG_COMPONENTS) assert.equal(typeof schemas[name], 'object', name);
  assert.deepEqual(
    schemas.VirtualService!.oneOf.map((m: Json) => m.properties.protocol.const),
    ['http', 'https', 'tcp', 'udp', 'ftp'],
  );
  assert.equal(schemas.Config!.properties.virtualServices.items.$ref, '#/components/schemas/VirtualService');
  assert.equal(schemas.Config!.properties.pools.items.$ref, '#/components/schemas/Pool');
  assert.equal(schemas.Config!.properties.gslb.$ref, '#/components/schemas/Gslb');
  assert.equal(schemas.Pool!.properties.realServers.items.$ref, '#/components/schemas/RealServer');
  assert.equal(schemas.Pool!.properties.healthCheck.$ref, '#/components/schemas/HealthCheck');
  assert.equal(schemas.Pool!.properties.persistence.$ref, '#/components/schemas/Persistence');
  const https = schemas.VirtualService!.oneOf.find((m: Json) => m.properties.protocol.const === 'https');
  assert.equal(https.properties.tls.$ref, '#/components/schemas/Tls');
  assert.equal(https.properties.rules.items.$ref, '#/components/schemas/Rule');
  assert.equal(schemas.GslbFqdn!.properties.sites.items.$ref, '#/components/schemas/GslbSite');
  // Every API body registered in api-schemas.ts is a component, and every zod body of a route is registered.
  for (const route of ROUTES) {
    for (const schema of [route.requestBody?.schema, ...Object.values(route.responses).map((r) => r.schema)]) {
      if (schema !== undefined && typeof schema !== 'string') assert.ok(apiSchemas.has(schema), `${route.id}: an unnamed zod body`);
    }
  }
});

test('the config components carry the config schema\'s descriptions and defaults', () => {
  const file = readJson('../../schema/fulcrum.schema.json');
  const fileHttp = file.properties.virtualServices.items.oneOf.find((m: Json) => m.properties.protocol.const === 'http');
  const http = schemas.VirtualService!.oneOf.find((m: Json) => m.properties.protocol.const === 'http');
  const connect = http.properties.timeouts.properties.connect;
  assert.equal(connect.default, '3s');
  assert.deepEqual(connect, fileHttp.properties.timeouts.properties.connect);
  assert.deepEqual(http.properties.forwardedHeaders.properties.xForwardedFor, fileHttp.properties.forwardedHeaders.properties.xForwardedFor);
  assert.deepEqual(http.properties.forwardedHeaders.properties.xForwardedFor.enum, ['append', 'replace', 'off']);
  assert.equal(schemas.VirtualService!.description, file.properties.virtualServices.items.description);

  const filePool = file.properties.pools.items;
  assert.deepEqual(schemas.Pool!.properties.scheduler, filePool.properties.scheduler);
  assert.ok(typeof schemas.Pool!.properties.scheduler.description === 'string' && schemas.Pool!.properties.scheduler.default !== undefined);
  assert.deepEqual(schemas.Pool!.properties.name, filePool.properties.name);

  const fileServer = filePool.properties.realServers.items;
  assert.equal(schemas.RealServer!.properties.weight.default, 100);
  assert.deepEqual(schemas.RealServer!.properties.weight, fileServer.properties.weight);
  assert.deepEqual(schemas.RealServer!.properties.address, fileServer.properties.address);
  assert.ok(schemas.RealServer!.properties.address.description.length > 10);
});

test('the config components check a config as JSON Schema, references resolved', () => {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ $id: 'urn:fulcrum:openapi', components: doc.components });
  const config = ajv.getSchema('urn:fulcrum:openapi#/components/schemas/Config')!;
  const examples = readdirSync(new URL('../../examples/', import.meta.url)).filter((f) => f.endsWith('.yaml'));
  assert.ok(examples.length >= 3);
  for (const file of examples) {
    const data = parseYaml(readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8')) as unknown;
    assert.equal(config(data), true, `${file}: ${JSON.stringify(config.errors?.slice(0, 3))}`);
  }
  const virtualService = ajv.getSchema('urn:fulcrum:openapi#/components/schemas/VirtualService')!;
  const good = { name: 'web', listen: '127.0.0.1:8080', protocol: 'http', realServers: [{ address: '127.0.0.1:9001' }], rules: [{ name: 'api', match: { any: [{ path: { prefix: '/api' } }] } }] };
  assert.equal(virtualService(good), true, JSON.stringify(virtualService.errors?.slice(0, 3)));
  assert.equal(virtualService({ ...good, realServers: [{ address: '127.0.0.1:9001', weight: 'heavy' }] }), false);
  assert.ok(virtualService.errors!.some((e) => e.instancePath === '/realServers/0/weight' && e.schemaPath.startsWith('#/components/schemas/RealServer')));
  assert.equal(virtualService({ ...good, rules: [{ name: 'api', match: { any: [{ pth: '/x' }] } }] }), false, 'the recursive RuleMatch is checked');
});

test('validateBody answers problems with JSON paths in the config checker\'s words', () => {
  assert.deepEqual(validateBody(TokenCreateSchema, { name: 'deploy', role: 'operator' }), { ok: true, value: { name: 'deploy', role: 'operator', expiresIn: '30d' } });
  const result = validateBody(TokenCreateSchema, { name: 'deploy', role: 'admn', expiresin: '30d' });
  assert.equal(result.ok, false);
  assert.deepEqual(!result.ok && result.problems, [
    { path: '$.role', message: '"admn" is not allowed here', allowed: 'viewer, operator, admin', suggestion: 'admin' },
    { path: '$.expiresin', message: 'unknown key', allowed: 'name, role, expiresIn', suggestion: 'expiresIn' },
  ]);
  const missing = validateBody(TokenCreateSchema, { role: 'viewer' });
  assert.deepEqual(!missing.ok && missing.problems, [{ path: '$.name', message: 'required key "name" is missing' }]);
  const notObject = validateBody(TokenCreateSchema, []);
  assert.deepEqual(!notObject.ok && notObject.problems.map((p) => p.path), ['$']);
  assert.equal(jsonPath(['virtualServices', 0, 'realServers', 1, 'weight']), '$.virtualServices[0].realServers[1].weight');
  assert.equal(jsonPath(['headers', 'X-Forwarded-For', "it's"]), "$.headers['X-Forwarded-For']['it\\'s']");
});
