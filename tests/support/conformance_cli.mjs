// Runs the server scenarios of a @modelcontextprotocol/conformance CLI against a URL and
// reads back each scenario's checks; shared by the 2025 comparison (0.1.13 on Node 20)
// and the 2026-07-28 one (0.2.0-alpha.12 on Node 22).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// Runs `cli` with `node` against `url`: once with `args` alone, or once per entry of
// `scenarios` with `--scenario NAME`; resolves to scenario → checks.
export async function runConformance({ node = process.execPath, cli, url, scenarios = [undefined], args = [] }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-conformance-'));
  let output = '';
  for (const scenario of scenarios) {
    const child = spawn(node, [cli, 'server', '--url', url, '-o', dir, ...args, ...(scenario ? ['--scenario', scenario] : [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    await once(child, 'exit'); // non-zero whenever a scenario fails, which some do on every side
  }
  const results = new Map();
  for (const entry of readdirSync(dir)) {
    const scenario = /^server-(.+)-\d{4}-\d\d-\d\dT/.exec(entry)?.[1];
    if (!scenario) continue;
    // A scenario that threw before its end (alpha.12 does when a connection cannot even
    // be set up) leaves its directory without checks: it ran, and nothing passed.
    const checks = path.join(dir, entry, 'checks.json');
    results.set(scenario, existsSync(checks) ? JSON.parse(readFileSync(checks, 'utf8')) : []);
  }
  assert.ok(results.size > 0, `the conformance run against ${url} produced no results:\n${output}`);
  return results;
}

export const passes = (checks) => checks.length > 0 && checks.every((check) => check.status !== 'FAILURE');

export const failures = (checks) =>
  checks.filter((check) => check.status === 'FAILURE').map((check) => `${check.id}: ${check.errorMessage}`);
