// `sluice demo --agent` end to end, as a newcomer runs it: the demo starts the demo
// cluster, Sluice and the web UI; the scripted agent works the checkout incident; the
// test approves the held restart through the web UI's JSON API as the printed demo
// approver; Ctrl-C stops everything and the audit log it names verifies.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { sluiceBin } from '../support/harness.mjs';

const run = promisify(execFile);
const DEADLINE_MS = 30000;

// The demo as a child process whose stdout the test reads as it arrives.
function startDemo(args, { cwd }) {
  const child = spawn(sluiceBin, ['--log-level', 'warn', 'demo', '--listen', '127.0.0.1:0', '--ui', '127.0.0.1:0', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set();
  const check = () => {
    for (const waiter of waiters) {
      const match = waiter.pattern.exec(stdout);
      if (match) {
        waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(match);
      }
    }
  };
  child.stdout.on('data', (chunk) => {
    stdout += chunk.toString();
    check();
  });
  child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  exited.then(([code]) => {
    for (const waiter of waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`the demo exited (${code}) before printing ${waiter.pattern}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }
    waiters.clear();
  });
  return {
    child,
    exited,
    output: () => stdout,
    // The first match of `pattern` in stdout, now or once it is printed.
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        const waiter = { pattern, resolve, reject };
        waiter.timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`the demo did not print ${pattern} within ${DEADLINE_MS} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        }, DEADLINE_MS);
        waiters.add(waiter);
        check();
      });
    },
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code] = await exited;
      return code;
    },
  };
}

// What the banner says: where things are and the login.
async function banner(demo) {
  const [, mcpUrl] = await demo.waitFor(/MCP endpoint \(Streamable HTTP\): (\S+)/);
  const [, token] = await demo.waitFor(/Bearer token \(oncall-agent\): +([0-9a-f]{32})\n/);
  const [, uiUrl] = await demo.waitFor(/Approval web UI: +(\S+)/);
  const [, user, password] = await demo.waitFor(/Login: +(\S+) \/ (\S+)/);
  const [, auditDb] = await demo.waitFor(/Audit log: +(\S+)/);
  const [, clusterUrl] = await demo.waitFor(/demo cluster serving (https:\/\/\S+)/);
  return { mcpUrl, token, ui: new URL(uiUrl), user, password, auditDb, clusterUrl: new URL(clusterUrl) };
}

// A logged-in client of the web UI's JSON API, with the cookie, CSRF token and exact
// Origin every POST needs.
async function logIn(ui, user, password) {
  const origin = ui.origin;
  const response = await fetch(new URL('/api/login', ui), {
    method: 'POST',
    headers: { Origin: origin, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  const { csrf_token: csrf } = await response.json();
  const cookie = response.headers.get('set-cookie').split(';')[0];
  return {
    get: (where) => fetch(new URL(where, ui), { headers: { Cookie: cookie } }),
    post: (where, body) =>
      fetch(new URL(where, ui), {
        method: 'POST',
        headers: { Cookie: cookie, Origin: origin, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      }),
  };
}

// The pending approval request for `tool`: from the list if it is there, else from
// the live event stream (opened first, so nothing falls between the two).
async function pendingRequest(api, tool) {
  const controller = new AbortController();
  const events = await api.get('/api/events');
  assert.equal(events.status, 200);
  const timer = setTimeout(() => controller.abort(), DEADLINE_MS);
  try {
    const { requests } = await (await api.get('/api/approvals')).json();
    const listed = requests.find((request) => request.tool === tool);
    if (listed) return listed;
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of events.body) {
      buffer += decoder.decode(chunk, { stream: true });
      const complete = buffer.split('\n');
      buffer = complete.pop(); // a line still arriving
      for (const line of complete) {
        if (!line.startsWith('data: ')) continue;
        const view = JSON.parse(line.slice(6));
        if (view.tool === tool && view.state === 'pending') return view;
      }
    }
    throw new Error(`the event stream ended without a pending ${tool}`);
  } finally {
    clearTimeout(timer);
    await events.body.cancel().catch(() => {});
  }
}

const refusesConnections = (url) =>
  new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname);
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(true));
  });

const exportLog = async (auditDb) =>
  (await run(sluiceBin, ['audit', 'export', '--db', auditDb])).stdout.trim().split('\n').map((line) => JSON.parse(line));

describe('sluice demo', () => {
  const dirs = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const tempDir = async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-demo-test-'));
    dirs.push(dir);
    return dir;
  };

  test('--agent works the incident, the restart runs once approved in the web UI, Ctrl-C leaves a log that verifies', async () => {
    const dir = await tempDir();
    const demo = startDemo(['--agent', '--dir', dir], { cwd: dir });
    try {
      const at = await banner(demo);
      assert.equal(at.user, 'demo-approver');
      assert.equal(at.auditDb, path.join(dir, 'audit.db'));
      // The Claude Desktop configuration it prints is the one it wrote, and starts Sluice
      // on stdio with a configuration that loads.
      const desktop = JSON.parse(await readFile(path.join(dir, 'claude_desktop_config.json'), 'utf8'));
      const server = desktop.mcpServers['kubernetes-through-sluice'];
      assert.equal(server.command, sluiceBin);
      assert.ok(demo.output().includes(`"${server.args.at(-1)}"`), 'the printed snippet names the written configuration');
      const checked = await run(sluiceBin, ['policy', 'check', server.args.at(-1)]);
      assert.doesNotMatch(checked.stdout, /^listen:/m);

      await demo.waitFor(/agent: step 1: pods_list .*\nagent: {3}-> allowed, ran\n/);
      await demo.waitFor(/agent: {6}production\/checkout-\S+ CrashLoopBackOff, \d+ restarts/);
      await demo.waitFor(/agent: step 2: pods_log .*\n.*-> allowed, ran\n.*last line: .*PAYMENTS_API_URL/);
      await demo.waitFor(/agent: step 3: deployments_describe \(production\/checkout\)\n.*-> allowed, ran\n(?:agent: {6}.*\n)*?agent: {6}.*image registry\.example\.com\/shop\/checkout:2\.5\.0/);
      await demo.waitFor(/agent: step 4: deployments_rollout_restart \(staging\/checkout.*\n.*-> dry_run \(forwarded with dryRun: true\): DRY RUN \(nothing was changed\)/);
      await demo.waitFor(/agent: step 5: deployments_rollout_restart \(production\/checkout.*\n.*held for approval: approve it in the web UI at /);

      const api = await logIn(at.ui, at.user, at.password);
      const held = await pendingRequest(api, 'deployments_rollout_restart');
      assert.equal(held.rule, 'production-changes');
      assert.equal(held.principal, 'oncall-agent', 'the agent is named by its bearer token');
      assert.deepEqual(held.arguments, { namespace: 'production', name: 'checkout' });
      assert.doesNotMatch(demo.output(), /step 5[\s\S]*approved, ran/, 'the restart ran before anyone approved it');
      const vote = await api.post(`/api/approvals/${held.id}/approve`, { comment: 'restart it' });
      assert.equal(vote.status, 200, await vote.clone().text());

      await demo.waitFor(/-> approved, ran\n.*deployment production\/checkout restarted/);
      await demo.waitFor(/agent: step 6: pods_delete .*\n.*-> deny by rule no-deletions: Denied by Sluice policy/);
      await demo.waitFor(/agent: done\./);

      // The banner's Inspector CLI command works as printed.
      const [inspector] = await demo.waitFor(/\(cd \S+ && npx @modelcontextprotocol\/inspector-cli .* --method tools\/list\)/);
      const listed = await run('bash', ['-c', inspector], { cwd: os.tmpdir() });
      const names = JSON.parse(listed.stdout).tools.map((tool) => tool.name);
      assert.ok(names.includes('deployments_rollout_restart') && !names.includes('pods_delete'), names.join(', '));
      const anonymous = await fetch(at.mcpUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      assert.equal(anonymous.status, 401, 'the MCP endpoint answered a client without the token');

      assert.equal(await demo.stop('SIGINT'), 0);
      const [verify] = await demo.waitFor(/\S+ audit verify --db \S+/);
      assert.equal(verify, `${sluiceBin} audit verify --db ${at.auditDb}`);
      const verified = await run('bash', ['-c', verify]);
      assert.match(verified.stdout, /ok|verified/i);
      assert.ok(await refusesConnections(at.clusterUrl), 'the demo cluster still serves after Ctrl-C');
      assert.ok(await refusesConnections(new URL(at.mcpUrl)));
      assert.ok(!(await readFile(at.auditDb.replace(/audit\.db$/, 'sluice.yaml'), 'utf8')).includes(at.token),
        'the bearer token itself is in the configuration file');

      const events = await exportLog(at.auditDb);
      assert.ok(events.some((event) => event.kind === 'approval' && event.detail === 'approved by demo-approver'),
        'no approval by the demo approver');
      assert.ok(events.some((event) => event.kind === 'decision' && event.tool === 'pods_delete' && event.decision === 'deny'
        && event.rule === 'no-deletions'));
    } finally {
      await demo.stop('SIGKILL');
    }
  });

  test('Ctrl-C while the agent waits cancels the held call, stops the cluster, and says how to verify', async () => {
    const cwd = await tempDir();
    const demo = startDemo(['--agent'], { cwd });
    try {
      const at = await banner(demo);
      const [dir] = await readdir(cwd);
      assert.match(dir, /^sluice-demo-\d{8}-\d{6}$/);
      assert.equal(at.auditDb, path.join(cwd, dir, 'audit.db'));
      await demo.waitFor(/held for approval: approve it in the web UI/);
      const api = await logIn(at.ui, at.user, at.password);
      await pendingRequest(api, 'deployments_rollout_restart');

      assert.equal(await demo.stop('SIGTERM'), 0);
      assert.doesNotMatch(demo.output(), /approved, ran/);
      await demo.waitFor(/The demo has stopped\. Everything Sluice decided is in the audit log \S+audit\.db\nVerify its hash chain:\n/);
      await run(sluiceBin, ['audit', 'verify', '--db', at.auditDb]);
      assert.ok(await refusesConnections(at.clusterUrl), 'the demo cluster still serves after Ctrl-C');
      const events = await exportLog(at.auditDb);
      const approvals = events.filter((event) => event.kind === 'approval' && event.tool === 'deployments_rollout_restart');
      assert.deepEqual(approvals.map((event) => event.decision), ['pending', 'cancelled']);
    } finally {
      await demo.stop('SIGKILL');
    }
  });
});
