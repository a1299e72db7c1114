// The status table's copy of a GSLB site's "not checked" words must stay the probe's own.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { NOT_CHECKED as PROBE_NOT_CHECKED } from '../../src/gslb/site-probe.ts';
import { NOT_CHECKED, siteReason } from '../../src/cli/status-table.ts';

it('NOT_CHECKED is site-probe\'s, so a site without a check reads "always up"', () => {
  assert.equal(NOT_CHECKED, PROBE_NOT_CHECKED);
  assert.equal(siteReason({ reason: PROBE_NOT_CHECKED, progress: '', check: PROBE_NOT_CHECKED }), `always up: ${PROBE_NOT_CHECKED}`);
});
