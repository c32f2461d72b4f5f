// Faults, with a real SDK client in front and a real SDK server behind that misbehaves
// on request: garbage and a line of 100 MB on its stdout, an answer of 100 MB, a flood
// of notifications, a call it never answers; SIGTERM to Sluice while calls are held for
// approval, on stdio and over HTTP (a 2025 session and 2026-07-28 requests); a client
// that goes away with calls held and in flight; the audit log's disk full
// (RLIMIT_FSIZE) or its file removed mid-run. The session survives what it
// can, answers what can be answered, holds no more memory than its limits allow,
// recovers when the fault ends, and the audit log verifies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

import {
  assertAuditVerifies,
  auditRecords,
  connectClient,
  fixtureServer,
  sanitized,
  sluiceBin,
  startSluiceHttp,
  throughSluice,
} from '../support/harness.mjs';

const sluice = (...args) => spawnSync(sluiceBin, args, { encoding: 'utf8' });
const text = (result) => result.content.map((c) => c.text).join('');
const sql = (db, statement) => spawnSync('sqlite3', [db, statement], { encoding: 'utf8' });

// `echo` with text "hold me" is held for approval (the calls wait); everything else is
// allowed. `upstream` is more of the configuration's upstream section.
function auditedSetup({ upstream = '' } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-faults-'));
  const db = path.join(dir, 'audit.db');
  const config = path.join(dir, 'sluice.yaml');
  writeFileSync(
    config,
    (upstream ? `upstream:\n${upstream}` : '') +
      `audit:\n  path: ${db}\napproval:\n  hold: wait\npolicy:\n  default: allow\n  rules:\n` +
      '    - { name: held, match: { tool: echo, args: { text: "hold me" } }, action: require_approval }\n',
  );
  return { dir, db, config };
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

// Resolves once the stderr of a Sluice from startSluiceHttp (which carries the
// upstream's) shows `pattern`.
function httpLogged(proxy, pattern) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${pattern} not logged within 15 s`)), 15000);
    const check = () => {
      if (!pattern.test(proxy.stderr())) return;
      clearTimeout(timer);
      proxy.child.stderr.off('data', check);
      resolve();
    };
    proxy.child.stderr.on('data', check);
    check();
  });
}

// The most memory the process has held (VmHWM), in MiB; not bounded under ASan.
function peakMiB(pid) {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match[1]) / 1024;
}

async function hostileSession(env = {}, sluiceArgs = [], setup = auditedSetup()) {
  const args = ['--config', setup.config, ...sluiceArgs];
  const peer = await connectClient(throughSluice(fixtureServer('hostile-server.mjs'), args), { env });
  await peer.connect();
  return { ...peer, setup };
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
    assertAuditVerifies(peer.setup.db);
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
    assertAuditVerifies(peer.setup.db);
  });
});

describe('an upstream that never answers a call', () => {
  it('has the call answered with a timeout error, cancelled upstream, and its outcome recorded', async () => {
    // Long enough for a loaded machine to start the upstream: initialize is timed too.
    const setup = auditedSetup({ upstream: '  request_timeout: 5s\n' });
    const peer = await hostileSession({}, [], setup);
    const { client } = peer;
    try {
      const started = Date.now();
      // The client's own timeout is far beyond Sluice's.
      const hung = await outcome(client.callTool({ name: 'hang', arguments: {} }, undefined, { timeout: 60000 }));
      const waited = Date.now() - started;
      assert.equal(hung.error?.code, -31003, JSON.stringify(hung));
      assert.match(
        hung.error.message,
        /Upstream MCP server did not answer in time: no answer within 5s \(upstream\.request_timeout\); Sluice sent notifications\/cancelled upstream/,
      );
      assert.ok(waited >= 5000 && waited < 20000, `answered after ${waited} ms`);
      await logged(peer, /hostile-server: hang cancelled: Sluice: no answer within 5s \(upstream\.request_timeout\)/);
      // The session goes on.
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'after' } })), 'echo after');
    } finally {
      await client.close();
    }
    const outcomes = auditRecords(setup.db, "kind = 'outcome'").map((o) => [o.tool, o.outcome, o.summary?.code]);
    assert.deepEqual(outcomes, [['hang', 'timeout', -31003], ['echo', 'ok', undefined]]);
    assertAuditVerifies(setup.db);
  });
});

describe('an upstream that answers with 100 MB', () => {
  it('has that call answered with an error at once, in bounded memory, and the session goes on', async () => {
    const peer = await hostileSession({ SPEW_MB: '100' }, ['--max-message-bytes', '4MiB']);
    const { client, transport } = peer;
    try {
      const started = Date.now();
      const bloated = await outcome(client.callTool({ name: 'bloat', arguments: {} }, undefined, { timeout: 60000 }));
      assert.equal(bloated.error?.code, -31004, JSON.stringify(bloated));
      assert.match(
        bloated.error.message,
        /Upstream MCP server's answer was too large: 104857\d+ bytes, over the 4194304 byte limit \(--max-message-bytes\); it was dropped/,
      );
      // Not the request timeout (5 minutes by default): as soon as the line ended.
      assert.ok(Date.now() - started < 30000);
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'after' } })), 'echo after');
      const peak = peakMiB(transport.pid);
      assert.ok(peak < 64, `Sluice peaked at ${peak.toFixed(0)} MiB`);
    } finally {
      await client.close();
    }
    const bloat = auditRecords(peer.setup.db, "kind = 'outcome' AND tool = 'bloat'");
    assert.deepEqual(bloat.map((o) => [o.outcome, o.summary.code]), [['jsonrpc_error', -31004]]);
    assertAuditVerifies(peer.setup.db);
  });
});

describe('SIGTERM to Sluice while calls are held for approval and one is in flight', () => {
  it('cancels the requests, answers every call saying Sluice is shutting down, and leaves a log that verifies', async () => {
    const peer = await hostileSession();
    const { client, transport } = peer;
    const inFlight = outcome(client.callTool({ name: 'hang', arguments: {} }));
    await logged(peer, /hostile-server: call hang/);
    const held = [1, 2].map(() => outcome(client.callTool({ name: 'echo', arguments: { text: 'hold me' } })));
    await pending(peer.setup, 2);
    const exited = new Promise((resolve) => transport.onclose = resolve);
    process.kill(transport.pid, 'SIGTERM');
    const outcomes = await Promise.all(held);
    const hung = await inFlight;
    await exited;
    for (const o of outcomes) {
      assert.equal(o.result?.isError, true, JSON.stringify(o));
      assert.match(text(o.result), /^Approval request [0-9a-f-]+ was cancelled \(Sluice is shutting down\)\. The call was not run\.$/);
    }
    assert.equal(hung.error?.code, -31005, JSON.stringify(hung));
    assert.match(hung.error.message, /^MCP error -31005: Sluice is shutting down: the upstream was stopped before it answered$/);
    const requests = approvals(peer.setup);
    assert.deepEqual(requests.map((r) => [r.state, r.comment]), [
      ['cancelled', 'Sluice is shutting down'],
      ['cancelled', 'Sluice is shutting down'],
    ]);
    assert.doesNotMatch(peer.stderr.join(''), /hostile-server: call echo/);
    assertAuditVerifies(peer.setup.db);
  });
});

// A 2026-07-28 tools/call POSTed as is (no session); resolves with its JSON-RPC answer,
// from a JSON body or the request's event stream.
async function modernCall(url, name, args) {
  const meta = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': {},
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  };
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': '2026-07-28',
      'Mcp-Method': 'tools/call',
      'Mcp-Name': name,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args, _meta: meta } }),
  });
  const body = await response.text();
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) return JSON.parse(body);
  const messages = [...body.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]));
  return messages.find((m) => m.id === 1);
}

describe('SIGTERM to Sluice over HTTP while a 2025 session and 2026-07-28 requests hold calls', () => {
  it('answers each held call "cancelled" and each call in flight "shutting down", then exits 0 with a log that verifies', async () => {
    const setup = auditedSetup();
    writeFileSync(
      setup.config,
      `audit:\n  path: ${setup.db}\napproval:\n  hold: wait\npolicy:\n  default: allow\n  rules:\n` +
        '    - { name: held, match: { tool: pods_delete }, action: require_approval }\n',
    );
    const proxy = await startSluiceHttp(fixtureServer('dual-era-server.mjs'), ['--config', setup.config]);
    const legacy = new Client({ name: 'legacy', version: '1.0.0' });
    await legacy.connect(new StreamableHTTPClientTransport(proxy.url));
    const legacyHeld = outcome(legacy.callTool({ name: 'pods_delete', arguments: { name: 'legacy' } }));
    const legacyInFlight = outcome(legacy.callTool({ name: 'wait_for_cancel', arguments: { tag: 'legacy' } }));
    const modernHeld = modernCall(proxy.url, 'pods_delete', { name: 'modern' });
    const modernInFlight = modernCall(proxy.url, 'wait_for_cancel', { tag: 'modern' });
    await pending(setup, 2);
    await httpLogged(proxy, /call wait_for_cancel \{"tag":"legacy"\}/);
    await httpLogged(proxy, /call wait_for_cancel \{"tag":"modern"\}/);
    const started = Date.now();
    const code = await proxy.stop();
    const stopped = Date.now() - started;
    await legacy.close();
    const cancelled = /^Approval request [0-9a-f-]+ was cancelled \(Sluice is shutting down\)\. The call was not run\.$/;
    const held = await legacyHeld;
    assert.equal(held.result?.isError, true, JSON.stringify(held));
    assert.match(text(held.result), cancelled);
    const modern = await modernHeld;
    assert.equal(modern.result?.isError, true, JSON.stringify(modern));
    assert.match(text(modern.result), cancelled);
    const inFlight = await legacyInFlight;
    assert.equal(inFlight.error?.code, -31005, JSON.stringify(inFlight));
    assert.match(inFlight.error.message, /Sluice is shutting down/);
    const modernFlight = await modernInFlight;
    assert.equal(modernFlight.error?.code, -31005, JSON.stringify(modernFlight));
    assert.match(modernFlight.error.message, /^Sluice is shutting down/);
    assert.equal(code, 0, proxy.stderr());
    // Well inside --shutdown-grace (5 s): nothing waited for a deadline.
    assert.ok(stopped < 4000, `Sluice took ${stopped} ms to exit`);
    assert.doesNotMatch(proxy.stderr(), /answers not written|dual-era-server: call pods_delete/);
    assert.deepEqual(approvals(setup).map((r) => [r.state, r.comment]), [
      ['cancelled', 'Sluice is shutting down'],
      ['cancelled', 'Sluice is shutting down'],
    ]);
    assertAuditVerifies(setup.db);
  });
});

describe('a new session asked for while Sluice over HTTP stops', () => {
  it('is refused 503 (shutting down), not started, and Sluice still exits 0', async () => {
    // stubborn-server ignores the end of its stdin and SIGTERM, so after the signal Sluice
    // waits --shutdown-grace (2 s) at each step before SIGKILL: the first session, and
    // Sluice, stay up that long, the window in which the late request arrives.
    const proxy = await startSluiceHttp(fixtureServer('stubborn-server.mjs'), ['--shutdown-grace', '2s']);
    const first = new Client({ name: 'first', version: '1.0.0' });
    await first.connect(new StreamableHTTPClientTransport(proxy.url));
    // A connection that has begun its request before the signal...
    const socket = net.connect(Number(proxy.url.port), proxy.url.hostname);
    await once(socket, 'connect');
    socket.write(`POST ${proxy.url.pathname} HTTP/1.1\r\nHost: ${proxy.url.host}\r\n`);
    const exited = once(proxy.child, 'exit');
    proxy.child.kill('SIGTERM');
    await httpLogged(proxy, /received Terminated; ending/);
    // ...and finishes it, an initialize, once Sluice is stopping.
    const body = JSON.stringify({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'late', version: '1' } },
    });
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.end('Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await once(socket, 'close');
    assert.match(answer, /^HTTP\/1\.1 503 /, answer);
    assert.match(answer, /"message":"Service Unavailable: the server is shutting down"/, answer);
    const [code] = await exited;
    assert.equal(code, 0, proxy.stderr());
    assert.equal(proxy.stderr().match(/relayed to upstream/g)?.length, 1, 'only the first session started');
    await first.close();
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
    assertAuditVerifies(peer.setup.db);
  });
});

// Each call was refused closed, with an error that says why.
function assertCallsRefused(outcomes, pattern) {
  for (const refused of outcomes) {
    assert.equal(refused.error?.code, -31002, JSON.stringify(refused));
    assert.match(refused.error.message, pattern);
  }
}

const decided = (setup) => auditRecords(setup.db, "kind = 'decision'").map((d) => d.arguments.text);
const upstreamSaw = (peer) => [...peer.stderr.join('').matchAll(/hostile-server: call echo/g)].length;

describe('the audit disk full (RLIMIT_FSIZE on the running Sluice)', () => {
  it('fails calls closed while it lasts, and records and forwards calls again once there is room', async () => {
    const peer = await hostileSession();
    const { client, transport } = peer;
    // The soft limit only: raising it again up to the hard limit needs no privilege.
    const prlimit = (...args) => {
      const run = spawnSync('prlimit', ['--pid', String(transport.pid), ...args], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      return run.stdout.trim();
    };
    const hard = prlimit('--fsize', '--output', 'HARD', '--noheadings');
    const limit = (size) => prlimit(`--fsize=${size}:`);
    try {
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'before' } })), 'echo before');
      // Every write past the first byte of any file now fails with EFBIG, as on a full disk.
      limit('1');
      const refused = [];
      for (const i of [1, 2, 3]) refused.push(await outcome(client.callTool({ name: 'echo', arguments: { text: `full ${i}` } })));
      assertCallsRefused(refused, /Sluice could not write its audit log, so the call was not forwarded: .*cannot append to the audit log: .*(disk I\/O error|full)/);
      await logged(peer, /AUDIT LOG UNAVAILABLE/);
      limit(hard);
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'after' } })), 'echo after');
      await logged(peer, /audit log: writing again to /);
    } finally {
      await client.close();
    }
    assert.equal(upstreamSaw(peer), 2, 'only the calls before and after the fault ran');
    assert.deepEqual(decided(peer.setup), ['before', 'after']);
    assert.equal(sql(peer.setup.db, 'PRAGMA integrity_check').stdout.trim(), 'ok');
    assertAuditVerifies(peer.setup.db);
  });
});

describe('the audit log file removed while Sluice runs', () => {
  it('is restored from the file Sluice still has open, with every row, and the next call is recorded in it', async () => {
    const peer = await hostileSession();
    const { client } = peer;
    try {
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'before' } })), 'echo before');
      for (const suffix of ['', '-wal', '-shm']) rmSync(peer.setup.db + suffix, { force: true });
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'after' } })), 'echo after');
    } finally {
      await client.close();
    }
    assert.match(peer.stderr.join(''), /AUDIT LOG FILE REMOVED: .*audit\.db was removed while Sluice had it open; restored it/);
    assert.deepEqual(decided(peer.setup), ['before', 'after']);
    assertAuditVerifies(peer.setup.db);
  });

  it('with its directory moved away, fails calls closed until the directory is back, then restores it', async () => {
    const peer = await hostileSession();
    const { client } = peer;
    try {
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'before' } })), 'echo before');
      // In one step, so that nothing Sluice appends meanwhile can restore the file first.
      renameSync(peer.setup.dir, `${peer.setup.dir}-moved`);
      const refused = [await outcome(client.callTool({ name: 'echo', arguments: { text: 'gone' } }))];
      assertCallsRefused(refused, /the audit log file was removed while Sluice had it open, and it cannot be restored there \(.*\); calls are refused until it can/);
      mkdirSync(peer.setup.dir);
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'after' } })), 'echo after');
    } finally {
      await client.close();
    }
    const log = peer.stderr.join('');
    assert.match(log, /AUDIT LOG UNAVAILABLE/);
    assert.match(log, /AUDIT LOG FILE REMOVED/);
    assert.equal(upstreamSaw(peer), 2, 'the call refused while the log was gone never ran');
    assert.deepEqual(decided(peer.setup), ['before', 'after']);
    assertAuditVerifies(peer.setup.db);
  });

  it('replaced by another file, fails calls closed until that file is moved away', async () => {
    const peer = await hostileSession();
    const { client } = peer;
    const stranger = auditedSetup();
    try {
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'before' } })), 'echo before');
      // Another log (a Sluice of its own made it) where this one was.
      const other = await hostileSession({}, [], stranger);
      await other.client.callTool({ name: 'echo', arguments: { text: 'elsewhere' } });
      await other.client.close();
      for (const suffix of ['-wal', '-shm']) rmSync(peer.setup.db + suffix, { force: true });
      rmSync(peer.setup.db);
      spawnSync('cp', [stranger.db, peer.setup.db]);
      const refused = [await outcome(client.callTool({ name: 'echo', arguments: { text: 'replaced' } }))];
      assertCallsRefused(refused, /the audit log file was replaced while Sluice had it open: it is another log \(id [0-9a-f]+, not [0-9a-f]+\); calls are refused until that file is moved away/);
      rmSync(peer.setup.db);
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'after' } })), 'echo after');
    } finally {
      await client.close();
    }
    assert.equal(upstreamSaw(peer), 2);
    assert.deepEqual(decided(peer.setup), ['before', 'after']);
    assertAuditVerifies(peer.setup.db);
  });
});
