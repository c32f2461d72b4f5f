// The policy as the model meets it, through a real SDK client: what tools/list shows,
// what a denied, dry-run or held call answers, what reaches the upstream and what
// never does. The upstream is a real SDK server that reports the calls it received.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';

import { connectClient, fixtureServer, repoRoot, sluiceBin, throughSluice } from '../support/harness.mjs';

const example = (name) => path.join(repoRoot, 'examples/policies', name);
const text = (result) => result.content.map((c) => c.text).join('');

// A policy (an example's, or the built-in one) whose held calls are answered at once
// with "pending" (approval.hold: defer), so that a test sees what the model is told.
function deferring(exampleName) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'sluice-policy-')), 'sluice.yaml');
  const base = exampleName ? readFileSync(example(exampleName), 'utf8') : '';
  writeFileSync(file, `${base}\napproval:\n  hold: defer\n`);
  return file;
}

async function governed(sluiceArgs) {
  const peer = await connectClient(throughSluice(fixtureServer('governed-server.mjs'), sluiceArgs));
  await peer.connect();
  const { client } = peer;
  client.seen = async () => JSON.parse(text(await client.callTool({ name: 'calls_seen', arguments: {} })));
  client.reached = async (name) => (await client.seen()).filter((call) => call.name === name);
  return client;
}

// The JSON-RPC error a raw tools/call gets, or null.
async function protocolError(client, params) {
  try {
    await client.request({ method: 'tools/call', params }, CallToolResultSchema);
    return null;
  } catch (error) {
    return { code: error.code, message: error.message };
  }
}

describe('an SRE policy (examples/policies/sre-namespaced.yaml)', () => {
  const policy = ['--config', example('sre-namespaced.yaml')];

  it('hides the tools a rule denies outright from tools/list', async () => {
    const client = await governed(policy);
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(!names.includes('pods_delete'), 'pods_delete is denied by no-deletes');
    for (const name of ['pods_list', 'deployments_scale', 'manifest_apply']) assert.ok(names.includes(name), name);
    await client.close();
  });

  it('denies with a tool error that names the rule and its reason, and nothing reaches the upstream', async () => {
    const client = await governed(policy);
    await client.listTools();
    const result = await client.callTool({ name: 'pods_delete', arguments: { namespace: 'default', name: 'web-1' } });
    assert.equal(result.isError, true);
    assert.match(text(result), /rule "no-deletes": deletions need a human at a terminal/);
    assert.equal(result._meta['dev.sluice/decision'].rule, 'no-deletes');
    assert.equal(result._meta['dev.sluice/decision'].action, 'deny');
    assert.deepEqual(await client.reached('pods_delete'), []);
    await client.close();
  });

  it('lets reads through in allowed namespaces and refuses other namespaces before any rule', async () => {
    const client = await governed(policy);
    const allowed = await client.callTool({ name: 'pods_list', arguments: { namespace: 'prod-eu' } });
    assert.equal(allowed.isError, undefined);
    assert.match(text(allowed), /pods_list ran with {"namespace":"prod-eu"}/);

    const refused = await client.callTool({ name: 'pods_list', arguments: { namespace: 'kube-system' } });
    assert.equal(refused.isError, true);
    assert.match(text(refused), /rule "namespaces": namespace "kube-system" is not in the allowlist/);
    assert.deepEqual(
      (await client.reached('pods_list')).map((c) => c.arguments.namespace),
      ['prod-eu'],
    );
    await client.close();
  });

  it('finds the namespace inside a manifest given as YAML text', async () => {
    const client = await governed(policy);
    const manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: staging-1\n---\n' +
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n  namespace: kube-system\n';
    const result = await client.callTool({ name: 'manifest_apply', arguments: { manifest } });
    assert.equal(result.isError, true);
    assert.match(text(result), /namespace "kube-system" is not in the allowlist/);
    assert.deepEqual(await client.reached('manifest_apply'), []);
    await client.close();
  });

  it('dry-runs a tool that takes dryRun by forwarding it with dryRun: true', async () => {
    const client = await governed(policy);
    const result = await client.callTool({
      name: 'deployments_scale',
      arguments: { namespace: 'staging-2', name: 'web', replicas: 5 },
    });
    assert.equal(result.isError, undefined);
    assert.deepEqual(await client.reached('deployments_scale'), [
      { name: 'deployments_scale', arguments: { namespace: 'staging-2', name: 'web', replicas: 5, dryRun: true } },
    ]);
    await client.close();
  });

  it('holds a production change for approval and does not run it', async () => {
    const client = await governed(policy);
    // Nobody approves: the client gives up (and cancels) while the call is held.
    await assert.rejects(
      client.callTool({ name: 'deployments_scale', arguments: { namespace: 'prod-eu', name: 'web', replicas: 0 } },
        undefined, { timeout: 1000 }),
      /timed out/i,
    );
    assert.deepEqual(await client.reached('deployments_scale'), []);
    await client.close();
  });

  it('answers malformed calls with -32602 and forwards none of them', async () => {
    const client = await governed(policy);
    const cases = [
      [{}, /needs params.name, a string/],
      [{ name: 42 }, /needs params.name, a string/],
      [{ name: 'pods_list', arguments: [1, 2] }, /must be an object/],
      [{ name: 'no_such_tool', arguments: {} }, /unknown tool "no_such_tool"/],
      [{ name: 'deployments_scale', arguments: { name: 'web' } }, /missing required argument "replicas"/],
      [{ name: 'deployments_scale', arguments: { name: 'web', replicas: 'many' } }, /"replicas" must be of type integer/],
      [{ name: 'manifest_apply', arguments: { manifest: 'x', force: true } }, /unknown argument "force"/],
    ];
    for (const [params, message] of cases) {
      const error = await protocolError(client, params);
      assert.equal(error?.code, -32602, JSON.stringify(params));
      assert.match(error.message, message);
    }
    assert.deepEqual(await client.seen(), []);
    await client.close();
  });
});

describe('pinning (annotations: pinned)', () => {
  it('holds a tool whose definition changed after it was pinned, and a new tool', async () => {
    const client = await governed(['--config', deferring('read-only.yaml')]);
    await client.listTools();
    assert.equal((await client.callTool({ name: 'pods_list', arguments: {} })).isError, undefined);

    await client.callTool({ name: 'change_tools', arguments: {} });
    // The client does not relist: after notifications/tools/list_changed Sluice
    // refreshes what it knows of the tools itself before deciding the next call.
    const changed = await client.callTool({ name: 'pods_list', arguments: {} });
    assert.equal(changed.isError, true);
    assert.match(text(changed), /rule "pin": the tool's definition changed since it was pinned/);
    assert.match(text(changed), /Approval request [0-9a-f]{32} is pending/);

    const fresh = await client.callTool({ name: 'cluster_wipe', arguments: {} });
    assert.equal(fresh.isError, true, 'a new tool claiming readOnlyHint is not trusted');
    assert.equal(fresh._meta['dev.sluice/decision'].class, 'changed');

    assert.deepEqual((await client.seen()).map((c) => c.name), ['pods_list', 'change_tools']);
    await client.close();
  });
});

describe('the tool catalog', () => {
  it('a burst of calls before the catalog is known asks the upstream for tools/list once', async () => {
    const client = await governed(['--config', deferring()]);
    try {
      const burst = 20;
      const results = await Promise.all(
        Array.from({ length: burst }, (_, i) => client.callTool({ name: 'pods_list', arguments: { namespace: `n${i}` } })),
      );
      for (const result of results) assert.equal(result.isError, undefined, text(result));
      assert.equal((await client.reached('pods_list')).length, burst);
      const lists = await client.callTool({ name: 'lists_seen', arguments: {} });
      assert.equal(text(lists), '1', 'the calls that found the catalog empty waited for the first one\'s tools/list');
    } finally {
      await client.close();
    }
  });
});

describe('the default policy (no --config)', () => {
  it('allows reads and holds everything else', async () => {
    const client = await governed(['--config', deferring()]);
    assert.equal((await client.callTool({ name: 'pods_list', arguments: {} })).isError, undefined);
    const held = await client.callTool({ name: 'deployments_scale', arguments: { name: 'web', replicas: 2 } });
    assert.equal(held.isError, true);
    assert.match(text(held), /rule "default": no rule matched; policy.default applies/);
    assert.deepEqual((await client.seen()).map((c) => c.name), ['pods_list']);
    await client.close();
  });
});

describe('modes', () => {
  it('monitor forwards everything and hides nothing', async () => {
    const client = await governed(['--config', example('monitor.yaml')]);
    assert.ok((await client.listTools()).tools.some((t) => t.name === 'pods_delete'));
    const result = await client.callTool({ name: 'pods_delete', arguments: { name: 'web-1' } });
    assert.equal(result.isError, undefined);
    assert.equal((await client.reached('pods_delete')).length, 1);
    await client.close();
  });

  it('dry_run lets nothing but reads reach the upstream for real', async () => {
    const client = await governed(['--config', example('dry-run-everything.yaml')]);
    const scaled = await client.callTool({ name: 'deployments_scale', arguments: { name: 'web', replicas: 3 } });
    assert.equal(scaled.isError, undefined);
    const simulated = await client.callTool({ name: 'manifest_apply', arguments: { manifest: 'kind: Namespace' } });
    assert.equal(simulated.isError, false);
    assert.match(text(simulated), /^DRY RUN: Sluice did not run this call .* It would have called "manifest_apply" with arguments {"manifest":"kind: Namespace"}/);
    assert.equal((await client.callTool({ name: 'pods_list', arguments: {} })).isError, undefined);
    assert.deepEqual(await client.seen(), [
      { name: 'deployments_scale', arguments: { name: 'web', replicas: 3, dryRun: true } },
      { name: 'pods_list', arguments: {} },
    ]);
    await client.close();
  });
});

describe('sluice policy check and explain', () => {
  const sluice = (...args) => spawnSync(sluiceBin, args, { encoding: 'utf8' });

  it('accepts every example policy', () => {
    for (const name of ['read-only.yaml', 'sre-namespaced.yaml', 'dry-run-everything.yaml', 'monitor.yaml']) {
      const run = sluice('policy', 'check', example(name));
      assert.equal(run.status, 0, `${name}: ${run.stderr}`);
      assert.match(run.stdout, /valid\n/);
    }
  });

  it('names file, line and key of a broken policy, and sluice run refuses to start on it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-policy-'));
    const broken = path.join(dir, 'broken.yaml');
    writeFileSync(broken, 'policy:\n  rules:\n    - name: oops\n      match: { tool: "*" }\n      action: approve\n');
    const check = sluice('policy', 'check', broken);
    assert.equal(check.status, 1);
    assert.equal(
      check.stderr.trim(),
      `${broken}:5: policy.rules[0].action: expected one of allow, deny, dry_run, require_approval, got "approve"`,
    );
    const run = spawnSync(sluiceBin, ['run', '--config', broken, '--', 'true'], { encoding: 'utf8', input: '' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /policy.rules\[0\].action/);
  });

  it('explains a decision rule by rule', () => {
    const run = sluice('policy', 'explain', '--config', example('sre-namespaced.yaml'), '--tool', 'deployments_scale',
      '--args', '{"namespace":"prod-eu","name":"web","replicas":0}');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^decision: require_approval\n  rule:      prod-changes\n/);
    assert.match(run.stdout, /no match reads \(line \d+\): class mutate is not read/);
    assert.match(run.stdout, /no match no-deletes \(line \d+\): tool "deployments_scale" does not match \*_delete, \*_wipe/);
    assert.match(run.stdout, /MATCH {4}prod-changes/);
  });
});
