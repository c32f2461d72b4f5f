// Hostile HTTP clients against `sluice run --listen` in front of server-everything:
// slow heads and bodies (slowloris), oversized heads, bad chunked encoding, invalid
// session ids at a high rate, thousands of idle connections, more connections than
// the limit. Raw sockets speak for the attacker; throughout each attack a real SDK
// client calls a tool again and again, and the latency of its calls must stay bounded
// (a responsiveness check, not a benchmark: the figures go to the test's diagnostics).
// Sluice audits to a log throughout: after each attack the log verifies and holds a
// decision for every legitimate call made during it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  assertAuditVerifies,
  auditRecords,
  auditedConfig,
  everythingServer,
  sanitized,
  startSluiceHttp,
} from '../support/harness.mjs';

// Legitimate calls must stay under this at the 99th percentile during every attack.
const latencyBoundMs = 1000;
const headerTimeoutMs = 1000;
const bodyTimeoutMs = 1000;

const limitsConfig = `
policy:
  default: allow
listen:
  limits: { header_timeout: 1s, body_timeout: 1s, max_header_bytes: 16384 }
`;

function configFile(yaml) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'sluice-hostile-')), 'sluice.yaml');
  writeFileSync(file, yaml);
  return file;
}

// Resolves with `promise`, or rejects once `ms` have passed.
function within(ms, promise, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// Resolves once `probe()` is truthy (checked every `everyMs`), or rejects at the deadline.
async function until(probe, ms, what, everyMs = 20) {
  const end = performance.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (performance.now() > end) throw new Error(`${what}: not within ${ms} ms (last: ${value})`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

const openDescriptors = (pid) => readdirSync(`/proc/${pid}/fd`).length;
const residentMiB = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// Calls echo one call after another, each with a message of its own, until `attack`
// has settled and at least `minCalls` were made; resolves with what the attack resolved
// with, the calls' latencies and their messages.
let legitimateCalls = 0;
async function legitimateCallsDuring(client, attack, minCalls = 20) {
  let settled = false;
  const outcome = attack.finally(() => {
    settled = true;
  });
  const latencies = [];
  const messages = [];
  while (!settled || latencies.length < minCalls) {
    const message = `legitimate ${++legitimateCalls}`;
    const start = performance.now();
    const result = await client.callTool({ name: 'echo', arguments: { message } });
    latencies.push(performance.now() - start);
    assert.equal(result.content[0].text, `Echo: ${message}`);
    messages.push(message);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const stats = {
    messages,
    calls: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
  };
  return { result: await outcome, stats };
}

function assertResponsive(t, stats) {
  t.diagnostic(
    `legitimate tools/call during the attack: ${stats.calls} calls, p50 ${stats.p50.toFixed(1)} ms, ` +
      `p99 ${stats.p99.toFixed(1)} ms, max ${stats.max.toFixed(1)} ms`,
  );
  assert.ok(stats.p99 < latencyBoundMs, `p99 ${stats.p99.toFixed(0)} ms is over ${latencyBoundMs} ms`);
}

// The audit log verifies, and every legitimate call made during the attack was decided
// in it (a decision row is written before the call goes upstream).
function assertAudited(db, stats) {
  assertAuditVerifies(db);
  const decided = new Set(auditRecords(db, "kind = 'decision' AND tool = 'echo'").map((d) => d.arguments?.message));
  const missing = stats.messages.filter((message) => !decided.has(message));
  assert.deepEqual(missing, [], `${missing.length} of ${stats.calls} legitimate calls are not in the audit log`);
}

// A raw connection that records what it receives and when the server ends it.
function rawConnection(url) {
  const socket = connect(Number(url.port), url.hostname);
  const state = { socket, received: '', ended: false, closed: false, error: undefined };
  socket.setEncoding('latin1');
  socket.on('data', (chunk) => {
    state.received += chunk;
  });
  socket.on('error', (error) => {
    state.error = error;
  });
  state.connected = new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  state.ended = new Promise((resolve) => socket.once('end', resolve));
  state.closedAt = new Promise((resolve) => socket.once('close', () => resolve(performance.now())));
  return state;
}

// Writes `head`, then one byte of `drip` every `gapMs` until the server closes the
// connection; resolves with how long after the first byte that was, and what came back.
async function dripUntilCut(url, head, drip, gapMs) {
  const connection = rawConnection(url);
  await connection.connected;
  const start = performance.now();
  connection.socket.write(head);
  let i = 0;
  const dripper = setInterval(() => {
    if (!connection.socket.destroyed) connection.socket.write(drip[i++ % drip.length]);
  }, gapMs);
  try {
    const closedAt = await connection.closedAt;
    return { afterMs: closedAt - start, received: connection.received };
  } finally {
    clearInterval(dripper);
  }
}

// Writes `bytes` on a fresh connection and resolves with what came back once the
// server has closed its side.
async function exchange(url, bytes) {
  const connection = rawConnection(url);
  await connection.connected;
  connection.socket.write(bytes);
  await connection.ended;
  connection.socket.end();
  await connection.closedAt;
  return connection.received;
}

const statusOf = (response) => Number(/^HTTP\/1\.1 (\d{3}) /.exec(response)?.[1]);

function requestHead(url, extra = '') {
  return (
    `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
    `Accept: application/json, text/event-stream\r\n${extra}`
  );
}

describe('hostile HTTP clients: the listener stays responsive for a legitimate one', () => {
  let sluice;
  let client;
  const audited = auditedConfig(limitsConfig);

  before(async () => {
    sluice = await startSluiceHttp(everythingServer, ['--config', audited.config]);
    client = new Client({ name: 'legitimate', version: '1.0.0' }, { capabilities: {} });
    await client.connect(new StreamableHTTPClientTransport(sluice.url));
  });
  after(async () => {
    await client?.close();
    assert.equal(await sluice?.stop(), 0);
    assertAuditVerifies(audited.db);
  });

  it('slow heads are cut header_timeout after their first byte, without an answer', async (t) => {
    const attack = Promise.all(
      Array.from({ length: 50 }, () => dripUntilCut(sluice.url, requestHead(sluice.url), 'X-Slow: aaaa\r\n', 100)),
    );
    const { result, stats } = await legitimateCallsDuring(client, within(10_000, attack, 'slow heads cut'));
    for (const { afterMs, received } of result) {
      assert.ok(afterMs >= headerTimeoutMs * 0.9 && afterMs < headerTimeoutMs + 4000, `cut after ${afterMs} ms`);
      assert.equal(received, '');
    }
    assertResponsive(t, stats);
    assertAudited(audited.db, stats);
  });

  it('slow bodies are cut body_timeout after their head', async (t) => {
    const head = requestHead(sluice.url, 'Content-Length: 100000\r\n\r\n');
    const attack = Promise.all(Array.from({ length: 50 }, () => dripUntilCut(sluice.url, head, '{"a":1}', 100)));
    const { result, stats } = await legitimateCallsDuring(client, within(10_000, attack, 'slow bodies cut'));
    for (const { afterMs, received } of result) {
      assert.ok(afterMs >= bodyTimeoutMs * 0.9 && afterMs < bodyTimeoutMs + 4000, `cut after ${afterMs} ms`);
      assert.equal(received, '');
    }
    assertResponsive(t, stats);
    assertAudited(audited.db, stats);
  });

  it('a head over max_header_bytes gets 431 and the connection is closed', async (t) => {
    const oversized = requestHead(sluice.url, `X-Big: ${'a'.repeat(64 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`);
    const attack = Promise.all(Array.from({ length: 100 }, () => exchange(sluice.url, oversized)));
    const { result, stats } = await legitimateCallsDuring(client, within(20_000, attack, 'oversized heads answered'));
    for (const response of result) {
      assert.equal(statusOf(response), 431, response.slice(0, 200));
      assert.match(response, /\r\nConnection: close\r\n/i);
    }
    assertResponsive(t, stats);
    assertAudited(audited.db, stats);
  });

  it('bad chunked encoding gets 400 and the connection is closed', async (t) => {
    const chunked = requestHead(sluice.url, 'Transfer-Encoding: chunked\r\n\r\n');
    const bodies = [
      'zz\r\n{}\r\n0\r\n\r\n', // a size that is not hex
      '2\r\n{}}}\r\n0\r\n\r\n', // more data than the size said
      'fffffffffffffffffffff\r\n', // a size that overflows
      '2;\x01\r\n{}\r\n0\r\n\r\n', // a malformed chunk extension
    ];
    const attack = Promise.all(
      Array.from({ length: 100 }, (_, i) => exchange(sluice.url, chunked + bodies[i % bodies.length])),
    );
    const { result, stats } = await legitimateCallsDuring(client, within(20_000, attack, 'bad chunks answered'));
    result.forEach((response, i) => {
      assert.equal(statusOf(response), 400, `${JSON.stringify(bodies[i % bodies.length])}: ${response.slice(0, 200)}`);
      assert.match(response, /\r\nConnection: close\r\n/i);
    });
    // The same connection does not go on: a second request after a bad one is not read.
    const response = await exchange(sluice.url, chunked + bodies[0] + requestHead(sluice.url, 'Content-Length: 2\r\n\r\n{}'));
    assert.equal(response.match(/HTTP\/1\.1 /g).length, 1);
    assertResponsive(t, stats);
    assertAudited(audited.db, stats);
  });

  it('invalid session ids at a high rate get 404 each, and leave nothing behind', async (t) => {
    const pid = sluice.child.pid;
    const descriptorsBefore = openDescriptors(pid);
    const memoryBefore = residentMiB(pid);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const post = () =>
      new Promise((resolve, reject) => {
        const request = httpRequest(
          sluice.url,
          {
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
              'mcp-session-id': randomBytes(16).toString('hex'),
              'mcp-protocol-version': '2025-11-25',
            },
          },
          (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode));
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    const total = 2000;
    const statuses = [];
    const started = performance.now();
    const flood = async () => {
      while (statuses.length < total) statuses.push(await post());
    };
    const attack = Promise.all(Array.from({ length: 16 }, flood));
    const { stats } = await legitimateCallsDuring(client, within(30_000, attack, `${total} requests answered`));
    const seconds = (performance.now() - started) / 1000;
    agent.destroy();
    t.diagnostic(`${statuses.length} invalid session ids in ${seconds.toFixed(1)} s (${(statuses.length / seconds).toFixed(0)}/s)`);
    assert.deepEqual(new Set(statuses), new Set([404]));
    // A few more than before: the legitimate client's own connections may have changed.
    await until(() => openDescriptors(pid) <= descriptorsBefore + 4, 5000, 'Sluice closes the flood connections');
    const growth = residentMiB(pid) - memoryBefore;
    t.diagnostic(`resident memory grew ${growth.toFixed(1)} MiB${sanitized ? ' (under ASan: not bounded)' : ''}`);
    if (!sanitized) assert.ok(growth < 8, `resident memory grew ${growth.toFixed(1)} MiB`);
    assertResponsive(t, stats);
    assertAudited(audited.db, stats);
  });

  it('thousands of idle connections are held while the legitimate client goes on', async (t) => {
    const pid = sluice.child.pid;
    const descriptorsBefore = openDescriptors(pid);
    // Both ends live on this machine: Sluice and this process each hold one descriptor
    // per connection. 10,000 unless the hard open-file limit (which Sluice raises its
    // soft limit to, and node too) is too low for it.
    const hardLimit = Number(spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim());
    const count = Number.isFinite(hardLimit) ? Math.min(10_000, hardLimit - 1024) : 10_000;
    t.diagnostic(`${count} idle connections (hard open-file limit ${hardLimit})`);
    const idle = [];
    const attack = (async () => {
      // In batches, so that the kernel's accept queue never overflows into SYN retries.
      for (let opened = 0; opened < count; opened += 500) {
        const batch = Array.from({ length: Math.min(500, count - opened) }, () => rawConnection(sluice.url));
        idle.push(...batch);
        await Promise.all(batch.map((connection) => connection.connected));
      }
      await until(() => openDescriptors(pid) >= descriptorsBefore + count, 20_000, `Sluice holds ${count} connections`, 100);
    })();
    const memoryBefore = residentMiB(pid);
    const { stats } = await legitimateCallsDuring(client, within(60_000, attack, 'idle connections open'), 100);
    assert.ok(openDescriptors(pid) >= descriptorsBefore + count, 'Sluice still holds every idle connection');
    const perConnection = ((residentMiB(pid) - memoryBefore) * 1024 * 1024) / count;
    t.diagnostic(`resident memory per idle connection: ${perConnection.toFixed(0)} bytes${sanitized ? ' (under ASan)' : ''}`);
    if (!sanitized) assert.ok(perConnection < 16 * 1024, `${perConnection.toFixed(0)} bytes per idle connection`);
    assert.ok(idle.every((connection) => !connection.socket.destroyed && connection.received === ''));
    for (const connection of idle) connection.socket.destroy();
    // A few more than before: the legitimate client's own connections may have changed.
    await until(() => openDescriptors(pid) <= descriptorsBefore + 4, 20_000, 'Sluice closes the idle connections', 100);
    assertResponsive(t, stats);
    assertAudited(audited.db, stats);
  });
});

describe('listen.limits.max_connections', () => {
  let sluice;

  before(async () => {
    sluice = await startSluiceHttp(everythingServer, [
      '--config',
      configFile('policy: { default: allow }\nlisten:\n  limits: { max_connections: 8 }\n'),
    ]);
  });
  after(async () => {
    assert.equal(await sluice?.stop(), 0);
  });

  it('answers the connection over the limit with 503 and closes it; a closed one makes room', async () => {
    // Not a JSON-RPC message: 400, on a kept-alive connection or (last) a closed one.
    const ping = requestHead(sluice.url, 'Content-Length: 2\r\n\r\n{}');
    const lastPing = requestHead(sluice.url, 'Connection: close\r\nContent-Length: 2\r\n\r\n{}');
    const held = Array.from({ length: 8 }, () => rawConnection(sluice.url));
    await Promise.all(held.map((connection) => connection.connected));
    // A connection counts once Sluice has accepted it: one answered request on each.
    for (const connection of held) {
      connection.socket.write(ping);
      await until(() => connection.received.includes('\r\n\r\n'), 5000, 'an answer on a held connection');
      assert.equal(statusOf(connection.received), 400, connection.received);
    }
    const refused = await exchange(sluice.url, lastPing);
    assert.equal(statusOf(refused), 503, refused);
    assert.match(refused, /too many connections/);
    assert.match(sluice.stderr(), /max_connections.*refusing more with 503/);

    held.pop().socket.destroy();
    // Sluice sees the close when it next reads that connection: within a deadline.
    await until(async () => statusOf(await exchange(sluice.url, lastPing)) === 400, 5000, 'a connection served after one closed');
    for (const connection of held) connection.socket.destroy();
  });
});
