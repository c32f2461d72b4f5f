// sluice-bench-http: what a front costs in front of a stdio MCP server, on stdio and on
// Streamable HTTP. One driver sends the same tools/call (sluice-bench-server's `lookup`,
// whose answer echoes the key, so that a payload goes both ways) to the server directly,
// over stdio and over its own minimal HTTP mode (the baselines: the second is what the
// driver's HTTP costs with nothing in between); through `sluice run` on stdio and
// through `sluice run --listen`, each without audit and with an audit log at sync normal
// and full; and through supergateway (stdio→streamableHttp, stateful) and mcp-proxy
// (stream). For each payload and each number of sessions at once it measures every
// target in the same run: p50/p99, calls/s, the front's CPU seconds per 10,000 calls and
// its peak RSS. Then RSS with many sessions open; or, with --soak, a steady load on one
// target with its RSS and open descriptors sampled. Every response is checked; a wrong
// or missing one fails the run. The *-modern targets make the same calls in MCP
// 2026-07-28: no handshake (a server/discover, then every call carries its version and
// capabilities in `_meta`); over HTTP each call is a stateless POST without
// Mcp-Session-Id, with the headers the revision requires (MCP-Protocol-Version,
// Mcp-Method, Mcp-Name). Each is set beside the direct connection of its transport and era. Usage: bench/run-http, bench/run-all, bench/soak (see
// README.md).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const allTargets = ['direct-stdio', 'sluice-stdio', 'sluice-stdio-normal', 'sluice-stdio-full', 'direct-http',
  'sluice-http', 'sluice-http-normal', 'sluice-http-full', 'sluice-http-busy-poll', 'relay-http', 'supergateway', 'mcp-proxy',
  'direct-stdio-modern', 'sluice-stdio-modern', 'direct-http-modern', 'sluice-http-modern'];
const defaultTargets = ['direct-stdio', 'direct-http', 'sluice-http', 'supergateway', 'mcp-proxy'];
const { values: options } = parseArgs({
  options: {
    sluice: { type: 'string' },
    server: { type: 'string' },
    relay: { type: 'string' },
    targets: { type: 'string', default: defaultTargets.join(',') },
    payload: { type: 'string', default: '0' },
    concurrency: { type: 'string', default: '1,50' },
    calls: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '10' },
    'rss-sessions': { type: 'string', default: '1000' },
    soak: { type: 'string', default: '0' },
    'soak-target': { type: 'string', default: 'sluice-http-normal' },
    'soak-sessions': { type: 'string', default: '16' },
    'soak-sample': { type: 'string', default: '10' },
  },
});
const usage = 'Usage: node bench/http_latency.mjs --sluice PATH --server PATH [--relay PATH] [--targets T,…] [--payload BYTES,…]\n' +
  '         [--concurrency C,…] [--calls N] [--warmup K] [--rounds R] [--rss-sessions S]\n' +
  '         [--soak SECONDS [--soak-target T] [--soak-sessions C] [--soak-sample SECONDS]]\n' +
  `  targets: ${allTargets.join(', ')}`;
const list = (name) => options[name].split(',').filter((item) => item !== '').map((item) => item.trim());
const count = (name) => Number.parseInt(options[name], 10);
const chosen = options.soak !== '0' ? [options['soak-target']] : list('targets');
if (!options.sluice || !options.server || chosen.some((name) => !allTargets.includes(name)) ||
    (chosen.includes('relay-http') && !options.relay)) {
  console.error(usage);
  process.exit(2);
}
const deadlineMs = 60_000;
const protocolVersion = '2025-11-25';
const modernVersion = '2026-07-28';
const clockTicks = 100; // USER_HZ: the unit of utime and stime in /proc/<pid>/stat on Linux

// A key of `payload` bytes (at least the id), answered as "value of <key>: 42".
let payloadBytes = 0;
const keyOf = (id) => `k${id}`.padEnd(payloadBytes, 'x');
// What every 2026-07-28 request carries in place of a handshake.
const modernMeta = { 'io.modelcontextprotocol/protocolVersion': modernVersion,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'sluice-bench-http', version: '1' } };
const call = (id, modern) => ({ jsonrpc: '2.0', id, method: 'tools/call',
  params: { name: 'lookup', arguments: { key: keyOf(id) }, ...(modern ? { _meta: modernMeta } : {}) } });
const discover = { jsonrpc: '2.0', id: 0, method: 'server/discover', params: { _meta: modernMeta } };
const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize',
  params: { protocolVersion, capabilities: {}, clientInfo: { name: 'sluice-bench-http', version: '1' } } };
const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };

// The server's own answer to lookup, not a denial or a simulation by whatever sits between;
// in 2026-07-28 a complete one.
function checkAnswer(message, id, modern) {
  if (message?.id !== id || message.result?.content?.[0]?.text !== `value of ${keyOf(id)}: 42` || message.result.isError ||
      (modern && message.result.resultType !== 'complete')) {
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

function statusKiB(pid, field) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)[1]);
}
const rssKiB = (pid) => statusKiB(pid, 'VmRSS');
const peakRssKiB = (pid) => statusKiB(pid, 'VmHWM');

// User and system CPU seconds a live process has used.
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks; // utime, stime: fields 14 and 15
}
const openFds = (pid) => readdirSync(`/proc/${pid}/fd`).length;

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

// The answer to server/discover must offer 2026-07-28.
function checkDiscovered(message) {
  if (!message?.result?.supportedVersions?.includes(modernVersion)) {
    throw new Error(`server/discover does not offer ${modernVersion}: ${JSON.stringify(message).slice(0, 300)}`);
  }
}

// A session over a child's stdin and stdout, newline-delimited JSON-RPC: the server
// itself (direct) or `sluice run` in front of it.
class StdioSession {
  constructor(child, modern) {
    this.child = child;
    this.modern = modern;
    this.waiting = new Map();
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
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
  async close() {
    this.child.stdin.end();
    if (this.child.exitCode === null) await once(this.child, 'exit');
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

// The headers of a 2025 request in a session, or of a 2026-07-28 one (which mirror its body).
function protocolHeaders(sessionId, body) {
  if (sessionId) return { 'mcp-session-id': sessionId, 'mcp-protocol-version': protocolVersion };
  if (body?.params?._meta === modernMeta) {
    return { 'mcp-protocol-version': modernVersion, 'mcp-method': body.method,
      ...(body.params.name ? { 'mcp-name': body.params.name } : {}) };
  }
  return {};
}

// One request; the answer as a JSON body or an SSE stream, read to its end.
function send(url, method, sessionId, body) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const request = http.request(url, {
      method,
      agent,
      timeout: deadlineMs,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'content-length': Buffer.byteLength(payload),
        ...protocolHeaders(sessionId, body),
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
const post = (url, sessionId, body) => send(url, 'POST', sessionId, body);

function answerOf(response, id) {
  if (response.status !== 200) {
    throw Object.assign(new Error(`HTTP ${response.status}: ${response.text.slice(0, 300)}`), { status: response.status });
  }
  if (!String(response.headers['content-type']).startsWith('text/event-stream')) return JSON.parse(response.text);
  for (const line of response.text.split('\n')) {
    if (!line.startsWith('data:') || line.slice(5).trim() === '') continue; // a priming event has no data
    const message = JSON.parse(line.slice(5));
    if (message.id === id) return message;
  }
  throw new Error(`no answer to ${id} in the SSE stream: ${response.text.slice(0, 300)}`);
}

// A 2025 session, or a 2026-07-28 client (no session: every POST stands alone).
class HttpSession {
  constructor(url, modern) {
    this.url = url;
    this.modern = modern;
  }
  async open() {
    if (this.modern) {
      checkDiscovered(answerOf(await post(this.url, undefined, discover), 0));
      return;
    }
    const response = await post(this.url, undefined, initialize);
    answerOf(response, 0);
    this.sessionId = response.headers['mcp-session-id'];
    const accepted = await post(this.url, this.sessionId, initialized);
    if (accepted.status !== 202) throw new Error(`notifications/initialized: HTTP ${accepted.status}`);
  }
  async request(body) {
    return answerOf(await post(this.url, this.sessionId, body), body.id);
  }
  async close() {
    if (this.modern) return;
    const response = await send(this.url, 'DELETE', this.sessionId);
    if (response.status >= 300 && response.status !== 405) throw new Error(`DELETE: HTTP ${response.status}`);
  }
}

// The server or a front started per session on stdio; `front` says whether the process
// is a front (its own CPU and RSS are what the table shows) or the server itself.
function stdioTarget(name, argv, modern = false) {
  return {
    name,
    transport: 'stdio',
    modern,
    async start() {
      this.children = [];
    },
    async session() {
      const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
      this.children.push(child);
      const session = new StdioSession(child, modern);
      if (modern) {
        checkDiscovered(await session.request(discover));
      } else {
        await session.request(initialize);
        session.notify(initialized);
      }
      return session;
    },
    processes() {
      return this.children.filter((child) => child.exitCode === null).map((child) => child.pid);
    },
    async stop() {
      for (const child of this.children ?? []) child.stdin.end();
      await Promise.all((this.children ?? []).filter((c) => c.exitCode === null).map((c) => once(c, 'exit')));
      this.children = [];
    },
  };
}

// A front that listens: how to start it, and how to open one session on it.
function httpTarget(name, start, modern = false) {
  return {
    name,
    transport: 'HTTP',
    modern,
    async start() {
      const { child, url } = await start();
      this.child = child;
      this.url = url;
    },
    async session() {
      const session = new HttpSession(this.url, modern);
      await session.open();
      return session;
    },
    processes() {
      return [this.child.pid];
    },
    async stop() {
      if (!this.child || this.child.exitCode !== null) return;
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
const concurrencyLevels = list('concurrency').map(Number);
const sessionsCap = Math.max(count('rss-sessions'), ...concurrencyLevels, count('soak-sessions')) + 10;
const configDir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-http-'));
// The built-in policy's one rule (reads are allowed), room for every session and for the
// 1 MiB payloads; with an audit log in the temporary directory at `sync` (a fresh file
// each start, so that one target's rows do not slow the next).
let configs = 0;
function sluiceConfig(sync) {
  const file = path.join(configDir, `sluice-${++configs}.yaml`);
  const audit = sync ? `audit:\n  path: ${path.join(configDir, `audit-${configs}.db`)}\n  sync: ${sync}\n` : '';
  writeFileSync(file, `listen:\n  limits: { max_sessions: ${sessionsCap}, max_body_bytes: 67108864 }\n${audit}` +
    'policy:\n  rules:\n    - { name: reads, match: { class: read }, action: allow }\n');
  return file;
}
// Errors only: a stdio front per session would repeat each warning per session.
const sluiceRun = (sync) => [options.sluice, '--log-level', 'error', 'run', '--config', sluiceConfig(sync)];
const sluiceListening = (name, sync, modern, runFlags = []) => httpTarget(name, async () => {
  const port = await freePort();
  const [command, ...args] = sluiceRun(sync);
  return startListening(command, [...args, ...runFlags, '--listen', `127.0.0.1:${port}`, '--', options.server],
    `http://127.0.0.1:${port}/mcp`);
}, modern);
const directListening = (name, modern) => httpTarget(name, async () => {
  const port = await freePort();
  return startListening(options.server, ['--listen', String(port)], `http://127.0.0.1:${port}/mcp`);
}, modern);

const makers = {
  'direct-stdio': () => stdioTarget('direct (stdio)', [options.server]),
  'sluice-stdio': () => stdioTarget('sluice run', [...sluiceRun(), '--', options.server]),
  'sluice-stdio-normal': () => stdioTarget('sluice run + audit normal', [...sluiceRun('normal'), '--', options.server]),
  'sluice-stdio-full': () => stdioTarget('sluice run + audit full', [...sluiceRun('full'), '--', options.server]),
  'direct-http': () => directListening('direct (HTTP)'),
  'sluice-http': () => sluiceListening('sluice --listen'),
  'sluice-http-normal': () => sluiceListening('sluice --listen + audit normal', 'normal'),
  'sluice-http-full': () => sluiceListening('sluice --listen + audit full', 'full'),
  // Opt-in (docs/operations.md): the one process of an HTTP front may spin; 256 stdio fronts should not.
  'sluice-http-busy-poll': () => sluiceListening('sluice --listen --busy-poll 50us', undefined, false,
    ['--busy-poll', '50us']),
  // The floor of any HTTP-to-stdio front (bench/bare_relay.cc): frames HTTP, parses no JSON.
  'relay-http': () => Object.assign(httpTarget('bare HTTP relay', async () => {
    const port = await freePort();
    return startListening(options.relay, ['--listen', String(port), options.server], `http://127.0.0.1:${port}/mcp`);
  }), { oneSessionOnly: true }),
  supergateway: () => httpTarget('supergateway 4.0.0', async () => {
    const port = await freePort();
    return startListening(process.execPath, [bin('supergateway/dist/index.js'), '--stdio', options.server,
      '--outputTransport', 'streamableHttp', '--stateful', '--port', String(port), '--logLevel', 'none'],
    `http://127.0.0.1:${port}/mcp`);
  }),
  'mcp-proxy': () => httpTarget('mcp-proxy 6.7.19', async () => {
    const port = await freePort();
    return startListening(process.execPath, [bin('mcp-proxy/dist/bin/mcp-proxy.mjs'), '--server', 'stream',
      '--host', '127.0.0.1', '--port', String(port), '--', options.server], `http://127.0.0.1:${port}/mcp`);
  }),
  'direct-stdio-modern': () => stdioTarget(`direct (stdio, ${modernVersion})`, [options.server], true),
  'sluice-stdio-modern': () => stdioTarget(`sluice run, ${modernVersion}`, [...sluiceRun(), '--', options.server], true),
  'direct-http-modern': () => directListening(`direct (HTTP, ${modernVersion})`, true),
  'sluice-http-modern': () => sluiceListening(`sluice --listen, ${modernVersion}`, undefined, true),
};
const targets = chosen.map((key) => Object.assign(makers[key](), { key }));
// Each front is measured against the direct connection of its own transport and era.
const baselineOf = (target) => `direct-${target.transport.toLowerCase()}${target.modern ? '-modern' : ''}`;
const isDirect = (target) => target.key.startsWith('direct-');

// Sluice refusing a call fail-closed (-31002: its audit log could not take the call's row,
// as when 256 `sluice run` share one log and SQLite answers "database is locked") is a
// right answer for Sluice to give, not a wrong one: with `figures` (a cell's, for one
// target) it is counted there and reported under the cell, without a latency; without
// (the soak, the RSS table) it ends the run like any other unexpected answer.
const failClosedCode = -31002;
let nextId = 1;
async function timedCalls(session, calls, figures, { timed = true } = {}) {
  for (let i = 0; i < calls; ++i) {
    const id = nextId++;
    const started = process.hrtime.bigint();
    const message = await session.request(call(id, session.modern));
    if (figures && message?.id === id && message.error?.code === failClosedCode) {
      figures.refusals += 1;
      figures.refusal ??= message.error.message;
      continue;
    }
    checkAnswer(message, id, session.modern);
    if (timed) figures?.latencies.push(Number(process.hrtime.bigint() - started) / 1000);
  }
}

// `sessions` opened 50 at a time (a front starting 256 servers at once is a test of the
// machine, not of the front).
async function openSessions(target, sessions) {
  const opened = [];
  for (let i = 0; i < sessions; i += 50) {
    opened.push(...await Promise.all(Array.from({ length: Math.min(50, sessions - i) }, () => target.session())));
  }
  return opened;
}

const totalCpu = (target) => target.processes().reduce((sum, pid) => sum + cpuSeconds(pid), 0);
const peakRss = (target) => Math.max(...target.processes().map(peakRssKiB));
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const fmt = (us) => (us >= 10_000 ? `${(us / 1000).toFixed(1)} ms` : `${us.toFixed(0)} µs`);
const delta = (a, b) => `${a < b ? '−' : '+'}${fmt(Math.abs(a - b))}`;
const bytes = (n) => (n >= 1 << 20 ? `${n / (1 << 20)} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`);

// One cell of the table: every target with `sessions` sessions calling at once, `calls`
// calls in all per target. With one session the targets take turns in `rounds` rounds
// (who goes first rotates), so that a burst of other work weighs on all alike; with
// more, each target in turn has the machine to itself for its calls.
async function measure(sessions, calls, warmup) {
  const figures = new Map(targets.map((t) => [t, { latencies: [], spentUs: 0, cpu: 0, calls: 0, rss: 0, refusals: 0,
    timedRefusals: 0 }]));
  const perSession = Math.max(1, Math.round(calls / sessions));
  // A front that refuses the payload (supergateway takes bodies up to 100 KB) is left out
  // of the cell with its answer, not a reason to end the run.
  const refusing = async (target, work) => {
    try {
      if (!figures.get(target).refused) await work();
    } catch (error) {
      if (error.status !== 413) throw error;
      figures.get(target).refused = `refuses the payload: HTTP ${error.status}`;
    }
  };
  const run = (target, opened, share) => refusing(target, async () => {
    const f = figures.get(target);
    const cpuBefore = totalCpu(target);
    const refusalsBefore = f.refusals;
    const started = process.hrtime.bigint();
    await Promise.all(opened.map((session) => timedCalls(session, share, f)));
    f.spentUs += Number(process.hrtime.bigint() - started) / 1000;
    f.cpu += totalCpu(target) - cpuBefore;
    f.timedRefusals += f.refusals - refusalsBefore;
    f.calls += opened.length * share - (f.refusals - refusalsBefore);
  });
  if (sessions === 1) {
    const opened = new Map();
    for (const target of targets) {
      await target.start();
      const [session] = await openSessions(target, 1);
      await refusing(target, () => timedCalls(session, warmup, figures.get(target), { timed: false }));
      opened.set(target, [session]);
    }
    const rounds = count('rounds');
    for (let round = 0; round < rounds; ++round) {
      for (let k = 0; k < targets.length; ++k) {
        const target = targets[(round + k) % targets.length];
        await run(target, opened.get(target), Math.max(1, Math.round(perSession / rounds)));
      }
    }
    for (const target of targets) figures.get(target).rss = peakRss(target);
    for (const target of targets) await target.stop();
  } else {
    for (const target of targets) {
      if (target.oneSessionOnly) {
        figures.get(target).refused = 'left out: one exchange with its server at a time, a floor for one session only';
        continue;
      }
      await target.start();
      const opened = await openSessions(target, sessions);
      await refusing(target, () => Promise.all(opened.map((session) =>
        timedCalls(session, 1, figures.get(target), { timed: false }))));
      await run(target, opened, perSession);
      figures.get(target).rss = peakRss(target);
      await target.stop();
    }
  }
  return figures;
}

function printCell(payload, sessions, figures) {
  const stats = (f) => {
    const sorted = [...f.latencies].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), rate: (f.calls / f.spentUs) * 1e6,
      cpu: (f.cpu / f.calls) * 10_000, rss: f.rss / 1024 };
  };
  // A target whose every timed call was refused has no figures, only its refusals below.
  const answering = targets.filter((t) => !figures.get(t).refused && figures.get(t).calls > 0);
  const byKey = new Map(answering.map((t) => [t.key, stats(figures.get(t))]));
  const calls = Math.max(...targets.map((t) => figures.get(t).calls + figures.get(t).timedRefusals));
  console.log(`\n#### ${bytes(payload)} payload, ${sessions} session${sessions === 1 ? '' : 's'} at once ` +
    `(${calls} calls per target; load average ${loadAverage()})\n`);
  console.log('| target | p50 | added p50 | p99 | added p99 | calls/s | × baseline | CPU s / 10k calls | peak RSS |');
  console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const target of targets) {
    if (figures.get(target).refused) {
      console.log(`| ${target.name} | ${figures.get(target).refused} | | | | | | | |`);
      continue;
    }
    if (!byKey.has(target.key)) {
      console.log(`| ${target.name} | every call refused | | | | | | | |`);
      continue;
    }
    const s = byKey.get(target.key);
    const base = isDirect(target) ? undefined : byKey.get(baselineOf(target));
    console.log(`| ${target.name} | ${fmt(s.p50)} | ${base ? delta(s.p50, base.p50) : '—'} | ${fmt(s.p99)} | ` +
      `${base ? delta(s.p99, base.p99) : '—'} | ${Math.round(s.rate)} | ${base ? `${(s.rate / base.rate).toFixed(2)}×` : '—'} | ` +
      `${s.cpu.toFixed(2)} | ${s.rss.toFixed(1)} MiB |`);
  }
  // The figures above are of the answered calls; what was refused is said under the table.
  const refusing = targets.filter((t) => figures.get(t).refusals > 0);
  if (refusing.length) console.log('');
  for (const target of refusing) {
    const f = figures.get(target);
    console.log(`${target.name}: ${f.timedRefusals} of ${f.calls + f.timedRefusals} timed calls refused fail-closed ` +
      `(${failClosedCode})${f.refusals > f.timedRefusals ? `, and ${f.refusals - f.timedRefusals} warm-up calls` : ''}; ` +
      `the first: "${f.refusal}"`);
  }
  return byKey;
}

// What the goals of issue 9 say about one cell.
function printGoals(byKey) {
  const added = (key) => byKey.get(key).p50 - byKey.get('direct-http').p50;
  if (byKey.has('sluice-http') && byKey.has('direct-http')) {
    console.log('');
    for (const [front, label] of [['sluice-http', 'Sluice'], ['sluice-http-busy-poll', 'Sluice --busy-poll 50us']]) {
      if (!byKey.has(front)) continue;
      for (const bridge of ['supergateway', 'mcp-proxy'].filter((key) => byKey.has(key))) {
        const ratio = added(front) / added(bridge);
        // A bridge that measured faster than direct (noise, or a cell it refused) gives no
        // ratio to judge: saying "met" of a negative share would be a lie.
        const verdict = added(bridge) <= 0 ? 'no verdict (the bridge measured no added latency)'
          : `${(ratio * 100).toFixed(1)}% (goal: under 10%): ${ratio < 0.1 ? 'met' : 'NOT met'}`;
        console.log(`${label} adds ${fmt(added(front))} at p50 over HTTP, ${bridge} ${fmt(added(bridge))}: ${verdict}`);
      }
    }
    if (byKey.has('relay-http')) {
      console.log(`The bare HTTP relay adds ${fmt(added('relay-http'))} at p50 over HTTP (the floor of any front ` +
        `between an HTTP client and a stdio server on this machine); Sluice adds ${fmt(added('sluice-http') - added('relay-http'))} over it`);
    }
  }
  // What Sluice adds on the 2026-07-28 path beside what it adds on the 2025 one, in the same cell.
  for (const [transport, front] of [['stdio', 'sluice-stdio'], ['http', 'sluice-http']]) {
    const addedBy = (suffix) => delta(byKey.get(`${front}${suffix}`).p50, byKey.get(`direct-${transport}${suffix}`).p50);
    if (!byKey.has(`${front}-modern`) || !byKey.has(`direct-${transport}-modern`)) continue;
    const legacy = byKey.has(front) && byKey.has(`direct-${transport}`) ? `, on the 2025 path ${addedBy('')}` : '';
    console.log(`${front}-modern: ${addedBy('-modern')} at p50 over its direct ${modernVersion} baseline${legacy}`);
  }
  for (const [audited, direct, plain] of [['sluice-stdio-normal', 'direct-stdio', 'sluice-stdio'],
    ['sluice-http-normal', 'direct-http', 'sluice-http']]) {
    if (!byKey.has(audited) || !byKey.has(direct)) continue;
    const share = byKey.get(audited).rate / byKey.get(direct).rate;
    const ofPlain = byKey.has(plain) ? `, ${((byKey.get(audited).rate / byKey.get(plain).rate) * 100).toFixed(0)}% of ${plain}'s` : '';
    console.log(`${audited}: ${(share * 100).toFixed(0)}% of the calls/s of ${direct}${ofPlain} ` +
      `(goal: 80% of direct): ${share >= 0.8 ? 'met' : 'NOT met'}`);
  }
}

// The fronts' RSS before the first session and with many open (each has made one call).
async function measureMemory(sessions) {
  console.log(`\n#### RSS with ${sessions} sessions open (load average ${loadAverage()})\n`);
  console.log('| target | RSS idle | RSS with the sessions open | processes under it |');
  console.log('|---|--:|--:|--:|');
  let sluiceIdle;
  // A 2026-07-28 client holds no session open.
  for (const target of targets.filter((t) => t.transport === 'HTTP' && !isDirect(t) && !t.modern)) {
    await target.start();
    const before = rssKiB(target.child.pid);
    const opened = await openSessions(target, sessions);
    for (const session of opened) await timedCalls(session, 1);
    const children = descendants(target.child.pid);
    console.log(`| ${target.name} | ${(before / 1024).toFixed(1)} MiB | ${(rssKiB(target.child.pid) / 1024).toFixed(1)} MiB | ` +
      `${children.length} |`);
    if (target.key === 'sluice-http') sluiceIdle = before;
    await target.stop();
  }
  if (sluiceIdle !== undefined) {
    console.log(`\nSluice's idle RSS: ${(sluiceIdle / 1024).toFixed(1)} MiB (goal: under 30 MB): ${sluiceIdle * 1024 < 30e6 ? 'met' : 'NOT met'}`);
  }
}

// Least-squares slope of y over x.
function slope(points) {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
}

// A steady load on one target for `seconds`: `sessions` sessions calling one after
// another, each ending itself (DELETE, or closing its stdin) and a new one taking its
// place every 100 calls, so that what a session leaves behind would add up. The
// front's RSS and open descriptors are sampled; flat means the RSS grew by less than
// 2 MiB (by the slope) over the second half, and once the load has ended the front holds
// no more descriptors than before it.
async function soak(seconds, sessions, sampleSeconds) {
  const [target] = targets;
  // On stdio every session is a front process of its own, which lives for one session.
  if (target.transport !== 'HTTP' || isDirect(target) || target.modern) {
    throw new Error('--soak needs one of Sluice\'s 2025 HTTP targets');
  }
  await target.start();
  const samples = [];
  const started = Date.now();
  let calls = 0;
  const sample = () => {
    const pids = target.processes();
    const rss = pids.reduce((sum, pid) => sum + rssKiB(pid), 0);
    const fds = pids.reduce((sum, pid) => sum + openFds(pid), 0);
    samples.push({ t: (Date.now() - started) / 1000, rss, fds, calls, processes: pids.length });
    console.log(`| ${samples.at(-1).t.toFixed(0)} s | ${(rss / 1024).toFixed(1)} MiB | ${fds} | ${calls} | ${pids.length} |`);
  };
  console.log(`soak: ${target.name}, ${sessions} sessions calling for ${seconds} s (a new session every 100 calls), ` +
    `${bytes(payloadBytes)} payload; load average ${loadAverage()}\n`);
  console.log('| time | RSS | open fds | calls so far | processes |');
  console.log('|--:|--:|--:|--:|--:|');
  const end = started + seconds * 1000;
  const worker = async () => {
    while (Date.now() < end) {
      const [session] = await openSessions(target, 1);
      for (let i = 0; i < 100 && Date.now() < end; ++i, ++calls) await timedCalls(session, 1);
      await session.close();
    }
  };
  sample();
  const sampler = setInterval(sample, sampleSeconds * 1000);
  await Promise.all(Array.from({ length: sessions }, worker));
  clearInterval(sampler);
  sample();
  const second = samples.filter((s) => s.t >= seconds / 2);
  const rssSlope = slope(second.map((s) => [s.t, s.rss])); // KiB per second
  const growthKiB = rssSlope * (seconds / 2);
  // Every session the load opened is closed: once the driver's idle connections are
  // gone too, the front must hold no more descriptors than before the load.
  agent.destroy();
  const idleFds = samples[0].fds;
  const settled = Date.now() + 5000;
  while (openFds(target.child.pid) > idleFds && Date.now() < settled) {
    await new Promise((resolve) => setTimeout(resolve, 50)); // polls a condition, within a deadline
  }
  const fdsAfter = openFds(target.child.pid);
  const flat = growthKiB < 2048 && fdsAfter <= idleFds;
  console.log(`\n${calls} calls in ${seconds} s (${Math.round(calls / seconds)}/s) by pid ${target.child.pid}; over the second half the RSS ` +
    `went ${(second[0].rss / 1024).toFixed(1)} → ${(second.at(-1).rss / 1024).toFixed(1)} MiB, slope ${(rssSlope * 60).toFixed(1)} KiB/min ` +
    `(${(growthKiB / 1024).toFixed(2)} MiB over the half); open fds before the load ${idleFds}, after it ${fdsAfter}`);
  console.log(`RSS and descriptors flat over the soak: ${flat ? 'yes' : 'NO'}`);
  console.log(`load average after the run: ${loadAverage()}`);
  await target.stop();
  return flat;
}

async function main() {
  console.log(`load average before the run: ${loadAverage()}`);
  if (options.soak !== '0') {
    payloadBytes = Number(list('payload')[0]);
    const flat = await soak(count('soak'), count('soak-sessions'), count('soak-sample'));
    process.exit(flat ? 0 : 3);
  }
  console.log(`${count('calls')} calls per target and cell (scaled down for payloads over 16 KiB), ` +
    `${count('warmup')} warm-up calls with one session, ${count('rounds')} interleaved rounds`);
  for (const payload of list('payload').map(Number)) {
    payloadBytes = payload;
    // The calls of a cell carry at most about 32 MiB of payload per target, and so do its warm-up calls.
    const calls = Math.max(1, Math.min(count('calls'), Math.floor((32 << 20) / Math.max(payload, 1))));
    const warmup = Math.min(count('warmup'), calls);
    for (const sessions of concurrencyLevels) {
      const byKey = printCell(payload, sessions, await measure(sessions, Math.max(calls, sessions), warmup));
      printGoals(byKey);
    }
  }
  payloadBytes = 0;
  if (count('rss-sessions') > 0) await measureMemory(count('rss-sessions'));
  console.log(`\nload average after the run: ${loadAverage()}`);
  process.exit(0);
}

// Whatever way the run ends, nothing it started outlives it.
process.on('exit', () => {
  for (const target of targets) {
    target.child?.kill('SIGTERM');
    for (const child of target.children ?? []) child.kill('SIGTERM');
  }
  rmSync(configDir, { recursive: true, force: true });
});

main().catch((error) => {
  console.error(`sluice-bench-http: ${error.stack ?? error}`);
  process.exit(1);
});
