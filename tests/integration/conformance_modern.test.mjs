// @modelcontextprotocol/conformance 0.2.0-alpha.12 (installed as `conformance-modern`; it
// needs Node 22, which `node_modules/node22` ships, so only the CLI runs on it): its
// 2026-07-28 server scenarios against the project's own fixture
// (fixtures/conformance-server.mjs) over Streamable HTTP alone, then through
// `sluice run --listen` with the fixture as `upstream.url` and with its stdio mode as a
// child. Differential, check by check: every check the fixture passes alone must pass
// through Sluice as well. How to run it by hand: docs/protocol.md, "Conformance".
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { fixturePath, fixtureServer, repoRoot, startSluiceHttp } from '../support/harness.mjs';
import { failures, passes, runConformance } from '../support/conformance_cli.mjs';

const node22 = path.join(repoRoot, 'node_modules/node22/bin/node');
const conformanceCli = path.join(repoRoot, 'node_modules/conformance-modern/dist/index.js');

// Exactly the server scenarios the 2026-07-28 revision requires, frozen at its release
// (37), plus what that run reports without scoring: the pending ones
// (http-header-validation, http-custom-header-server-validation, json-schema-2020-12)
// and the ten tasks-* of the io.modelcontextprotocol/tasks extension. 50 in all.
const modernScenarios = ['--requirements', '2026-07-28'];

const upstreams = ['an HTTP upstream', 'a stdio upstream'];

// The fixture's Streamable HTTP mode on a free loopback port; resolves once it listens.
async function startFixtureHttp() {
  const child = spawn(process.execPath, [fixturePath('conformance-server.mjs'), 'http', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const url = await new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk.toString();
      const found = /listening on (http:\/\/\S+)/.exec(stderr);
      if (found) resolve(found[1]);
    });
    child.on('exit', (code) => reject(new Error(`the conformance fixture exited with ${code}:\n${stderr}`)));
  });
  return { url, child };
}

// The checks `alone` passed that `through` did not, as "id: what went wrong" lines. A
// check id may occur more than once in a scenario; each occurrence counts.
function lostChecks(alone, through) {
  const passedThrough = new Map();
  for (const check of through) {
    if (check.status === 'SUCCESS') passedThrough.set(check.id, (passedThrough.get(check.id) ?? 0) + 1);
  }
  const lost = [];
  for (const check of alone.filter((check) => check.status === 'SUCCESS')) {
    const left = passedThrough.get(check.id) ?? 0;
    if (left > 0) {
      passedThrough.set(check.id, left - 1);
      continue;
    }
    const proxied = through.find((other) => other.id === check.id);
    lost.push(`${check.id}: ${proxied ? `${proxied.status} ${(proxied.errorMessage ?? '').slice(0, 200)}` : 'not run'}`);
  }
  return lost;
}

const summary = (checks) => {
  const counts = {};
  for (const check of checks) counts[check.status] = (counts[check.status] ?? 0) + 1;
  return JSON.stringify(counts);
};

describe('2026-07-28 conformance server scenarios: the fixture alone and through Sluice', () => {
  const fixtures = [];
  const sluices = [];
  let alone;
  const through = {};

  before(async () => {
    // Sluice's HTTP upstream is a fixture of its own: server-stateless changes the tool
    // and prompt lists, which must not reach the other run's tools/list mid-scenario.
    const [fixture, upstream] = await Promise.all([startFixtureHttp(), startFixtureHttp()]);
    fixtures.push(fixture, upstream);
    const configDir = mkdtempSync(path.join(tmpdir(), 'sluice-conformance-modern-'));
    const httpUpstream = path.join(configDir, 'sluice.yaml');
    writeFileSync(httpUpstream, `upstream:\n  url: ${upstream.url}\npolicy:\n  default: allow\n  rules: []\n`);
    const [overHttp, overStdio] = await Promise.all([
      startSluiceHttp([], ['--config', httpUpstream]),
      startSluiceHttp(fixtureServer('conformance-server.mjs', 'stdio'), ['--config', fixturePath('allow-everything.yaml')]),
    ]);
    sluices.push(overHttp, overStdio);
    const run = (url) => runConformance({ node: node22, cli: conformanceCli, url, args: modernScenarios });
    [alone, through['an HTTP upstream'], through['a stdio upstream']] = await Promise.all([
      run(fixture.url),
      run(new URL('mcp', overHttp.url).href),
      run(new URL('mcp', overStdio.url).href),
    ]);
  });
  after(async () => {
    await Promise.all(sluices.map((sluice) => sluice.stop()));
    for (const fixture of fixtures) fixture.child.kill();
  });

  it('the fixture alone passes every 2026-07-28 scenario', (t) => {
    for (const [scenario, checks] of alone) t.diagnostic(`alone ${scenario}: ${summary(checks)}`);
    assert.ok(alone.size >= 50, `only ${alone.size} scenarios ran: ${[...alone.keys()]}`);
    const failed = [...alone].filter(([, checks]) => !passes(checks)).map(([scenario]) => `${scenario} (${failures(checks).join('; ')})`);
    assert.deepEqual(failed, [], `the fixture alone fails ${failed.join(', ')}`);
  });

  for (const upstream of upstreams) {
    it(`every check the fixture passes alone passes through Sluice with ${upstream}`, (t) => {
      const lost = [];
      for (const [scenario, checks] of alone) {
        const proxied = through[upstream].get(scenario) ?? [];
        t.diagnostic(`through Sluice with ${upstream}, ${scenario}: ${summary(proxied)}`);
        const missing = lostChecks(checks, proxied);
        if (missing.length > 0) lost.push(`${scenario} (${missing.join('; ')})`);
      }
      assert.deepEqual(lost, [], `passed by the fixture alone, failed through Sluice with ${upstream}:\n${lost.join('\n')}`);
    });
  }
});
