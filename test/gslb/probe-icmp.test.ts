/**
 * icmp site checks run the system's ping; here a Node script stands in for it (the tests stay
 * hermetic and need no ping binary). The real ping: interop/gslb-icmp.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { probeIcmp } from '../../src/gslb/probe-icmp.ts';

/** A fake ping: prints its arguments' host and what iputils would, exits with `code`. */
function fakePing(code: number, output: string, hang = false): string[] {
  const script = `process.stdout.write(${JSON.stringify(output)} + ' args=' + process.argv.slice(1).join(' ') + '\\n'); ${hang ? 'setInterval(() => {}, 1000);' : `process.exitCode = ${code};`}`;
  return [process.execPath, '-e', script, '--'];
}

describe('probeIcmp', () => {
  it('exit 0 is up, with the reply time', async () => {
    const result = await probeIcmp('127.0.0.1', 1000, undefined, { command: fakePing(0, '64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.045 ms') });
    assert.equal(result.ok, true);
    assert.equal(result.reason, 'echo reply from 127.0.0.1 in <1 ms');
  });

  it('asks for one echo with a wait in whole seconds (-6 for IPv6); exit 1 is no reply', async () => {
    const exitsZeroOn = (expected: string): string[] => [process.execPath, '-e', `process.exitCode = process.argv.slice(1).join(' ') === ${JSON.stringify(expected)} ? 0 : 1`, '--'];
    const v6 = await probeIcmp('::1', 1500, undefined, { command: exitsZeroOn('-6 -n -c 1 -W 2 ::1') });
    assert.equal(v6.ok, true, v6.reason);
    const v4 = await probeIcmp('192.0.2.1', 300, undefined, { command: exitsZeroOn('-n -c 1 -W 1 192.0.2.1') });
    assert.equal(v4.ok, true, v4.reason);
    const silent = await probeIcmp('192.0.2.1', 1000, undefined, { command: exitsZeroOn('never') });
    assert.deepEqual([silent.ok, silent.reason], [false, 'no echo reply from 192.0.2.1']);
  });

  it('explains an error exit, a missing ping, and a hung one', async () => {
    const denied = await probeIcmp('192.0.2.1', 1000, undefined, { command: fakePing(2, 'ping: socktype: SOCK_RAW\nping: socket: Operation not permitted') });
    assert.equal(denied.ok, false);
    assert.match(denied.reason, /ping to 192\.0\.2\.1 is not permitted: allow unprivileged ICMP \(sysctl net\.ipv4\.ping_group_range="0 2147483647"\) or give ping cap_net_raw/);

    const missing = await probeIcmp('192.0.2.1', 1000, undefined, { command: ['/nonexistent/ping'] });
    assert.equal(missing.reason, 'cannot run /nonexistent/ping: it is not installed; icmp checks need iputils-ping (apt-get install iputils-ping)');

    const started = performance.now();
    const hung = await probeIcmp('192.0.2.1', 200, undefined, { command: fakePing(0, '', true) });
    assert.ok(performance.now() - started < 2000);
    assert.equal(hung.reason, 'no echo reply from 192.0.2.1 within 200 ms');
  });
});
