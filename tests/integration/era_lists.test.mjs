// A 2026-07-28 client's lists through Sluice: a filtered tools/list keeps the
// upstream's cache lifetime (ttlMs) and never becomes more shareable (cacheScope),
// and a subscriptions/listen stream is relayed, its tools/list_changed reaches the
// client, and the list the client then fetches is filtered again. The real v2 SDK
// client and the project's dual-era fixture server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

import { fixtureServer, keepWire, throughSluice } from '../support/harness.mjs';

const text = (result) => result.content.map((c) => c.text).join('');

function policy(rules) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-era-lists-'));
  const file = path.join(dir, 'sluice.yaml');
  writeFileSync(file, `approval:\n  hold: defer\npolicy:\n  default: allow\n  rules:\n${rules}`);
  return file;
}

const noDeletes = '    - { name: no-deletes, match: { tool: "*_delete" }, action: deny, reason: no deletions }\n';
const noneMatch = '    - { name: no-such-tool, match: { tool: "nothing_*" }, action: deny }\n';

async function modernClient(config, serverArgs = []) {
  const command = throughSluice(fixtureServer('dual-era-server.mjs', ...serverArgs), ['--config', config]);
  const transport = new StdioClientTransport({ command: command[0], args: command.slice(1), stderr: 'pipe' });
  const client = new Client({ name: 'era-lists', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(transport);
  return keepWire(client, transport);
}

// The last tools/list result as it came on the wire (the SDK consumes the cache hints).
const rawList = (client) => client.wire.filter((m) => Array.isArray(m.result?.tools)).at(-1).result;

describe("a 2026-07-28 tools/list that Sluice filters", () => {
  it("keeps the upstream's ttlMs, and a public list becomes private once Sluice hid a tool from it", async () => {
    const client = await modernClient(policy(noDeletes), ['--cache-hint=public:60000']);
    try {
      await client.listTools({}, { cacheMode: 'bypass' });
      const listed = rawList(client);
      assert.ok(!listed.tools.some((t) => t.name === 'pods_delete'), 'pods_delete is hidden');
      assert.equal(listed.ttlMs, 60000);
      assert.equal(listed.cacheScope, 'private', 'what is left is this caller\'s list, not everyone\'s');
    } finally {
      await client.close();
    }
  });

  it('keeps a public list public when it hid nothing', async () => {
    const client = await modernClient(policy(noneMatch), ['--cache-hint=public:60000']);
    try {
      await client.listTools({}, { cacheMode: 'bypass' });
      const listed = rawList(client);
      assert.ok(listed.tools.some((t) => t.name === 'pods_delete'));
      assert.equal(listed.ttlMs, 60000);
      assert.equal(listed.cacheScope, 'public');
    } finally {
      await client.close();
    }
  });
});

describe('a 2026-07-28 client listening for changes (subscriptions/listen)', () => {
  it("gets the upstream's tools/list_changed on its stream, and the tools it then lists are filtered again", async () => {
    const client = await modernClient(policy(noDeletes));
    try {
      let changed;
      const change = new Promise((resolve) => {
        changed = resolve;
      });
      client.setNotificationHandler('notifications/tools/list_changed', () => changed());
      const subscription = await client.listen({ toolsListChanged: true });
      assert.deepEqual(subscription.honoredFilter, { toolsListChanged: true });
      const before = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(!before.includes('extra_delete') && !before.includes('extra_list'));

      await client.callTool({ name: 'tools_add', arguments: { name: 'extra_delete' } });
      await client.callTool({ name: 'tools_add', arguments: { name: 'extra_list' } });
      await change;
      const relayed = client.wire.find((m) => m.method === 'notifications/tools/list_changed');
      const listen = client.wire.find((m) => m.method === 'notifications/subscriptions/acknowledged');
      assert.equal(
        relayed.params._meta['io.modelcontextprotocol/subscriptionId'],
        listen.params._meta['io.modelcontextprotocol/subscriptionId'],
        'the notification comes on the listen stream, as the upstream sent it',
      );

      const after = (await client.listTools({}, { cacheMode: 'bypass' })).tools.map((t) => t.name);
      assert.ok(after.includes('extra_list'), JSON.stringify(after));
      assert.ok(!after.includes('extra_delete'), 'the new tool a rule denies outright is hidden too');
      // A tool that appeared after the first listing was slipped in past the pins: held.
      const slipped = await client.callTool({ name: 'extra_list', arguments: {} });
      assert.match(text(slipped), /Held for approval by Sluice policy \(rule "pin"/);
      const denied = await client.callTool({ name: 'extra_delete', arguments: {} });
      assert.equal(denied.isError, true);
      assert.match(text(denied), /Denied by Sluice policy \(rule "no-deletes"/);
      await subscription.close();
    } finally {
      await client.close();
    }
  });
});
