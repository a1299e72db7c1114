/**
 * Certificates: every one in service (from the status: names, issuer, expiry, warnings, ACME and
 * OCSP state) and the ones uploaded through the API, kept as PEM files in a `certificates`
 * folder beside the state database (key files 0600). An uploaded certificate is checked exactly
 * as a configured one is (src/tls/certificate-file.ts: chain, key match, dates) before it is kept;
 * a virtual service then names its files in tls.certificates. One still named there cannot be deleted.
 *
 * One uploaded certificate answers an ETag, a hash of its two files' bytes, and DELETE honours
 * If-Match with it. Not etagOf(the description): that holds daysLeft, which ticks over every 24
 * hours, and usedBy, which follows the config; a tag that moves while the files do not would make
 * a careful client's DELETE fail for nothing.
 *
 * The absolute file paths are for admins (they write them into tls.certificates); other roles
 * see the file names only, as they need not learn the layout of the node's disk.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.ts';
import { loadCertificate } from '../../tls/certificate-file.ts';
import type { Config } from '../../config/schema.ts';
import { ErrorCode } from '../../errors.ts';
import type { StatusDocument } from '../types.ts';
import { failureAnswer, type Handler, type RequestContext } from './context.ts';
import { notFound } from './items.ts';
import { readdirSync } from 'node:fs';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A certificate with its chain and key is a few KB; 1 MiB is far more than any real one. */
const MAX_PEM_BYTES = 1024 * 1024;

export interface CertificateEnv {
  folder: string;
  status: () => Promise<StatusDocument>;
  running: () => Config;
  audit: (entry: { user: string; address: string; action: string; target: string; outcome: 'ok' | 'failed'; detail?: string }) => void;
}

export function certificateHandlers(env: CertificateEnv): Record<string, Handler> {
  const paths = (name: string): { cert: string; key: string } => ({ cert: join(env.folder, `${name}.crt`), key: join(env.folder, `${name}.key`) });
  const uploaded = (): string[] => {
    try {
      return readdirSync(env.folder).filter((f) => f.endsWith('.crt')).map((f) => f.slice(0, -4)).sort();
    } catch {
      return [];
    }
  };
  const usedBy = (file: string): string[] =>
    env.running().virtualServices.filter((vs) => 'tls' in vs && vs.tls !== undefined && vs.tls.certificates.some((c) => c.cert === file || c.key === file)).map((vs) => vs.name);
  const describe = (name: string) => {
    const { cert, key } = paths(name);
    const load = loadCertificate({ cert, key }, new Date());
    const c = load.certificate;
    return {
      name,
      certFile: cert,
      keyFile: key,
      usedBy: usedBy(cert),
      ...(c === null
        ? { problems: load.problems.map((p) => p.message) }
        : { names: c.names, keyType: c.keyType, issuer: c.issuer, notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString(), daysLeft: Math.floor((c.notAfter.getTime() - Date.now()) / 86_400_000), fingerprint256: c.fingerprint256 }),
    };
  };

  /** The ETag of an uploaded certificate: its cert and key files as they are on disk ("" for a file that is gone). */
  const tagOf = async (name: string): Promise<string> => {
    const { cert, key } = paths(name);
    const hash = createHash('sha256');
    for (const file of [cert, key]) hash.update(createHash('sha256').update(await readFile(file).catch(() => Buffer.alloc(0))).digest());
    return `"${hash.digest('base64url').slice(0, 22)}"`;
  };

  /** One entry per certificate file: those in service (with the virtual services that serve each), then the uploaded ones not in service. */
  const list: Handler = async (ctx) => {
    const status = await env.status();
    const byFile = new Map<string, Record<string, unknown> & { usedBy: string[] }>();
    const names = new Map(uploaded().map((name) => [paths(name).cert, name]));
    for (const vs of status.virtualServices) {
      for (const c of vs.certificates ?? []) {
        const seen = byFile.get(c.certFile);
        if (seen !== undefined) {
          seen.usedBy.push(vs.name);
          continue;
        }
        const name = names.get(c.certFile) ?? basename(c.certFile).replace(/\.(pem|crt|cer)$/, '');
        byFile.set(c.certFile, { name, ...c, usedBy: [vs.name], uploaded: names.has(c.certFile), daysLeft: Math.floor((Date.parse(c.notAfter) - Date.now()) / 86_400_000) });
      }
    }
    const spare = uploaded().filter((name) => !byFile.has(paths(name).cert)).map((name) => ({ ...describe(name), uploaded: true }));
    return { status: 200, body: [...byFile.values(), ...spare].map((entry) => forCaller(ctx, entry)) };
  };

  const get: Handler = async (ctx) => {
    const name = ctx.params.name ?? '';
    if (!uploaded().includes(name)) return failureAnswer(notFound('uploaded certificate', name, uploaded()));
    return { status: 200, headers: { etag: await tagOf(name) }, body: forCaller(ctx, describe(name)) };
  };

  const create: Handler = async (ctx) => {
    const body = await ctx.body();
    if (!body.ok) return failureAnswer(body.failure);
    const value = body.value as { name?: unknown; cert?: unknown; key?: unknown } | null;
    const problems: string[] = [];
    if (value === null || typeof value !== 'object') problems.push('$: the body must be {"name", "cert", "key"} (PEM text)');
    else {
      if (typeof value.name !== 'string' || !NAME.test(value.name)) problems.push('$.name: 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');
      if (typeof value.cert !== 'string' || value.cert.length > MAX_PEM_BYTES || !value.cert.includes('-----BEGIN CERTIFICATE-----')) problems.push('$.cert: the certificate (and its chain) in PEM, starting with -----BEGIN CERTIFICATE-----');
      if (typeof value.key !== 'string' || value.key.length > MAX_PEM_BYTES || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value.key)) problems.push('$.key: the private key in PEM, unencrypted');
    }
    if (problems.length > 0) return failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: problems[0]!, problems });
    const { name, cert, key } = value as { name: string; cert: string; key: string };
    if (uploaded().includes(name)) return failureAnswer({ status: 409, code: ErrorCode.ADMIN_EXISTS, message: `a certificate ${JSON.stringify(name)} exists already; delete it first, or upload under another name` });
    await mkdir(env.folder, { recursive: true, mode: 0o700 });
    const final = paths(name);
    const staged = { cert: `${final.cert}.upload`, key: `${final.key}.upload` };
    try {
      await writeFileAtomic(staged.cert, cert, { mode: 0o644 });
      await writeFileAtomic(staged.key, key, { mode: 0o600 });
      const load = loadCertificate(staged, new Date());
      const errors = load.problems.filter((p) => p.severity === 'error');
      if (load.certificate === null || errors.length > 0) {
        const messages = (errors.length > 0 ? errors : load.problems).map((p) => p.message.replaceAll(staged.cert, 'cert').replaceAll(staged.key, 'key'));
        env.audit({ user: ctx.principal.user, address: ctx.address, action: 'certificate.create', target: name, outcome: 'failed', detail: messages[0] ?? '' });
        return failureAnswer({ status: 400, code: ErrorCode.TLS_PEM, message: messages[0] ?? 'the certificate or key is not usable', problems: messages });
      }
      if (ctx.dryRun) return { status: 200, body: { dryRun: true, names: load.certificate.names, notAfter: load.certificate.notAfter.toISOString() } };
      await rename(staged.key, final.key);
      await rename(staged.cert, final.cert);
    } finally {
      await unlink(staged.cert).catch(() => {});
      await unlink(staged.key).catch(() => {});
    }
    env.audit({ user: ctx.principal.user, address: ctx.address, action: 'certificate.create', target: name, outcome: 'ok' });
    return { status: 201, headers: { location: `/api/v1/certificates/${encodeURIComponent(name)}`, etag: await tagOf(name) }, body: forCaller(ctx, describe(name)) };
  };

  const remove: Handler = async (ctx) => {
    const name = ctx.params.name ?? '';
    if (!uploaded().includes(name)) return failureAnswer(notFound('uploaded certificate', name, uploaded()));
    const { cert, key } = paths(name);
    const users = [...new Set([...usedBy(cert), ...usedBy(key)])];
    if (ctx.ifMatch !== undefined && ctx.ifMatch !== '*') {
      const current = await tagOf(name);
      if (!ctx.ifMatch.split(',').map((tag) => tag.trim()).includes(current)) {
        return failureAnswer({ status: 412, code: ErrorCode.ADMIN_PRECONDITION, message: `the certificate ${JSON.stringify(name)} changed since it was read (If-Match ${ctx.ifMatch}, now ${current}); read it again and retry` });
      }
    }
    if (users.length > 0) return failureAnswer({ status: 409, code: ErrorCode.ADMIN_IN_USE, message: `certificate ${JSON.stringify(name)} is in service on ${users.join(', ')}; take it out of their tls.certificates first` });
    if (ctx.dryRun) return { status: 200, body: { dryRun: true } };
    await unlink(cert).catch(() => {});
    await unlink(key).catch(() => {});
    env.audit({ user: ctx.principal.user, address: ctx.address, action: 'certificate.delete', target: name, outcome: 'ok' });
    return { status: 200, body: { deleted: name } };
  };

  return { 'certificates.list': list, 'certificates.get': get, 'certificates.create': create, 'certificates.delete': remove };
}

/**
 * An entry as `ctx`'s caller may see it: all of it for an admin; for other roles, file names
 * instead of absolute paths, in the fields and in the messages that quote them.
 */
function forCaller<T extends Record<string, unknown>>(ctx: RequestContext, entry: T): T {
  if (ctx.principal.role === 'admin') return entry;
  const files = [entry.certFile, entry.keyFile].filter((f): f is string => typeof f === 'string');
  const shorten = (text: string): string => files.reduce((t, file) => t.replaceAll(file, basename(file)), text);
  const shown: Record<string, unknown> = { ...entry };
  for (const key of ['certFile', 'keyFile'] as const) if (typeof entry[key] === 'string') shown[key] = basename(entry[key]);
  for (const key of ['warnings', 'problems'] as const) {
    const messages = entry[key];
    if (Array.isArray(messages)) shown[key] = messages.map((m) => (typeof m === 'string' ? shorten(m) : m));
  }
  return shown as T;
}
