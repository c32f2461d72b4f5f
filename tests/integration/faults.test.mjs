// Faults, with a real SDK client in front and a real SDK server behind that misbehaves
// on request: garbage and a line of 100 MB on its stdout, a flood of notifications;
// SIGTERM to Sluice while calls are held for approval; a client that goes away with
// calls held and in flight. The session survives what it can, answers what can be
// answered, holds no more memory than its limits allow, and the audit log verifies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

import { connectClient, fixtureServer, sanitized, sluiceBin, throughSluice } from '../support/harness.mjs';

const sluice = (...args) => spawnSync(sluiceBin, args, { encoding: 'utf8' });
const text = (result) => result.content.map((c) => c.text).join('');

// `echo` with text "hold me" is held for approval (the calls wait); everything else is allowed.
function auditedSetup() {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-faults-'));
  const db = path.join(dir, 'audit.db');
  const config = path.join(dir, 'sluice.yaml');
  writeFileSync(
    config,
    `audit:\n  path: ${db}\napproval:\n  hold: wait\npolicy:\n  default: allow\n  rules:\n` +
      '    - { name: held, match: { tool: echo, args: { text: "hold me" } }, action: require_approval }\n',
  );
  return { db, config };
}

const approvals = (setup) => {
  const run = sluice('approvals', 'list', '--db', setup.db, '--json', '--all');
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
};

// Waits, up to a deadline, until `count` requests are pending in the store.
async function pending(setup, count) {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (approvals(setup).filter((r) => r.state === 'pending').length === count) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not ${count} pending approval requests within 15 s`);
}

// The call's outcome as the client saw it: a result, Sluice's error, or the SDK's own
// "Connection closed" when the process went away without answering.
async function outcome(call) {
  try {
    return { result: await call };
  } catch (error) {
    return { error: { code: error.code, message: error.message } };
  }
}

// Waits until a line matching `pattern` is in the upstream's or Sluice's stderr.
async function logged(peer, pattern) {
  const deadline = Date.now() + 15000;
  while (!pattern.test(peer.stderr.join(''))) {
    if (Date.now() > deadline) throw new Error(`${pattern} not logged within 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// The most memory the process has held (VmHWM), in MiB; not bounded under ASan.
function peakMiB(pid) {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match[1]) / 1024;
}

async function hostileSession(env = {}, sluiceArgs = []) {
  const setup = auditedSetup();
  const args = ['--config', setup.config, ...sluiceArgs];
  const peer = await connectClient(throughSluice(fixtureServer('hostile-server.mjs'), args), { env });
  await peer.connect();
  return { ...peer, setup };
}

function assertVerifies(setup) {
  const verify = sluice('audit', 'verify', '--db', setup.db);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
}

describe('an upstream that writes garbage and a line of 100 MB', () => {
  it('has both dropped with a warning; the call is still answered and the session goes on', async () => {
    // A 4 MiB limit rather than the default 64 MiB, so that memory held for the line
    // up to the limit (a growing buffer briefly holds it twice) is far from the line.
    const peer = await hostileSession({ SPEW_MB: '100' }, ['--max-message-bytes', '4MiB']);
    const { client, transport } = peer;
    try {
      const result = await client.callTool({ name: 'spew', arguments: {} }, undefined, { timeout: 60000 });
      assert.equal(text(result), 'spewed');
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'after' } })), 'echo after');
      // The line was dropped as it arrived, not held whole.
      const peak = peakMiB(transport.pid);
      if (!sanitized) assert.ok(peak < 64, `Sluice peaked at ${peak.toFixed(0)} MiB`);
    } finally {
      await client.close();
    }
    const log = peer.stderr.join('');
    assert.match(log, /upstream sent a message of 104857\d+ bytes, over the 4194304 byte limit; dropped/);
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
      if (!sanitized) assert.ok(peak < 64, `Sluice peaked at ${peak.toFixed(0)} MiB`);
    } finally {
      await client.close();
    }
    assertVerifies(peer.setup);
  });
});

describe('SIGTERM to Sluice while calls are held for approval', () => {
  it('cancels the requests, answers every client call, and leaves a log that verifies', async () => {
    const peer = await hostileSession();
    const { client, transport } = peer;
    const held = [1, 2].map(() => outcome(client.callTool({ name: 'echo', arguments: { text: 'hold me' } })));
    await pending(peer.setup, 2);
    const exited = new Promise((resolve) => transport.onclose = resolve);
    process.kill(transport.pid, 'SIGTERM');
    const outcomes = await Promise.all(held);
    await exited;
    for (const o of outcomes) {
      assert.ok(o.error || o.result?.isError, `the call was not run: ${JSON.stringify(o)}`);
      assert.notEqual(o.error?.code, -32000, `the call was answered, not cut off: ${JSON.stringify(o)}`);
    }
    assert.deepEqual(approvals(peer.setup).map((r) => r.state), ['cancelled', 'cancelled']);
    assert.doesNotMatch(peer.stderr.join(''), /hostile-server: call echo/);
    assertVerifies(peer.setup);
  });
});

describe('the client goes away with one call held and one in flight', () => {
  it('the held request is cancelled, nothing more reaches the upstream, and the log verifies', async () => {
    const peer = await hostileSession();
    const { client } = peer;
    const inFlight = outcome(client.callTool({ name: 'hang', arguments: {} }));
    await logged(peer, /hostile-server: call hang/);
    const held = outcome(client.callTool({ name: 'echo', arguments: { text: 'hold me' } }));
    await pending(peer.setup, 1);
    await client.close();
    await Promise.all([inFlight, held]);
    // Sluice records the end of the session on its way out; wait for the request's end.
    const deadline = Date.now() + 15000;
    while (approvals(peer.setup)[0].state === 'pending' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(approvals(peer.setup)[0].state, 'cancelled');
    assert.doesNotMatch(peer.stderr.join(''), /hostile-server: call echo/);
    assertVerifies(peer.setup);
  });
});

describe('the audit log file removed while Sluice runs', () => {
  it('fails closed: the next call is refused with a clear error and never reaches the upstream', async () => {
    const peer = await hostileSession();
    const { client } = peer;
    try {
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'before' } })), 'echo before');
      for (const suffix of ['', '-wal', '-shm']) rmSync(peer.setup.db + suffix, { force: true });
      const refused = await outcome(client.callTool({ name: 'echo', arguments: { text: 'after' } }));
      assert.equal(refused.error?.code, -31002, JSON.stringify(refused));
      assert.match(refused.error.message, /audit log file was removed or replaced while Sluice had it open/);
    } finally {
      await client.close();
    }
    const log = peer.stderr.join('');
    assert.match(log, /AUDIT LOG UNAVAILABLE/);
    assert.equal((log.match(/hostile-server: call echo/g) ?? []).length, 1, 'only the call before the removal ran');
  });
});
