// What a client must be able to count on when things go wrong: a bad line costs one
// error, not the session; a dying upstream answers every request in flight; and no
// process outlives the session, whichever side ends it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import {
  RawPeer,
  assertAuditVerifies,
  auditRecords,
  auditedConfig,
  everythingServer,
  fixtureServer,
  initializeRequest,
  processExists,
  throughSluice,
} from '../support/harness.mjs';

const byId = (id) => (message) => message.id === id && !('method' in message);

async function startSession(command) {
  const peer = new RawPeer(command);
  peer.send(initializeRequest(0));
  await peer.next(byId(0), 'the initialize response');
  peer.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return peer;
}

function upstreamPid(peer) {
  return peer.until(() => {
    const match = /relaying stdio to upstream .* \(pid (\d+)\)/.exec(peer.stderrText);
    return match && Number(match[1]);
  }, "Sluice's log line naming the upstream pid");
}

// Waits (event-driven, bounded by the test's timeout) until `pid` is gone.
async function gone(pid) {
  while (processExists(pid)) await new Promise((resolve) => setImmediate(resolve));
}

describe('malformed input from the client', () => {
  it('gets a JSON-RPC error each, and the session goes on', async () => {
    const peer = await startSession(throughSluice(everythingServer));
    peer.send('{"jsonrpc":"2.0","id":1,"method":"ping"'); // truncated JSON
    peer.child.stdin.write(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d, 0x0a])); // {"\xff\xfe":1}
    peer.send('42');
    peer.send({ id: 9, method: 'ping' }); // no "jsonrpc"
    peer.send('['.repeat(100000));
    // The form of another Sluice's own ids: a Sluice in front of this one must get through.
    peer.send({ jsonrpc: '2.0', id: 'sluice-7', method: 'ping' });
    peer.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'after' } } });

    const answer = await peer.next(byId(2), 'the echo after the bad lines');
    assert.deepEqual(answer.result.content, [{ type: 'text', text: 'Echo: after' }]);
    const errors = peer.messages.filter((m) => m.error);
    assert.deepEqual(
      errors.map((m) => [m.id, m.error.code]),
      [
        [null, -32700],
        [null, -32700],
        [null, -32600],
        [9, -32600],
        [null, -32600],
      ],
    );
    const relayed = await peer.next(byId('sluice-7'), "the upstream's answer to the ping with another Sluice's id");
    assert.deepEqual(relayed.result, {});
    assert.match(errors[4].error.message, /nested too deeply/);
    peer.child.stdin.end();
    const [code] = await peer.exited;
    assert.equal(code, 0);
  });

  it('a message over the size limit is refused and the next one still served', async () => {
    const peer = await startSession(throughSluice(everythingServer, ['--max-message-bytes', '64KiB']));
    peer.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x'.repeat(100 * 1024) } } });
    peer.send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'echo', arguments: { message: 'small' } } });
    const small = await peer.next(byId(4), 'the small echo');
    assert.deepEqual(small.result.content, [{ type: 'text', text: 'Echo: small' }]);
    const refused = peer.messages.find((m) => m.error);
    assert.equal(refused.error.code, -32600);
    assert.match(refused.error.message, /too large/);
    peer.child.stdin.end();
    await peer.exited;
  });
});

describe('batches (JSON-RPC arrays, MCP 2025-03-26)', () => {
  it('are answered with one array, although the upstream takes no batches', async () => {
    const peer = await startSession(throughSluice(everythingServer));
    peer.send([
      { jsonrpc: '2.0', id: 10, method: 'ping' },
      { jsonrpc: '2.0', method: 'notifications/roots/list_changed' },
      { jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'echo', arguments: { message: 'in a batch' } } },
      { jsonrpc: '2.0', bogus: true },
    ]);
    const batch = await peer.next(Array.isArray, 'the batch response');
    const ids = batch.map((m) => m.id).sort((a, b) => (a ?? -1) - (b ?? -1));
    assert.deepEqual(ids, [null, 10, 11]);
    assert.deepEqual(batch.find((m) => m.id === 11).result.content, [{ type: 'text', text: 'Echo: in a batch' }]);
    assert.equal(batch.find((m) => m.id === null).error.code, -32600);
    peer.child.stdin.end();
    await peer.exited;
  });
});

describe('when the upstream dies mid-call', () => {
  it('every request in flight gets an error, Sluice exits 1, nothing is left running, and the audit log verifies', async () => {
    // A wrapper shell in front of the server, as npx puts one: killing only the
    // process Sluice started must still take the real server with it.
    const wrapped = ['/bin/sh', '-c', `"${everythingServer.join('" "')}"; exit 3`];
    const audited = auditedConfig('policy:\n  default: allow');
    const peer = await startSession(throughSluice(wrapped, ['--config', audited.config]));
    const shellPid = await upstreamPid(peer);
    for (const id of [20, 21]) {
      peer.send({
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: 'trigger-long-running-operation', arguments: { duration: 60, steps: 60 }, _meta: { progressToken: id } },
      });
    }
    await peer.next((m) => m.method === 'notifications/progress' && m.params.progressToken === 21, 'progress of both calls');
    const serverPid = Number(execFileSync('ps', ['-o', 'pid=', '--ppid', String(shellPid)]).toString().trim());
    assert.ok(serverPid > 0);

    process.kill(shellPid, 'SIGKILL');

    const [code] = await peer.exited;
    assert.equal(code, 1);
    for (const id of [20, 21]) {
      const answer = peer.messages.find(byId(id));
      assert.ok(answer, `request ${id} was answered`);
      assert.equal(answer.error.code, -31001);
      assert.match(answer.error.message, /Upstream MCP server exited/);
    }
    assert.match(peer.stderrText, /was killed by signal 9/);
    await gone(serverPid);
    // Both calls were decided before they went upstream, their outcome is the error Sluice
    // answered in the upstream's stead, and the session's end says why.
    assertAuditVerifies(audited.db);
    const decided = auditRecords(audited.db, "kind = 'decision' AND tool = 'trigger-long-running-operation'");
    assert.deepEqual(decided.map((d) => d.id), [20, 21]);
    const outcomes = auditRecords(audited.db, "kind = 'outcome' AND tool = 'trigger-long-running-operation'");
    assert.deepEqual(outcomes.map((o) => [o.id, o.outcome, o.summary?.code]).sort(), [
      [20, 'jsonrpc_error', -31001],
      [21, 'jsonrpc_error', -31001],
    ]);
    const sessions = auditRecords(audited.db, "kind = 'session'").map((s) => s.detail);
    assert.match(sessions.at(-1), /^closed: upstream was killed by signal 9/);
  });
});

describe('when the client closes its input', () => {
  it('Sluice closes the upstream stdin, the upstream exits, and so does Sluice', async () => {
    const peer = await startSession(throughSluice(everythingServer));
    const pid = await upstreamPid(peer);
    peer.child.stdin.end();
    const [code] = await peer.exited;
    assert.equal(code, 0);
    await gone(pid);
  });

  it('an upstream that ignores EOF and SIGTERM is killed after the grace periods', async () => {
    const peer = await startSession(throughSluice(fixtureServer('stubborn-server.mjs'), ['--shutdown-grace', '300ms']));
    const pid = await upstreamPid(peer);
    const started = Date.now();
    peer.child.stdin.end();
    const [code] = await peer.exited;
    assert.equal(code, 0);
    assert.ok(!processExists(pid));
    assert.match(peer.stderrText, /sending SIGTERM/);
    assert.match(peer.stderrText, /sending SIGKILL/);
    assert.ok(Date.now() - started >= 600, 'both grace periods were granted');
  });

  it('SIGTERM to Sluice stops the session the same way', async () => {
    const peer = await startSession(throughSluice(everythingServer));
    const pid = await upstreamPid(peer);
    peer.child.kill('SIGTERM');
    const [code] = await peer.exited;
    assert.equal(code, 0);
    await gone(pid);
  });
});
