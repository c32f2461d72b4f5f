// Tasks as an approval channel. A client that opted into tasks (a 2026-07-28 client
// that declares the io.modelcontextprotocol/tasks extension on its call, or a 2025
// client whose tools/call carries `task`) has a task of Sluice's at once for a call
// held for approval: `working`, with a status message that says what it waits for.
// It polls (tasks/get), or blocks on tasks/result (2025), while an approver decides
// with `sluice approvals` in another process; the call then runs once and the task
// completes with the upstream's result. tasks/cancel withdraws the approval request.
// The upstream's own tasks pass through untouched, beside Sluice's. Real v2 SDK
// clients, the project's dual-era fixture server and server-everything.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { z } from 'zod';

import { everythingServer, fixtureServer, keepWire, sluiceBin, throughSluice } from '../support/harness.mjs';

const sluice = (...args) => spawnSync(sluiceBin, args, { encoding: 'utf8' });
const text = (result) => result.content.map((c) => c.text).join('');
const tasksExtension = 'io.modelcontextprotocol/tasks';
const anyResult = z.looseObject({});

function setup(rules) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-era-tasks-'));
  const db = path.join(dir, 'audit.db');
  const config = path.join(dir, 'sluice.yaml');
  writeFileSync(
    config,
    `audit:\n  path: ${db}\napproval:\n  progress_interval: 1s\npolicy:\n  default: allow\n  rules:\n${rules}`,
  );
  return { db, config };
}

const scalingRule =
  '    - name: scaling\n      match: { tool: deployments_scale }\n      action: require_approval\n' +
  '      reason: scaling changes capacity\n';
const vote = (s, verb, id) => sluice('approvals', verb, '--db', s.db, id);
const sql = (s, query) => spawnSync('sqlite3', [s.db, query], { encoding: 'utf8' }).stdout.trim();

// A v2 SDK client through Sluice in `era`, declaring tasks the way its era does;
// every message it receives is kept as it came on the wire.
async function taskClient(s, server, era) {
  const command = throughSluice(server, ['--config', s.config, '--principal', 'agent']);
  const transport = new StdioClientTransport({ command: command[0], args: command.slice(1), stderr: 'pipe' });
  const client = new Client(
    { name: 'era-tasks', version: '1.0.0' },
    era === 'modern'
      ? { capabilities: { extensions: { [tasksExtension]: {} } }, versionNegotiation: { mode: { pin: '2026-07-28' } } }
      : { capabilities: { tasks: { list: {}, cancel: {} } } },
  );
  await client.connect(transport);
  keepWire(client, transport);
  client.send = (method, params) => client.request({ method, params }, anyResult);
  client.reached = async (name) =>
    JSON.parse(text(await client.callTool({ name: 'calls_seen', arguments: {} }))).filter((c) => c.name === name);
  return client;
}

const scale = { name: 'deployments_scale', arguments: { namespace: 'prod-eu', name: 'web', replicas: 5 } };
const approvalIdIn = (message) => message.match(/request ([0-9a-f]{32})/)[1];
const rawResult = (client, predicate) => client.wire.find((m) => m.result && predicate(m.result))?.result;

// The v2 SDK 2.4 client has no runtime for the tasks extension: it refuses a
// `resultType: "task"` answer to tools/call (UNSUPPORTED_RESULT_TYPE) once it has
// arrived, so the task is read from the wire. tasks/get and tasks/cancel it sends like
// any extension method.
async function callForTask(client, params) {
  await assert.rejects(client.send('tools/call', params), (error) => error.code === 'UNSUPPORTED_RESULT_TYPE');
  return rawResult(client, (r) => r.resultType === 'task');
}

// Polls tasks/get at the interval the task suggests until it leaves `working`.
async function pollUntilEnded(client, task) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const state = await client.send('tasks/get', { taskId: task.taskId });
    if (state.status !== 'working' || Date.now() > deadline) return state;
    await new Promise((resolve) => setTimeout(resolve, task.pollIntervalMs));
  }
}

describe('a 2026-07-28 client that declared the tasks extension, holding a call for approval', () => {
  it('gets a task of Sluice\'s at once, polls it while an approver decides, and the task completes with the result', async () => {
    const s = setup(scalingRule);
    const client = await taskClient(s, fixtureServer('dual-era-server.mjs'), 'modern');
    try {
      const task = await callForTask(client, scale);
      assert.ok(task, 'the held call is answered with a task');
      assert.equal(task.status, 'working');
      assert.match(task.taskId, /^[0-9a-f]{32}$/);
      assert.equal(task.pollIntervalMs, 1000);
      assert.ok(task.ttlMs > 0);
      const approval = approvalIdIn(task.statusMessage);
      assert.match(task.statusMessage, /^Held for approval by Sluice policy \(rule "scaling": scaling changes capacity\)/);
      assert.match(task.statusMessage, new RegExp(`sluice approvals approve ${approval}`));
      assert.deepEqual(await client.reached('deployments_scale'), [], 'nothing runs before the approval');

      const polled = await client.send('tasks/get', { taskId: task.taskId });
      assert.equal(polled.status, 'working');
      assert.equal(rawResult(client, (r) => r.taskId === task.taskId && r.resultType === 'complete').status, 'working');

      const approved = vote(s, 'approve', approval);
      assert.equal(approved.status, 0, approved.stderr);
      const ended = await pollUntilEnded(client, task);
      assert.equal(ended.status, 'completed', JSON.stringify(ended));
      assert.match(text(ended.result), /deployments_scale ran with {"namespace":"prod-eu","name":"web","replicas":5}/);
      const reached = await client.reached('deployments_scale');
      assert.equal(reached.length, 1, 'the approved call ran exactly once');
      assert.equal(reached[0].era, 'modern');
    } finally {
      await client.close();
    }
    assert.equal(sql(s, "SELECT count(*) FROM events WHERE kind = 'decision' AND tool = 'deployments_scale'"), '1');
    assert.equal(sql(s, "SELECT count(*) FROM events WHERE kind = 'outcome' AND tool = 'deployments_scale'"), '1');
  });

  it('cancels the approval request with tasks/cancel, audited, and the call never runs', async () => {
    const s = setup(scalingRule);
    const client = await taskClient(s, fixtureServer('dual-era-server.mjs'), 'modern');
    try {
      const task = await callForTask(client, scale);
      const approval = approvalIdIn(task.statusMessage);
      await client.send('tasks/cancel', { taskId: task.taskId });
      const cancelled = await client.send('tasks/get', { taskId: task.taskId });
      assert.equal(cancelled.status, 'cancelled');
      assert.match(cancelled.statusMessage, /approval request [0-9a-f]{32} is cancelled, and the call did not run/);
      await assert.rejects(client.send('tasks/cancel', { taskId: task.taskId }), /already ended \(cancelled\)/);
      // The audit writer thread records the cancellation just after the answer may have
      // gone out: wait for it, within a deadline. Then it is cancelled for good: an
      // approver can no longer release the call.
      const comment = `SELECT json_extract(record, '$.comment') FROM approvals WHERE json_extract(record, '$.id') = '${approval}'`;
      const deadline = Date.now() + 5000;
      while (!sql(s, comment).includes(task.taskId) && Date.now() < deadline) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.match(sql(s, comment), new RegExp(`the client cancelled task ${task.taskId}`));
      assert.notEqual(vote(s, 'approve', approval).status, 0);
      assert.deepEqual(await client.reached('deployments_scale'), []);
    } finally {
      await client.close();
    }
  });
});

describe('a 2025 client whose tools/call asks for a task, holding the call for approval', () => {
  it('blocks on tasks/result until an approver decides, and gets exactly what the call returned', async () => {
    const s = setup(scalingRule);
    const client = await taskClient(s, fixtureServer('dual-era-server.mjs'), 'legacy');
    try {
      assert.equal(client.getProtocolEra(), 'legacy');
      const created = await client.send('tools/call', { ...scale, task: { ttl: 60000 } });
      assert.equal(created.task.status, 'working');
      assert.equal(created.task.pollInterval, 1000);
      assert.equal(created.resultType, undefined);
      const outcome = client.send('tasks/result', { taskId: created.task.taskId });
      assert.equal(vote(s, 'approve', approvalIdIn(created.task.statusMessage)).status, 0);
      const result = await outcome;
      assert.match(text(result), /deployments_scale ran with/);
      assert.deepEqual(result._meta['io.modelcontextprotocol/related-task'], { taskId: created.task.taskId });
      const statuses = client.wire
        .filter((m) => m.method === 'notifications/tasks/status' && m.params.taskId === created.task.taskId)
        .map((m) => m.params.status);
      assert.deepEqual(statuses, ['working', 'completed'], 'approved (still working), then completed');
      assert.equal((await client.reached('deployments_scale')).length, 1);
    } finally {
      await client.close();
    }
  });

  it('ends the task with the denial, distinct from an expiry, and the call never runs', async () => {
    const s = setup(scalingRule);
    const client = await taskClient(s, fixtureServer('dual-era-server.mjs'), 'legacy');
    try {
      const created = await client.send('tools/call', { ...scale, task: {} });
      assert.equal(vote(s, 'deny', approvalIdIn(created.task.statusMessage)).status, 0);
      const result = await client.send('tasks/result', { taskId: created.task.taskId });
      assert.equal(result.isError, true);
      assert.match(text(result), /^Denied by approver .* The call was not run\./);
      const ended = await client.send('tasks/get', { taskId: created.task.taskId });
      assert.equal(ended.status, 'completed', 'the call was answered (by Sluice): not a JSON-RPC failure');
      assert.match(ended.statusMessage, /^Denied by approver/);
      assert.deepEqual(await client.reached('deployments_scale'), []);
    } finally {
      await client.close();
    }
  });
});

describe("the upstream's own tasks, beside Sluice's", () => {
  it('pass through untouched: created, polled and fetched from the upstream; tasks/list shows both', async () => {
    // server-everything's simulate-research-query is a task of its own (taskSupport: required).
    const rule = '    - name: echoes\n      match: { tool: echo }\n      action: require_approval\n';
    const s = setup(rule);
    const client = await taskClient(s, everythingServer, 'legacy');
    try {
      const theirs = await client.send('tools/call', { name: 'simulate-research-query', arguments: { topic: 'tides' }, task: { ttl: 60000 } });
      const ours = await client.send('tools/call', { name: 'echo', arguments: { message: 'hi' }, task: {} });
      assert.notEqual(theirs.task.taskId, ours.task.taskId);
      assert.doesNotMatch(theirs.task.statusMessage ?? '', /Sluice/);
      const polled = await client.send('tasks/get', { taskId: theirs.task.taskId });
      assert.equal(polled.taskId, theirs.task.taskId);
      const listed = (await client.send('tasks/list', {})).tasks.map((t) => t.taskId);
      assert.ok(listed.includes(theirs.task.taskId) && listed.includes(ours.task.taskId), JSON.stringify(listed));
      const report = await client.send('tasks/result', { taskId: theirs.task.taskId });
      assert.match(text(report), /Research Report: tides/);
      await client.send('tasks/cancel', { taskId: ours.task.taskId });
    } finally {
      await client.close();
    }
  });
});
