// Holding calls for approval, as an agent and an approver meet it: a real SDK client
// calls a mutating tool through Sluice, the call waits (kept alive by progress), and
// `sluice approvals` in another process approves or denies it; expiry and
// cancellation give their own answers, and nothing held reaches the upstream unless
// approved, exactly once, with the arguments that were held.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { connectClient, fixtureServer, sluiceBin, throughSluice } from '../support/harness.mjs';

const sluice = (...args) => spawnSync(sluiceBin, args, { encoding: 'utf8' });
const text = (result) => result.content.map((c) => c.text).join('');

function setup({ hold = 'wait' } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-approvals-'));
  const db = path.join(dir, 'audit.db');
  const config = path.join(dir, 'sluice.yaml');
  writeFileSync(
    config,
    `audit:\n  path: ${db}\napproval:\n  hold: ${hold}\n  progress_interval: 1s\npolicy:\n  default: allow\n  rules:\n` +
      '    - name: scaling\n      match: { tool: deployments_scale }\n      action: require_approval\n' +
      '      reason: scaling changes capacity\n' +
      '    - name: deletions\n      match: { tool: pods_delete }\n      action: require_approval\n' +
      '      approval: { timeout: 2s }\n',
  );
  return { dir, db, config, callLog: path.join(dir, 'calls.jsonl') };
}

async function agent(s, { principal = 'agent' } = {}) {
  const args = ['--config', s.config, ...(principal ? ['--principal', principal] : [])];
  const peer = await connectClient(throughSluice(fixtureServer('governed-server.mjs'), args), { env: { CALL_LOG: s.callLog } });
  await peer.connect();
  return peer.client;
}

const upstreamCalls = (s) =>
  existsSync(s.callLog) ? readFileSync(s.callLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];

const approvals = (s, ...flags) => {
  const run = sluice('approvals', 'list', '--db', s.db, '--json', ...flags);
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
};

// Waits, up to a deadline, until a request for `tool` is pending in the store.
async function pendingRequest(s, tool) {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    const found = approvals(s).find((r) => r.tool === tool);
    if (found) return found;
    await delay(50);
  }
  throw new Error(`no pending request for ${tool} within 15 s`);
}

const vote = (s, verb, id, comment) => sluice('approvals', verb, '--db', s.db, id, ...(comment ? ['--comment', comment] : []));

describe('hold: wait', () => {
  it('keeps the call open with progress past the client timeout, then runs it once with the held arguments', async () => {
    const s = setup();
    const client = await agent(s);
    const progress = [];
    const call = client.callTool({ name: 'deployments_scale', arguments: { name: 'web', replicas: 7 } }, undefined, {
      timeout: 2500,
      resetTimeoutOnProgress: true,
      onprogress: (p) => progress.push(p),
    });
    const request = await pendingRequest(s, 'deployments_scale');
    assert.equal(request.principal, 'agent');
    assert.equal(request.rule, 'scaling');
    assert.deepEqual(request.arguments, { name: 'web', replicas: 7 });
    // Held longer than the client's own 2.5 s timeout: progress keeps it waiting.
    const deadline = Date.now() + 15000;
    while (progress.length < 3 && Date.now() < deadline) await delay(50);
    assert.ok(progress.length >= 3, `${progress.length} progress notifications`);
    assert.match(progress[0].message, /waiting for approval \(request [0-9a-f]{8}/);
    assert.deepEqual(upstreamCalls(s), [], 'nothing reaches the upstream while held');

    const approve = vote(s, 'approve', request.id, 'looks right');
    assert.equal(approve.status, 0, approve.stderr);
    assert.match(approve.stdout, /is approved/);
    const result = await call;
    assert.equal(result.isError, undefined);
    assert.equal(text(result), 'deployments_scale ran with {"name":"web","replicas":7}');
    assert.deepEqual(upstreamCalls(s), [{ name: 'deployments_scale', arguments: { name: 'web', replicas: 7 } }]);
    await client.close();

    const [decided] = approvals(s, '--all');
    assert.equal(decided.state, 'approved');
    assert.equal(decided.consumed, true);
    assert.equal(decided.votes[0].comment, 'looks right');
    const verify = sluice('audit', 'verify', '--db', s.db);
    assert.equal(verify.status, 0, verify.stdout);
    const events = spawnSync('sqlite3', [s.db, "SELECT record FROM events WHERE kind = 'approval' ORDER BY seq"], { encoding: 'utf8' })
      .stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(events.map((e) => e.detail), ['requested', `approved by ${decided.votes[0].approver}`, 'consumed: the approved call is forwarded']);
  });

  it('a denial, an expiry and a cancellation each answer differently and never reach the upstream', async () => {
    const s = setup();
    const client = await agent(s);

    const denied = client.callTool({ name: 'deployments_scale', arguments: { name: 'web', replicas: 0 } });
    const request = await pendingRequest(s, 'deployments_scale');
    assert.equal(vote(s, 'deny', request.id, 'not during the sale').status, 0);
    const deniedResult = await denied;
    assert.equal(deniedResult.isError, true);
    assert.match(text(deniedResult), /^Denied by approver \S+: not during the sale \(approval request [0-9a-f]{32}, rule "scaling": scaling changes capacity\)/);

    const expired = await client.callTool({ name: 'pods_delete', arguments: { name: 'web-1' } });
    assert.equal(expired.isError, true);
    assert.match(text(expired), /timed out .* without a decision, so the call was not run\. This is not a denial/);
    assert.doesNotMatch(text(expired), /Denied/);

    const abort = new AbortController();
    const cancelled = client.callTool({ name: 'deployments_scale', arguments: { name: 'api', replicas: 3 } }, undefined, { signal: abort.signal });
    const held = await pendingRequest(s, 'deployments_scale');
    abort.abort();
    await assert.rejects(cancelled);
    const deadline = Date.now() + 15000;
    while (approvals(s, '--all').find((r) => r.id === held.id).state === 'pending' && Date.now() < deadline) await delay(50);
    assert.equal(approvals(s, '--all').find((r) => r.id === held.id).state, 'cancelled');
    // Approving it now is refused: a cancelled call is never run.
    const late = vote(s, 'approve', held.id);
    assert.equal(late.status, 1);
    assert.match(late.stderr, /already decided/);

    await client.close();
    assert.deepEqual(upstreamCalls(s), []);
    assert.deepEqual(approvals(s, '--all').map((r) => r.state).sort(), ['cancelled', 'denied', 'expired']);
    assert.equal(sluice('audit', 'verify', '--db', s.db).status, 0);
  });

  it('the principal that made a call cannot approve it (four eyes)', async () => {
    const s = setup();
    const client = await agent(s, { principal: null });  // the local user, who also runs the CLI
    const call = client.callTool({ name: 'deployments_scale', arguments: { name: 'web', replicas: 2 } }).catch((e) => e);
    const request = await pendingRequest(s, 'deployments_scale');
    const self = vote(s, 'approve', request.id);
    assert.equal(self.status, 1);
    assert.match(self.stderr, /four eyes/);
    assert.equal(approvals(s)[0].state, 'pending');
    await client.close();
    await call;
    assert.deepEqual(upstreamCalls(s), []);
  });
});

describe('hold: defer', () => {
  it('answers pending at once; the same call retried after approval runs once', async () => {
    const s = setup({ hold: 'defer' });
    const client = await agent(s);
    const call = { name: 'deployments_scale', arguments: { name: 'web', replicas: 4 } };
    const first = await client.callTool(call);
    assert.equal(first.isError, true);
    const id = text(first).match(/Approval request ([0-9a-f]{32}) is pending/)[1];
    assert.match(text(first), /Retry the same call, with the same arguments/);
    // A retry before the decision finds the same request, pending.
    assert.match(text(await client.callTool(call)), new RegExp(`Approval request ${id} is pending`));
    // Other arguments are another call.
    assert.doesNotMatch(text(await client.callTool({ ...call, arguments: { name: 'web', replicas: 40 } })), new RegExp(id));

    assert.equal(vote(s, 'approve', id).status, 0);
    const retried = await client.callTool(call);
    assert.equal(retried.isError, undefined);
    assert.equal(text(retried), 'deployments_scale ran with {"name":"web","replicas":4}');
    // The approval was used up: the next identical call asks again.
    const again = await client.callTool(call);
    assert.match(text(again), /is pending/);
    assert.doesNotMatch(text(again), new RegExp(id));
    await client.close();
    assert.deepEqual(upstreamCalls(s), [call]);
    assert.equal(sluice('audit', 'verify', '--db', s.db).status, 0);
  });
});
