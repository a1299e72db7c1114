/**
 * An edit by hand, put into service with SIGHUP, takes the same record as an API change: a config
 * version (source "sighup") and an audit line with its diff.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/fulcrum.ts';
import { request, startNode, waitFor, type FulcrumNode } from './helpers.ts';

describe('SIGHUP after an edit by hand', () => {
  let dir: string;
  let node: FulcrumNode;
  let port: number;
  let configPath: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-sighup-'));
    port = await freePort();
    configPath = path.join(dir, 'fulcrum.yaml');
    const lines = ['workers: 1', 'accessLog: off', 'admin:', `  listen: 127.0.0.1:${port}`, 'virtualServices:', '  - name: web', `    listen: 127.0.0.1:${await freePort()}`, '    protocol: http', `    realServers: [{ address: 127.0.0.1:${await freePort()} }]`, ''];
    await writeFile(configPath, lines.join('\n'));
    node = await startNode(configPath);
  });
  after(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('records a version and an audit line with the diff', async () => {
    const text = await readFile(configPath, 'utf8');
    await writeFile(configPath, text.replace('protocol: http', 'protocol: http\n    retries: 3'));
    process.kill(node.pid, 'SIGHUP');
    type Version = { id: number; source: string; user: string; current: boolean };
    const versions = await waitFor(async () => (await request<Version[]>(port, 'GET', '/api/v1/config/versions')).json, (v) => v.length === 2, 10_000, 'the SIGHUP version');
    assert.deepEqual(versions.map((v) => [v.source, v.user, v.current]), [['sighup', 'system', true], ['start', 'system', false]]);
    const audit = (await request<Array<{ action: string; target: string; diff: string | null }>>(port, 'GET', '/api/v1/audit')).json;
    const line = audit.find((e) => e.action === 'config.reload');
    assert.ok(line !== undefined, JSON.stringify(audit));
    assert.equal(line.target, 'SIGHUP');
    assert.match(line.diff ?? '', /^\+ {4}retries: 3$/m);
  });
});
