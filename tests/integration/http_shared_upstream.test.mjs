// upstream.shared: every HTTP session through one server-everything child. Two real SDK
// Streamable HTTP clients at once, whose request ids collide (both number from 0): each
// gets its own answers and its own progress, one child process serves both, and one
// client leaving does not stop the child for the other.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { answerServerRequests, everythingServer, startSluiceHttp } from '../support/harness.mjs';

function sharedConfig() {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'sluice-shared-')), 'sluice.yaml');
  writeFileSync(file, 'upstream:\n  shared: true\npolicy:\n  default: allow\n  rules: []\n');
  return file;
}

async function openHttp(url, name) {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {}, roots: {} } });
  client.serverRequests = [];
  answerServerRequests(client, client.serverRequests);
  const transport = new StreamableHTTPClientTransport(url);
  await client.connect(transport);
  return client;
}

// The pids of a process's children, from /proc.
function childrenOf(pid) {
  const pids = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (text) pids.push(...text.split(/\s+/).map(Number));
  }
  return pids;
}

const echoed = (result) => result.content[0].text;

describe('HTTP sessions sharing one upstream child', () => {
  let sluice;
  let first;
  let second;

  before(async () => {
    sluice = await startSluiceHttp(everythingServer, ['--config', sharedConfig()]);
    [first, second] = await Promise.all([openHttp(sluice.url, 'first'), openHttp(sluice.url, 'second')]);
  });
  after(async () => {
    await Promise.all([first?.close(), second?.close()]);
    assert.equal(await sluice?.stop(), 0);
  });

  it('both sessions see the server and one child process serves them', async () => {
    assert.equal(first.getServerVersion().name, second.getServerVersion().name);
    assert.equal(childrenOf(sluice.child.pid).length, 1);
  });

  it('colliding request ids get each session its own answers', async () => {
    const calls = [];
    for (let i = 0; i < 10; ++i) {
      calls.push(first.callTool({ name: 'echo', arguments: { message: `first ${i}` } }));
      calls.push(second.callTool({ name: 'echo', arguments: { message: `second ${i}` } }));
    }
    const results = (await Promise.all(calls)).map(echoed);
    for (let i = 0; i < 10; ++i) {
      assert.equal(results[2 * i], `Echo: first ${i}`);
      assert.equal(results[2 * i + 1], `Echo: second ${i}`);
    }
  });

  it('progress goes to the session whose call it is', async () => {
    const progress = { first: [], second: [] };
    const call = (client, steps, log) =>
      client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 1, steps } },
        undefined,
        { onprogress: (p) => log.push(p) },
      );
    await Promise.all([call(first, 3, progress.first), call(second, 5, progress.second)]);
    // Each saw only its own operation's totals.
    assert.ok(progress.first.length >= 2 && progress.first.every((p) => p.total === 3), JSON.stringify(progress));
    assert.ok(progress.second.length >= 4 && progress.second.every((p) => p.total === 5), JSON.stringify(progress));
  });

  it("the server's elicitation during a call goes to the client that made the call", async () => {
    const asked = (client) => client.serverRequests.filter(([method]) => method === 'elicitation/create').length;
    const before = { first: asked(first), second: asked(second) };
    const result = await second.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    assert.match(JSON.stringify(result.content), /decline/i);
    assert.equal(asked(second), before.second + 1);
    assert.equal(asked(first), before.first);
  });

  it('a session that leaves does not stop the child for the others', async () => {
    const [child] = childrenOf(sluice.child.pid);
    await first.close();
    first = undefined;
    const result = await second.callTool({ name: 'echo', arguments: { message: 'still here' } });
    assert.equal(echoed(result), 'Echo: still here');
    assert.deepEqual(childrenOf(sluice.child.pid), [child]);
    const third = await openHttp(sluice.url, 'third');
    assert.equal(echoed(await third.callTool({ name: 'echo', arguments: { message: 'late' } })), 'Echo: late');
    assert.deepEqual(childrenOf(sluice.child.pid), [child]);
    await third.close();
  });
});
