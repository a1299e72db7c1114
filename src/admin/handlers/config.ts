/**
 * The whole config: read it (as written, as YAML text, or effective with every default), replace
 * it (YAML or JSON; with ?dryRun=true, the diff), its versions, and restore of any version. The
 * gslb section as one document. All writes go through ConfigChanges.
 */
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import { loadConfigText } from '../../config/load.ts';
import { ErrorCode } from '../../errors.ts';
import type { ConfigStore, StoredConfig } from '../../store/config-store.ts';
import type { ConfigChanges, EditOutcome } from '../config-changes.ts';
import { parseConfigDocument, render, setSection, toJs } from '../collections/yaml-list.ts';
import { failureAnswer, type Answer, type Handler, type RequestContext, requestOf } from './context.ts';
import { mayReadSecrets, redactFor } from '../redact.ts';

export function configHandlers(store: ConfigStore, changes: ConfigChanges): Record<string, Handler> {
  const etag = (stored: StoredConfig): string => `"${stored.revision}"`;

  const writeAnswer = (result: Awaited<ReturnType<ConfigChanges['apply']>>): Answer => {
    if (!result.ok) return failureAnswer(result.failure);
    return {
      status: 200,
      headers: { etag: `"${result.revision}"` },
      body: { dryRun: result.dryRun, changed: result.changed, diff: result.diff, revision: result.revision, generation: result.generation, version: result.version?.id ?? null },
    };
  };

  const revisionGuard = (ctx: RequestContext, current: StoredConfig): EditOutcome | null => {
    if (ctx.ifMatch === undefined || ctx.ifMatch === '*' || ctx.ifMatch === etag(current)) return null;
    return { ok: false, failure: { status: 412, code: ErrorCode.ADMIN_PRECONDITION, message: `the config changed since it was read (If-Match ${ctx.ifMatch}, now ${etag(current)}); read it again and retry` } };
  };

  const get: Handler = async (ctx) => {
    const stored = await store.read();
    const headers = { etag: etag(stored) };
    const format = ctx.query.get('format');
    if (format === 'yaml') {
      if (!mayReadSecrets(ctx.principal)) return textForAdmins();
      return { status: 200, headers, text: { contentType: 'application/yaml; charset=utf-8', data: stored.text } };
    }
    if (ctx.query.get('effective') === 'true') {
      const loaded = loadConfigText(stored.text, store.location);
      if (!loaded.ok) return failureAnswer({ status: 409, code: ErrorCode.CONFIG_INVALID, message: `the stored config has problems: ${loaded.problems[0]?.message ?? ''}` });
      return { status: 200, headers, body: redactFor(ctx.principal, loaded.config) };
    }
    const parsed = parseConfigDocument(stored.text);
    if (!parsed.ok) return failureAnswer({ status: 409, code: ErrorCode.CONFIG_INVALID, message: `the stored config does not parse: ${parsed.message}` });
    return { status: 200, headers, body: redactFor(ctx.principal, toJs(parsed.doc, []) ?? {}) };
  };

  const replace: Handler = async (ctx) => {
    const body = await ctx.body();
    if (!body.ok) return failureAnswer(body.failure);
    let text: string;
    if (body.contentType === 'yaml' && typeof body.value === 'string') text = body.value;
    else if (body.value !== null && typeof body.value === 'object' && !Array.isArray(body.value)) text = stringify(body.value);
    else return failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: 'send the config as YAML (Content-Type: application/yaml) or as a JSON object' });
    return writeAnswer(
      await changes.apply({
        ...requestOf(ctx, 'config.replace', 'config'),
        edit: (current) => revisionGuard(ctx, current) ?? { ok: true, text, summary: 'config replaced' },
      }),
    );
  };

  const versions: Handler = async () => {
    const current = await store.read();
    return { status: 200, body: store.versions().map((v) => ({ ...v, current: v.revision === current.revision })) };
  };

  const version: Handler = async (ctx) => {
    const found = versionOf(store, ctx.params.id);
    if ('status' in found) return found;
    if (!mayReadSecrets(ctx.principal)) return textForAdmins();
    const current = await store.read();
    const diff = found.revision === current.revision ? '' : createTwoFilesPatch(`version ${found.id}`, 'current', found.text, current.text, found.createdAt, 'now');
    return { status: 200, body: { ...found, current: found.revision === current.revision, diffToCurrent: diff } };
  };

  const restore: Handler = async (ctx) => {
    const found = versionOf(store, ctx.params.id);
    if ('status' in found) return found;
    return writeAnswer(
      await changes.apply({
        ...requestOf(ctx, 'config.restore', `version ${found.id}`, 'restore'),
        edit: (current) => revisionGuard(ctx, current) ?? { ok: true, text: found.text, summary: `restored version ${found.id} (${found.createdAt}, ${found.user})` },
      }),
    );
  };

  const gslbGet: Handler = async (ctx) => {
    const stored = await store.read();
    const parsed = parseConfigDocument(stored.text);
    if (!parsed.ok) return failureAnswer({ status: 409, code: ErrorCode.CONFIG_INVALID, message: `the stored config does not parse: ${parsed.message}` });
    const gslb = toJs(parsed.doc, ['gslb']);
    if (gslb === undefined) return failureAnswer({ status: 404, code: ErrorCode.ADMIN_NOT_FOUND, message: 'the config has no gslb section; PUT /api/v1/gslb creates one' });
    return { status: 200, headers: { etag: etag(stored) }, body: redactFor(ctx.principal, gslb) };
  };

  const gslbReplace: Handler = async (ctx) => {
    const body = await ctx.body();
    if (!body.ok) return failureAnswer(body.failure);
    if (body.value !== null && (typeof body.value !== 'object' || Array.isArray(body.value))) {
      return failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: 'send the gslb section as a JSON object (null removes it)' });
    }
    return writeAnswer(
      await changes.apply({
        ...requestOf(ctx, 'gslb.replace', 'gslb'),
        edit: (current): EditOutcome => {
          const guard = revisionGuard(ctx, current);
          if (guard !== null) return guard;
          const parsed = parseConfigDocument(current.text);
          if (!parsed.ok) return { ok: false, failure: { status: 409, code: ErrorCode.CONFIG_INVALID, message: `the stored config does not parse: ${parsed.message}` } };
          setSection(parsed.doc, ['gslb'], body.value ?? undefined);
          return { ok: true, text: render(parsed.doc, current.text), summary: body.value === null ? 'gslb section removed' : 'gslb section replaced', focus: 'gslb' };
        },
      }),
    );
  };

  return { 'config.get': get, 'config.replace': replace, 'versions.list': versions, 'versions.get': version, 'versions.restore': restore, 'gslb.get': gslbGet, 'gslb.replace': gslbReplace };
}

/** The config's text may hold secrets (cookie secrets, credentials in headers) that no redaction of text can find reliably. */
function textForAdmins(): Answer {
  return failureAnswer({ status: 403, code: ErrorCode.ADMIN_FORBIDDEN, message: 'the config file\'s text is for admins (it may hold secrets); GET /api/v1/config answers it as JSON with the secrets hidden' });
}

function versionOf(store: ConfigStore, idText: string | undefined): (ReturnType<ConfigStore['version']> & object) | Answer {
  const id = Number(idText);
  const found = Number.isSafeInteger(id) ? store.version(id) : null;
  if (found === null) {
    const kept = store.versions().map((v) => v.id);
    return failureAnswer({ status: 404, code: ErrorCode.ADMIN_NOT_FOUND, message: `no config version ${JSON.stringify(idText)}; kept: ${kept.length === 0 ? 'none yet' : `${kept[kept.length - 1]}..${kept[0]}`}` });
  }
  return found;
}
