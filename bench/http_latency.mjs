// sluice-bench-http: what a Streamable HTTP front costs in front of a stdio MCP server.
// One driver sends the same tools/call (sluice-bench-server's `lookup`) to the server
// directly, over stdio and over its own minimal HTTP mode (the baselines: the second is
// what the driver's HTTP costs with nothing in between), and over Streamable HTTP
// through `sluice run --listen`, supergateway (stdio→streamableHttp, stateful) and
// mcp-proxy (stream), all to the stdio server, in one run: one session's sequential round trips in interleaved rounds (p50/p99), then
// many sessions calling at once, then RSS with many sessions open. Every response is
// checked; a wrong or missing one fails the run. Usage: bench/run-http (see README.md).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: options } = parseArgs({
  options: {
    sluice: { type: 'string' },
    server: { type: 'string' },
    calls: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '10' },
    sessions: { type: 'string', default: '50' },
    'session-calls': { type: 'string', default: '20' },
    'rss-sessions': { type: 'string', default: '1000' },
  },
});
if (!options.sluice || !options.server) {
  console.error('Usage: node bench/http_latency.mjs --sluice PATH --server PATH [--calls N] [--warmup K] [--rounds R]\n' +
    '                                [--sessions C] [--session-calls K] [--rss-sessions S]');
  process.exit(2);
}
const count = (name) => Number.parseInt(options[name], 10);
const deadlineMs = 10_000;
const protocolVersion = '2025-11-25';

const call = (id) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'lookup', arguments: { key: `k${id}` } } });
const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize',
  params: { protocolVersion, capabilities: {}, clientInfo: { name: 'sluice-bench-http', version: '1' } } };
const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };

// The server's own answer to lookup, not a denial or a simulation by whatever sits between.
function checkAnswer(message, id) {
  if (message?.id !== id || message.result?.content?.[0]?.text !== `value of k${id}: 42` || message.result.isError) {
    throw new Error(`unexpected answer to call ${id}: ${JSON.stringify(message).slice(0, 300)}`);
  }
}

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

// Every process below `pid` (its children, their children…), from /proc.
function descendants(pid) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found = [];
  const walk = (parent) => {
    for (const [child, of] of parents) if (of === parent) found.push(child), walk(child);
  };
  walk(pid);
  return found;
}

// The direct baseline: the server on stdio, newline-delimited JSON-RPC.
class StdioSession {
  constructor(child) {
    this.child = child;
    this.waiting = new Map();
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line);
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
  }
  request(body) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${body.id} within ${deadlineMs} ms`)), deadlineMs);
      this.waiting.set(body.id, (message) => (clearTimeout(timer), resolve(message)));
      this.child.stdin.write(`${JSON.stringify(body)}\n`);
    });
  }
  notify(body) {
    this.child.stdin.write(`${JSON.stringify(body)}\n`);
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

// One POST; the answer as a JSON body or an SSE stream, read to its end.
function post(url, sessionId, body) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const request = http.request(url, {
      method: 'POST',
      agent,
      timeout: deadlineMs,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'content-length': Buffer.byteLength(payload),
        ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': protocolVersion } : {}),
      },
    }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, text }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url} within ${deadlineMs} ms`)));
    request.on('error', reject);
    request.end(payload);
  });
}

function answerOf(response, id) {
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.text.slice(0, 300)}`);
  if (!String(response.headers['content-type']).startsWith('text/event-stream')) return JSON.parse(response.text);
  for (const line of response.text.split('\n')) {
    if (!line.startsWith('data:') || line.slice(5).trim() === '') continue; // a priming event has no data
    const message = JSON.parse(line.slice(5));
    if (message.id === id) return message;
  }
  throw new Error(`no answer to ${id} in the SSE stream: ${response.text.slice(0, 300)}`);
}

class HttpSession {
  constructor(url) {
    this.url = url;
  }
  async open() {
    const response = await post(this.url, undefined, initialize);
    answerOf(response, 0);
    this.sessionId = response.headers['mcp-session-id'];
    const accepted = await post(this.url, this.sessionId, initialized);
    if (accepted.status !== 202) throw new Error(`notifications/initialized: HTTP ${accepted.status}`);
  }
  async request(body) {
    return answerOf(await post(this.url, this.sessionId, body), body.id);
  }
}

// A target: how to start it, and how to open one session on it.
function httpTarget(name, start) {
  return {
    name,
    async start() {
      const { child, url } = await start();
      this.child = child;
      this.url = url;
    },
    async session() {
      const session = new HttpSession(this.url);
      await session.open();
      return session;
    },
    async stop() {
      this.child.kill('SIGTERM');
      await once(this.child, 'exit');
    },
  };
}

// Starts `command` and waits until an initialize at `url` is answered.
async function startListening(command, args, url) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command} exited: ${stderr}`);
    try {
      await new HttpSession(url).open();
      return { child, url };
    } catch (error) {
      // Only "not listening yet" is worth waiting out; an answer that is an error is final.
      if (error.code !== 'ECONNREFUSED' || Date.now() - started > 30_000) {
        throw new Error(`${command} did not answer at ${url}: ${error}\n${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50)); // start-up poll, not synchronisation
    }
  }
}

const bin = (name) => path.join(root, 'node_modules', name);
const sessionsCap = Math.max(count('rss-sessions'), count('sessions')) + 10;
const configDir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-http-'));
const sluiceConfig = path.join(configDir, 'sluice.yaml');
// The built-in policy's one rule (reads are allowed), and room for every session.
writeFileSync(sluiceConfig, `listen:\n  limits: { max_sessions: ${sessionsCap} }\n` +
  'policy:\n  rules:\n    - { name: reads, match: { class: read }, action: allow }\n');

const targets = [
  {
    name: 'direct (stdio)',
    async start() {},
    async session() {
      const child = spawn(options.server, [], { stdio: ['pipe', 'pipe', 'inherit'] });
      (this.children ??= []).push(child);
      const session = new StdioSession(child);
      await session.request(initialize);
      session.notify(initialized);
      return session;
    },
    async stop() {
      for (const child of this.children ?? []) child.stdin.end();
    },
  },
  httpTarget('direct (HTTP)', async () => {
    const port = await freePort();
    return startListening(options.server, ['--listen', String(port)], `http://127.0.0.1:${port}/mcp`);
  }),
  httpTarget('sluice --listen', async () => {
    const port = await freePort();
    return startListening(options.sluice, ['--log-level', 'warn', 'run', '--config', sluiceConfig,
      '--listen', `127.0.0.1:${port}`, '--', options.server], `http://127.0.0.1:${port}/mcp`);
  }),
  httpTarget('supergateway 4.0.0', async () => {
    const port = await freePort();
    return startListening(process.execPath, [bin('supergateway/dist/index.js'), '--stdio', options.server,
      '--outputTransport', 'streamableHttp', '--stateful', '--port', String(port), '--logLevel', 'none'],
    `http://127.0.0.1:${port}/mcp`);
  }),
  httpTarget('mcp-proxy 6.7.19', async () => {
    const port = await freePort();
    return startListening(process.execPath, [bin('mcp-proxy/dist/bin/mcp-proxy.mjs'), '--server', 'stream',
      '--host', '127.0.0.1', '--port', String(port), '--', options.server], `http://127.0.0.1:${port}/mcp`);
  }),
];

const [, directHttp, ...fronts] = targets;

let nextId = 1;
async function timedCalls(session, calls, latencies) {
  for (let i = 0; i < calls; ++i) {
    const id = nextId++;
    const started = process.hrtime.bigint();
    checkAnswer(await session.request(call(id)), id);
    latencies?.push(Number(process.hrtime.bigint() - started) / 1000);
  }
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const fmt = (us) => (us >= 10_000 ? `${(us / 1000).toFixed(1)} ms` : `${us.toFixed(0)} µs`);

async function main() {
  console.log(`load average before the run: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  for (const target of targets) await target.start();

  // One session per target, sequential round trips, the targets taking turns per round.
  const sequential = new Map(targets.map((t) => [t, { latencies: [], spentUs: 0 }]));
  const sessions = new Map();
  for (const target of targets) {
    const session = await target.session();
    await timedCalls(session, count('warmup'));
    sessions.set(target, session);
  }
  const perRound = Math.ceil(count('calls') / count('rounds'));
  for (let round = 0; round < count('rounds'); ++round) {
    for (let k = 0; k < targets.length; ++k) {
      const target = targets[(round + k) % targets.length];
      const figures = sequential.get(target);
      const started = process.hrtime.bigint();
      await timedCalls(sessions.get(target), perRound, figures.latencies);
      figures.spentUs += Number(process.hrtime.bigint() - started) / 1000;
    }
  }

  // Many sessions at once, each calling in turn; two passes, the order reversed.
  const concurrent = new Map(targets.map((t) => [t, { latencies: [], spentUs: 0, calls: 0 }]));
  for (const order of [targets, [...targets].reverse()]) {
    for (const target of order) {
      const opened = await Promise.all(Array.from({ length: count('sessions') }, () => target.session()));
      const figures = concurrent.get(target);
      const started = process.hrtime.bigint();
      await Promise.all(opened.map((session) => timedCalls(session, count('session-calls'), figures.latencies)));
      figures.spentUs += Number(process.hrtime.bigint() - started) / 1000;
      figures.calls += count('sessions') * count('session-calls');
    }
  }

  // RSS with many sessions open (each has made one call), for the HTTP fronts.
  const memory = new Map();
  for (const target of fronts) {
    await target.stop();
    await target.start();
    const before = rssKiB(target.child.pid);
    const opened = [];
    for (let i = 0; i < count('rss-sessions'); i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, count('rss-sessions') - i) }, () => target.session()));
      await Promise.all(batch.map((session) => timedCalls(session, 1)));
      opened.push(...batch);
    }
    const children = descendants(target.child.pid);
    memory.set(target, { before, after: rssKiB(target.child.pid), children: children.length });
  }

  const stats = (latencies) => {
    const sorted = [...latencies].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  };
  const base = stats(sequential.get(directHttp).latencies);
  console.log(`\n${count('calls')} sequential tools/call per target (${count('warmup')} warm-up) in ${count('rounds')} interleaved rounds; ` +
    `${count('sessions')} sessions × ${count('session-calls')} calls at once, twice; RSS with ${count('rss-sessions')} sessions open\n`);
  console.log('| target | p50 | p99 | added p50 (vs direct HTTP) | calls/s, 1 session | concurrent p50 | concurrent p99 | concurrent calls/s | RSS idle → with sessions open | processes under it |');
  console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  const added = new Map();
  for (const target of targets) {
    const s = stats(sequential.get(target).latencies);
    const c = stats(concurrent.get(target).latencies);
    const seq = sequential.get(target);
    const con = concurrent.get(target);
    const mem = memory.get(target);
    added.set(target, s.p50 - base.p50);
    const delta = s.p50 - base.p50;
    console.log(`| ${target.name} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fronts.includes(target) ? `${delta < 0 ? '−' : '+'}${fmt(Math.abs(delta))}` : '—'} | ` +
      `${Math.round((seq.latencies.length / seq.spentUs) * 1e6)} | ${fmt(c.p50)} | ${fmt(c.p99)} | ` +
      `${Math.round((con.calls / con.spentUs) * 1e6)} | ` +
      `${mem ? `${(mem.before / 1024).toFixed(1)} → ${(mem.after / 1024).toFixed(1)} MiB` : '—'} | ${mem ? mem.children : '—'} |`);
  }
  const [sluiceFront, ...bridges] = fronts;
  const sluice = added.get(sluiceFront);
  for (const bridge of bridges) {
    const ratio = sluice / added.get(bridge);
    console.log(`\nSluice adds ${fmt(sluice)} at p50, ${bridge.name} ${fmt(added.get(bridge))}: ${(ratio * 100).toFixed(1)}% ` +
      `(goal: under 10%): ${ratio < 0.1 ? 'met' : 'NOT met'}`);
  }
  const sluiceMemory = memory.get(sluiceFront);
  console.log(`Sluice's RSS with ${count('rss-sessions')} sessions open: ${(sluiceMemory.after / 1024).toFixed(1)} MiB ` +
    `(goal: under 500 MB): ${sluiceMemory.after * 1024 < 500e6 ? 'met' : 'NOT met'}`);
  console.log(`load average after the run: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  for (const target of targets) await target.stop();
  process.exit(0);
}

// Whatever way the run ends, nothing it started outlives it.
process.on('exit', () => {
  for (const target of targets) {
    target.child?.kill('SIGTERM');
    for (const child of target.children ?? []) child.kill('SIGTERM');
  }
});

main().catch((error) => {
  console.error(`sluice-bench-http: ${error.stack ?? error}`);
  process.exit(1);
});
