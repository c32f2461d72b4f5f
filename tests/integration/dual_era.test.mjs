// A 2026-07-28 client and a 2025 client, both the real v2 SDK, through the same Sluice
// to the same dual-era server (the v2 SDK's serveStdio): the policy governs both
// identically. Lists are filtered alike (and a modern list keeps its cache hints),
// calls are allowed, denied, refused by namespace and dry-run alike, and what Sluice
// answers itself carries `resultType` exactly where the client's era requires it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

import { fixtureServer, throughSluice } from '../support/harness.mjs';

// A policy file of its own, with an audit log of its own, for each Sluice.
function policyFile() {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-dual-era-'));
  const file = path.join(dir, 'sluice.yaml');
  writeFileSync(
    file,
    `upstream:
  name: kube
policy:
  mode: enforce
  default: require_approval
  namespaces:
    allow: [default, "prod-*"]
    arguments: [namespace]
  tools:
    pods_list: read
    deploy: read
    calls_seen: read
    deployments_scale: mutate
    configmap_apply: mutate
  rules:
    - { name: reads, match: { class: read }, action: allow }
    - name: no-deletes
      match: { tool: "*_delete" }
      action: deny
      reason: deletions need a human at a terminal
    - name: prod-changes
      match: { tool: "deployments_*", args: { namespace: "prod-*" } }
      action: require_approval
      reason: production changes need an SRE lead
    - { name: previews, match: { tool: ["deployments_scale", "configmap_apply"] }, action: dry_run, reason: previewed first }
dry_run:
  argument: dryRun
approval:
  hold: defer
audit:
  path: ${path.join(dir, 'audit.db')}
`,
  );
  return { file, audit: path.join(dir, 'audit.db') };
}

// How many audit rows of `kind` name `tool`.
function auditRows(db, kind, tool) {
  const sql = `SELECT count(*) FROM events WHERE kind = '${kind}' AND tool = '${tool}'`;
  return Number(execFileSync('sqlite3', [db, sql]).toString().trim());
}

const eras = {
  modern: { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  legacy: {},
};

const text = (result) => result.content.map((c) => c.text).join('');

// A v2 SDK client of `era` through Sluice, keeping every message it receives as sent
// on the wire (the SDK strips resultType from what callTool returns).
async function governed(era) {
  const policy = policyFile();
  const command = throughSluice(fixtureServer('dual-era-server.mjs'), ['--config', policy.file]);
  const transport = new StdioClientTransport({ command: command[0], args: command.slice(1), stderr: 'pipe' });
  const stderr = [];
  transport.stderr?.on('data', (chunk) => stderr.push(chunk.toString()));
  const client = new Client(
    { name: `dual-era-${era}`, version: '1.0.0' },
    { capabilities: { elicitation: { form: {}, url: {} } }, ...eras[era] },
  );
  client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { confirm: true } }));
  await client.connect(transport);
  const wire = [];
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    wire.push(message);
    deliver(message, extra);
  };
  client.wire = wire;
  client.audit = policy.audit;
  client.stderr = stderr;
  client.seen = async () => JSON.parse(text(await client.callTool({ name: 'calls_seen', arguments: {} })));
  client.reached = async (name) => (await client.seen()).filter((call) => call.name === name);
  // The last result as it arrived, for the call whose text matches.
  client.rawResult = (pattern) =>
    wire.filter((m) => m.result?.content && pattern.test(text(m.result))).at(-1)?.result;
  return client;
}

for (const era of Object.keys(eras)) {
  describe(`a ${era === 'modern' ? '2026-07-28' : '2025'} client (the v2 SDK) through Sluice`, () => {
    it('speaks its own era end to end', async () => {
      const client = await governed(era);
      assert.equal(client.getProtocolEra(), era);
      await client.callTool({ name: 'pods_list', arguments: { namespace: 'default' } });
      assert.deepEqual((await client.reached('pods_list')).map((c) => c.era), [era]);
      await client.close();
    });

    it('sees the tools a rule denies outright hidden, and a modern list keeps its cache hints', async () => {
      const client = await governed(era);
      const listed = await client.listTools();
      const names = listed.tools.map((t) => t.name);
      assert.ok(!names.includes('pods_delete'), 'pods_delete is denied by no-deletes');
      for (const name of ['pods_list', 'deployments_scale', 'configmap_apply', 'deploy']) assert.ok(names.includes(name), name);
      const raw = client.wire.find((m) => m.result?.tools);
      if (era === 'modern') {
        // What the upstream said (v2 SDK: no caching, private): Sluice neither lengthens nor widens it.
        assert.equal(raw.result.ttlMs, 0);
        assert.equal(raw.result.cacheScope, 'private');
      } else {
        assert.equal(raw.result.ttlMs, undefined);
        assert.equal(raw.result.cacheScope, undefined);
      }
      await client.close();
    });

    it('is allowed a read, and the read reaches the upstream', async () => {
      const client = await governed(era);
      const result = await client.callTool({ name: 'pods_list', arguments: { namespace: 'prod-eu' } });
      assert.equal(result.isError, undefined);
      assert.match(text(result), /pods_list ran with {"namespace":"prod-eu"}/);
      await client.close();
    });

    it('is denied with a tool error Sluice makes, shaped for its era, and nothing reaches the upstream', async () => {
      const client = await governed(era);
      const result = await client.callTool({ name: 'pods_delete', arguments: { namespace: 'default', name: 'web-1' } });
      assert.equal(result.isError, true);
      assert.match(text(result), /rule "no-deletes": deletions need a human at a terminal/);
      assert.equal(result._meta['dev.sluice/decision'].action, 'deny');
      const raw = client.rawResult(/no-deletes/);
      assert.equal(raw.resultType, era === 'modern' ? 'complete' : undefined);
      assert.deepEqual(await client.reached('pods_delete'), []);
      await client.close();
    });

    it('is refused a namespace outside the allowlist before any rule', async () => {
      const client = await governed(era);
      const result = await client.callTool({ name: 'pods_list', arguments: { namespace: 'kube-system' } });
      assert.equal(result.isError, true);
      assert.match(text(result), /namespace "kube-system" is not in the allowlist/);
      assert.equal(client.rawResult(/kube-system/).resultType, era === 'modern' ? 'complete' : undefined);
      assert.deepEqual(await client.reached('pods_list'), []);
      await client.close();
    });

    it('gets a dry run: upstream-side where the tool takes dryRun, simulated where it does not', async () => {
      const client = await governed(era);
      const scaled = await client.callTool({ name: 'deployments_scale', arguments: { namespace: 'default', name: 'web', replicas: 3 } });
      assert.match(text(scaled), /deployments_scale ran with .*"dryRun":true/);
      const simulated = await client.callTool({ name: 'configmap_apply', arguments: { namespace: 'default', data: 'x' } });
      assert.equal(simulated.isError, false);
      assert.match(text(simulated), /^DRY RUN: Sluice did not run this call/);
      assert.equal(client.rawResult(/^DRY RUN/).resultType, era === 'modern' ? 'complete' : undefined);
      assert.deepEqual(await client.reached('configmap_apply'), []);
      await client.close();
    });

    it("answers the upstream's own questions and is governed once per call, however many rounds", async () => {
      // deploy asks for confirmation: a modern client gets input_required and retries
      // with upstream's requestState (the server refuses any other state); a 2025 client
      // gets the SDK's elicitation/create. Either way: one decision, one outcome.
      const client = await governed(era);
      const result = await client.callTool({ name: 'deploy', arguments: { env: 'prod' } });
      assert.match(text(result), /deploy ran with {"env":"prod"}/);
      if (era === 'modern') {
        const round = client.wire.find((m) => m.result?.resultType === 'input_required');
        assert.equal(round.result.requestState, 'deploy:prod', "upstream's state reaches the client untouched");
      }
      assert.equal((await client.reached('deploy')).length, 1);
      await client.close();
      assert.equal(auditRows(client.audit, 'decision', 'deploy'), 1);
      assert.equal(auditRows(client.audit, 'outcome', 'deploy'), 1);
    });

    it('is told a held call is pending, in its era, and the call does not run', async () => {
      const client = await governed(era);
      const held = await client.callTool({ name: 'deployments_scale', arguments: { namespace: 'prod-eu', name: 'web', replicas: 3 } });
      assert.equal(held.isError, true);
      assert.match(text(held), /Approval request [0-9a-f]{32} is pending/);
      assert.equal(client.rawResult(/is pending/).resultType, era === 'modern' ? 'complete' : undefined);
      assert.deepEqual(await client.reached('deployments_scale'), []);
      await client.close();
    });
  });
}

describe('a modern client whose first message is a tools/call', () => {
  it('is governed from the first byte, and Sluice asks the upstream for its tools in the modern era', async () => {
    // No server/discover and no tools/list before the call: Sluice learns the tools
    // itself, and a claim-less tools/list would have opened the upstream as 2025-era.
    const { RawPeer } = await import('../support/harness.mjs');
    const peer = new RawPeer(throughSluice(fixtureServer('dual-era-server.mjs'), ['--config', policyFile().file]));
    const meta = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
    };
    peer.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'pods_delete', arguments: { name: 'a' }, _meta: meta } });
    const denied = await peer.next((m) => m.id === 1, 'the denial');
    assert.equal(denied.result.isError, true);
    assert.equal(denied.result.resultType, 'complete');
    peer.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'calls_seen', arguments: {}, _meta: meta } });
    const seen = await peer.next((m) => m.id === 2, 'calls_seen');
    assert.equal(seen.result.resultType, 'complete', 'the upstream answered in the modern era');
    assert.deepEqual(JSON.parse(seen.result.content[0].text), []);
    peer.child.stdin.end();
    await peer.exited;
  });
});
