// Shared by the integration tests: where the binaries and the real npm servers are,
// and how to connect a real SDK client to a server directly or through Sluice.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// CTest passes the built binary; a developer running `node --test` by hand gets the default build.
export const sluiceBin = process.env.SLUICE_BIN ?? path.join(repoRoot, 'build/proxy/sluice');

// Whether that binary is the AddressSanitizer build (SLUICE_SANITIZE): its runtime answers
// ASAN_OPTIONS=help=1 with its flags. ASan keeps freed memory in quarantine (256 MiB), so
// bounds on Sluice's resident memory hold only without it.
export const sanitized = /AddressSanitizer/.test(
  spawnSync(sluiceBin, ['--version'], { env: { ...process.env, ASAN_OPTIONS: 'help=1' }, encoding: 'utf8' }).stderr ?? '',
);

export const everythingServer = [
  process.execPath,
  path.join(repoRoot, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'),
  'stdio',
];

export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

// server-everything's streamableHttp mode on a free port; resolves once it listens.
export async function startEverythingHttp() {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [path.join(repoRoot, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'), 'streamableHttp'],
    { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  await new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk.toString();
      if (/listening on port/.test(stderr)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`server-everything exited with ${code}:\n${stderr}`)));
  });
  return { url: `http://127.0.0.1:${port}/mcp`, child };
}

// A configuration file with `yaml` and an audit log, both in a fresh temporary directory.
export function auditedConfig(yaml) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-audited-'));
  const db = path.join(dir, 'audit.db');
  const config = path.join(dir, 'sluice.yaml');
  writeFileSync(config, `${yaml}\naudit:\n  path: ${db}\n`);
  return { dir, db, config };
}

// The audit log's records (JSON) of the rows `where` selects, in order.
export function auditRecords(db, where) {
  const run = spawnSync('sqlite3', [db, `SELECT record FROM events WHERE ${where} ORDER BY seq`], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

// `sluice audit verify` passes on the log: its hash chain and checkpoints hold.
export function assertAuditVerifies(db) {
  const verify = spawnSync(sluiceBin, ['audit', 'verify', '--db', db], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
}

export const fixturePath = (name) => path.join(repoRoot, 'tests/integration/fixtures', name);

export const fixtureServer = (name, ...args) => [process.execPath, fixturePath(name), ...args];

export function throughSluice(server, sluiceArgs = []) {
  return [sluiceBin, '--log-level', 'debug', 'run', ...sluiceArgs, '--', ...server];
}

// A real SDK client over stdio to `command`. The client declares sampling,
// elicitation and roots so that servers exercise their server->client requests.
export async function connectClient(command, { name = 'sluice-test', capabilities, env } = {}) {
  const transport = new StdioClientTransport({
    command: command[0],
    args: command.slice(1),
    stderr: 'pipe',
    // The SDK passes a minimal environment by default; tests that configure the
    // upstream through variables pass them all.
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  const stderr = [];
  transport.stderr?.on('data', (chunk) => stderr.push(chunk.toString()));
  const client = new Client(
    { name, version: '1.0.0' },
    { capabilities: capabilities ?? { sampling: {}, elicitation: {}, roots: { listChanged: true } } },
  );
  return { client, transport, stderr, connect: () => client.connect(transport) };
}

// A process speaking newline-delimited JSON-RPC by hand, for what an SDK client
// will not send (malformed lines, batches) and for observing process lifecycles.
export class RawPeer {
  constructor(command, { env } = {}) {
    this.child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
    this.stderrText = '';
    this.child.stderr.on('data', (chunk) => {
      this.stderrText += chunk.toString();
      this.#wake();
    });
    this.messages = [];
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => {
      this.messages.push(JSON.parse(line));
      this.#wake();
    });
    this.exited = once(this.child, 'exit');
    this.child.on('exit', () => this.#wake());
    this.waiters = [];
  }

  send(value) {
    this.child.stdin.write((typeof value === 'string' ? value : JSON.stringify(value)) + '\n');
  }

  // Resolves with the first received message that satisfies `predicate`, in arrival order.
  next(predicate, what = 'a matching message') {
    return this.until(() => this.messages.find(predicate), what);
  }

  // Resolves once `probe()` returns something truthy; re-checked on every event of the peer.
  until(probe, what) {
    const found = probe();
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      this.waiters.push({ probe, resolve, reject, what });
    });
  }

  #wake() {
    this.waiters = this.waiters.filter((waiter) => {
      const found = waiter.probe();
      if (found) {
        waiter.resolve(found);
        return false;
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        waiter.reject(new Error(`peer exited before ${waiter.what}; stderr:\n${this.stderrText}`));
        return false;
      }
      return true;
    });
  }
}

// True while a process with this pid exists (zombies included).
// Keeps, in client.wire, every message the v2 SDK client receives, as it came on the
// wire (the SDK strips resultType and cache hints from what its methods return).
export function keepWire(client, transport) {
  client.wire = [];
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    client.wire.push(message);
    deliver(message, extra);
  };
  return client;
}

export function processExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if (error.code === 'ESRCH') return false;
    throw error;
  }
}

export const initializeRequest = (id = 0) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw-peer', version: '1' } },
});

// `sluice run --listen 127.0.0.1:0` in front of `server`: resolves once Sluice logs
// the address it bound, with that URL and a stop() that ends it with SIGTERM.
export async function startSluiceHttp(server, sluiceArgs = []) {
  const child = spawn(sluiceBin, ['--log-level', 'debug', 'run', '--listen', '127.0.0.1:0', ...sluiceArgs, '--', ...server], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const url = await new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk.toString();
      const found = /listening on (https?:\/\/\S+)/.exec(stderr);
      if (found) resolve(new URL(found[1]));
    });
    child.on('exit', (code) => reject(new Error(`sluice exited with ${code} before listening; stderr:\n${stderr}`)));
  });
  const exited = once(child, 'exit');
  return {
    url,
    child,
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM');
      const [code] = await exited;
      return code;
    },
  };
}

// Answers the server's sampling, elicitation and roots requests the same way on every
// client, logging each as [method, detail].
export function answerServerRequests(client, log) {
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    log.push(['sampling/createMessage', request.params.messages]);
    const prompt = request.params.messages.map((m) => m.content.text).join(' ');
    return { model: 'test-model', role: 'assistant', content: { type: 'text', text: `sampled: ${prompt}` } };
  });
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    log.push(['elicitation/create', request.params.message]);
    return { action: 'decline' };
  });
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    log.push(['roots/list']);
    return { roots: [{ uri: 'file:///srv/project', name: 'project' }] };
  });
}

// server-everything sends its last progress notification without waiting for it, so
// it races the tool's result inside the server and the client's SDK may or may not
// still be listening: that one is nondeterministic with or without Sluice.
export const settledProgress = (progress) => progress.filter((p) => p.progress < p.total);

// server-everything stamps each dynamic resource it makes with the time of day to the
// second ("created at 7:46:18 PM"), in text and inside base64 blobs: the same call made on
// both clients at once can straddle a second, so the stamp is left out of the comparison.
const timeStamp = /created at \d{1,2}:\d{2}:\d{2}(\s?[AP]M)?/g;
function unstamped(value) {
  if (value === undefined) return value;
  return JSON.parse(JSON.stringify(value), (key, field) => {
    if (typeof field !== 'string') return field;
    if (key !== 'blob') return field.replace(timeStamp, 'created at <time>');
    const decoded = Buffer.from(field, 'base64').toString('utf8');
    const replaced = decoded.replace(timeStamp, 'created at <time>');
    return replaced === decoded ? field : Buffer.from(replaced).toString('base64');
  });
}

// Runs `scenario` on both clients at once and requires equal results.
export async function sameOnBoth(direct, proxied, scenario) {
  const [expected, actual] = await Promise.all([scenario(direct), scenario(proxied)]);
  assert.deepEqual(unstamped(actual), unstamped(expected));
  return actual;
}

// What a client learns of the server at initialize.
export const serverIdentity = async (client) => ({
  version: client.getServerVersion(),
  capabilities: client.getServerCapabilities(),
  instructions: client.getInstructions(),
});

// Cancels a long call at its first progress, then checks that the session goes on.
export async function cancelledCallScenario(client) {
  const controller = new AbortController();
  const call = client.callTool(
    { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } },
    undefined,
    { signal: controller.signal, onprogress: () => controller.abort('the user changed their mind') },
  );
  const outcome = await call.then(
    () => 'completed',
    (error) => String(error),
  );
  const after = await client.callTool({ name: 'echo', arguments: { message: 'still here' } });
  return { outcome, after };
}

// Every page of a paginated tools/list, following nextCursor.
export async function listToolPages(client) {
  const pages = [];
  let cursor;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor });
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return pages;
}

// A connected SDK client over stdio whose server requests are answered and logged
// in `serverRequests`.
export async function openAnswering(command, options) {
  const peer = await connectClient(command, options);
  peer.serverRequests = [];
  answerServerRequests(peer.client, peer.serverRequests);
  await peer.connect();
  return peer;
}

// `sluice approvals list --json --all` of the audit log `db`, once it matches `pattern`:
// approval changes are recorded by the audit writer thread, which may commit one just
// after the client was answered, so this waits for it within a deadline.
export async function approvalsListed(db, pattern, timeoutMs = 8000) {
  const list = () => spawnSync(sluiceBin, ['approvals', 'list', '--db', db, '--json', '--all'], { encoding: 'utf8' }).stdout;
  const deadline = Date.now() + timeoutMs;
  let listed = list();
  while (!pattern.test(listed) && Date.now() < deadline) {
    await new Promise((resolve) => setImmediate(resolve));
    listed = list();
  }
  assert.match(listed, pattern);
  return listed;
}
