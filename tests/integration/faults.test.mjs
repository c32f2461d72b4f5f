// Faults from the upstream side, with a real SDK client in front and a real SDK
// server behind that misbehaves on request: garbage and a line of 100 MB on its
// stdout, a flood of notifications. The session survives each, answers what can be
// answered, holds no more memory than its limits allow, and the audit log verifies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

import { connectClient, fixtureServer, sluiceBin, throughSluice } from '../support/harness.mjs';

const sluice = (...args) => spawnSync(sluiceBin, args, { encoding: 'utf8' });
const text = (result) => result.content.map((c) => c.text).join('');

function auditedSetup() {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-faults-'));
  const db = path.join(dir, 'audit.db');
  const config = path.join(dir, 'sluice.yaml');
  writeFileSync(config, `audit:\n  path: ${db}\npolicy:\n  default: allow\n`);
  return { db, config };
}

// The most memory the process has held (VmHWM), in MiB.
function peakMiB(pid) {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match[1]) / 1024;
}

async function hostileSession(env = {}) {
  const setup = auditedSetup();
  const peer = await connectClient(throughSluice(fixtureServer('hostile-server.mjs'), ['--config', setup.config]), { env });
  await peer.connect();
  return { ...peer, setup };
}

function assertVerifies(setup) {
  const verify = sluice('audit', 'verify', '--db', setup.db);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
}

describe('an upstream that writes garbage and a line of 100 MB', () => {
  it('has both dropped with a warning; the call is still answered and the session goes on', async () => {
    const peer = await hostileSession({ SPEW_MB: '100' });
    const { client, transport } = peer;
    try {
      const result = await client.callTool({ name: 'spew', arguments: {} }, undefined, { timeout: 60000 });
      assert.equal(text(result), 'spewed');
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'after' } })), 'echo after');
      // The line was dropped as it arrived, not held whole: the limit is 64 MiB.
      const peak = peakMiB(transport.pid);
      assert.ok(peak < 100, `Sluice peaked at ${peak.toFixed(0)} MiB`);
    } finally {
      await client.close();
    }
    const log = peer.stderr.join('');
    assert.match(log, /upstream sent a message of 104857\d+ bytes, over the 67108864 byte limit; dropped/);
    // not json, binary, a cut array, 100 000 brackets, JSON-RPC 1.0.
    const skipped = log.match(/skipped a line from the upstream that is not JSON-RPC/g) ?? [];
    assert.ok(skipped.length >= 5, log);
    assertVerifies(peer.setup);
  });
});

describe('an upstream that floods notifications', () => {
  it('has every one relayed in order, the call answered after them, in bounded memory', async () => {
    const peer = await hostileSession();
    const { client, transport } = peer;
    const received = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => received.push(n.params.data));
    const count = 20000;
    try {
      const result = await client.callTool({ name: 'flood', arguments: { count } }, undefined, { timeout: 60000 });
      assert.equal(text(result), `flooded ${count}`);
      assert.equal(received.length, count);
      assert.deepEqual([received[0], received[count - 1]], ['flood 0', `flood ${count - 1}`]);
      assert.ok(received.every((data, i) => data === `flood ${i}`), 'in order');
      const peak = peakMiB(transport.pid);
      assert.ok(peak < 64, `Sluice peaked at ${peak.toFixed(0)} MiB`);
    } finally {
      await client.close();
    }
    assertVerifies(peer.setup);
  });
});
