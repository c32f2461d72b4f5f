// @modelcontextprotocol/conformance (0.1.13, the last release that runs on Node 20): its
// server scenarios against server-everything's Streamable HTTP mode on its own, and
// through `sluice run --listen` with that server as an HTTP upstream and with its stdio
// mode as a child. Differential, scenario by scenario: whatever the server passes on
// its own must pass through Sluice as well. How to run it by hand: docs/architecture.md.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { everythingServer, fixturePath, repoRoot, startEverythingHttp, startSluiceHttp } from '../support/harness.mjs';
import { failures, passes, runConformance } from '../support/conformance_cli.mjs';

const conformanceCli = path.join(repoRoot, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');

// Scenarios that call a tool server-everything does not have. The server answers a call
// to an unknown tool with an `isError` result (its SDK wraps its own -32602 in one),
// and these two scenarios accept any `isError` or text result, so the server "passes"
// them without having the tool. MCP 2025-11-25 (server/tools, "Error Handling") and
// DESIGN.md make an unknown tool a JSON-RPC protocol error, and Sluice answers it so
// before policy: a call to a tool the upstream never listed cannot be classified. For
// these the test checks that each side said what it says, instead of comparing.
const unknownToolScenarios = new Map([
  ['tools-call-simple-text', 'test_simple_text'],
  ['tools-call-error', 'test_error_handling'],
]);

describe('conformance server scenarios: server-everything alone and through Sluice', () => {
  let remote;
  const sluices = [];
  let alone;
  const through = {};

  before(async () => {
    remote = await startEverythingHttp();
    const configDir = mkdtempSync(path.join(tmpdir(), 'sluice-conformance-config-'));
    const httpUpstream = path.join(configDir, 'sluice.yaml');
    writeFileSync(httpUpstream, `upstream:\n  url: ${remote.url}\npolicy:\n  default: allow\n  rules: []\n`);
    const [overHttp, overStdio] = await Promise.all([
      startSluiceHttp([], ['--config', httpUpstream]),
      startSluiceHttp(everythingServer, ['--config', fixturePath('allow-everything.yaml')]),
    ]);
    sluices.push(overHttp, overStdio);
    alone = await runConformance({ cli: conformanceCli, url: remote.url });
    // Through a stdio upstream every session starts its own server-everything (about
    // 1.5 s of Node start-up each here), so that side runs only the scenarios compared
    // below, in two halves side by side.
    const needed = [...alone].filter(([scenario, checks]) => passes(checks) || unknownToolScenarios.has(scenario));
    const names = needed.map(([scenario]) => scenario);
    const stdioUrl = new URL('mcp', overStdio.url).href;
    const [overHttpResults, firstHalf, secondHalf] = await Promise.all([
      runConformance({ cli: conformanceCli, url: new URL('mcp', overHttp.url).href }),
      runConformance({ cli: conformanceCli, url: stdioUrl, scenarios: names.filter((_, index) => index % 2 === 0) }),
      runConformance({ cli: conformanceCli, url: stdioUrl, scenarios: names.filter((_, index) => index % 2 === 1) }),
    ]);
    through['an HTTP upstream'] = overHttpResults;
    through['a stdio upstream'] = new Map([...firstHalf, ...secondHalf]);
  });
  after(async () => {
    await Promise.all(sluices.map((sluice) => sluice.stop()));
    remote?.child.kill();
  });

  for (const upstream of ['an HTTP upstream', 'a stdio upstream']) {
    it(`every scenario the server passes alone passes through Sluice with ${upstream}`, () => {
      const compared = [...alone].filter(([scenario, checks]) => passes(checks) && !unknownToolScenarios.has(scenario));
      assert.ok(compared.length >= 8, `the server alone passed only ${compared.map(([s]) => s)}`);
      const lost = compared
        .filter(([scenario]) => !passes(through[upstream].get(scenario) ?? []))
        .map(([scenario]) => `${scenario} (${failures(through[upstream].get(scenario) ?? []).join('; ') || 'not run'})`);
      assert.deepEqual(lost, [], `passed by server-everything alone, failed through Sluice: ${lost.join(', ')}`);
    });
  }

  it('a scenario calling a tool the server does not have: the server says isError, Sluice says unknown tool', () => {
    for (const [scenario, tool] of unknownToolScenarios) {
      const [check] = alone.get(scenario);
      assert.equal(check.details?.result?.isError, true, `${scenario} alone: ${JSON.stringify(check)}`);
      assert.match(check.details.result.content[0].text, new RegExp(`${tool} not found`));
      for (const results of Object.values(through)) {
        const [proxied] = results.get(scenario);
        assert.equal(proxied.status, 'FAILURE');
        assert.match(proxied.errorMessage, new RegExp(`-32602.*unknown tool "${tool}"`));
      }
    }
  });
});
