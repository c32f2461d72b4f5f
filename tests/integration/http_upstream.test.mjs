// Sluice as a Streamable HTTP client of a remote server (upstream.url): the real SDK
// client, over stdio and over HTTP, through Sluice to server-everything in its
// streamableHttp mode, compared with the same client on server-everything over stdio.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import {
  answerServerRequests,
  openAnswering,
  cancelledCallScenario,
  connectClient,
  everythingServer,
  freePort,
  sameOnBoth,
  serverIdentity,
  settledProgress,
  sluiceBin,
  startEverythingHttp,
  startSluiceHttp,
} from '../support/harness.mjs';

// The configuration's header value comes from here, through ${VAR} expansion.
process.env.SLUICE_TEST_VALUE = 'expanded';

function upstreamConfig(url) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'sluice-upstream-')), 'sluice.yaml');
  writeFileSync(
    file,
    `upstream:\n  name: everything-http\n  url: ${url}\n  headers: { X-Sluice-Test: "\${SLUICE_TEST_VALUE}" }\npolicy:\n  default: allow\n  rules: []\n`,
  );
  return file;
}

describe('the SDK client over stdio, through Sluice, to a Streamable HTTP server', () => {
  let remote;
  let direct;
  let proxied;

  before(async () => {
    remote = await startEverythingHttp();
    const config = upstreamConfig(remote.url);
    [direct, proxied] = await Promise.all([
      openAnswering(everythingServer),
      // The whole environment, so that ${SLUICE_TEST_VALUE} in the configuration expands.
      openAnswering([sluiceBin, '--log-level', 'debug', 'run', '--config', config], { env: {} }),
    ]);
  });
  after(async () => {
    await Promise.all([direct?.client.close(), proxied?.client.close()]);
    remote?.child.kill();
  });

  const same = (scenario) => sameOnBoth(direct.client, proxied.client, scenario);

  it('initialize, tools/list and calls', async () => {
    await same(serverIdentity);
    await same((client) => client.listTools());
    await same((client) => client.callTool({ name: 'echo', arguments: { message: 'to a remote server' } }));
    await same((client) => client.callTool({ name: 'get-structured-content', arguments: { location: 'Chicago' } }));
  });

  it('a long call with progress, sampling and elicitation from the remote server', async () => {
    await same(async (client) => {
      const progress = [];
      const result = await client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
        undefined,
        { onprogress: (p) => progress.push(p) },
      );
      return { result, progress: settledProgress(progress) };
    });
    const sampled = await same((client) =>
      client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'Say hi', maxTokens: 5 } }),
    );
    assert.match(JSON.stringify(sampled), /sampled: [^"]*Say hi/);
    await same((client) => client.callTool({ name: 'trigger-elicitation-request', arguments: {} }));
  });

  it('a cancelled call is abandoned and the session goes on', async () => {
    await same(cancelledCallScenario);
  });
});

describe('the SDK client over HTTP, through Sluice, to a Streamable HTTP server', () => {
  it('calls a tool and answers a sampling request', async () => {
    const remote = await startEverythingHttp();
    const sluice = await startSluiceHttp([], ['--config', upstreamConfig(remote.url)]).catch((error) => {
      remote.child.kill();
      throw error;
    });
    try {
      const client = new Client({ name: 'http-to-http', version: '1' }, { capabilities: { sampling: {}, elicitation: {}, roots: {} } });
      const log = [];
      answerServerRequests(client, log);
      await client.connect(new StreamableHTTPClientTransport(sluice.url));
      const echoed = await client.callTool({ name: 'echo', arguments: { message: 'HTTP both ways' } });
      assert.match(JSON.stringify(echoed), /HTTP both ways/);
      const sampled = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'both', maxTokens: 5 } });
      assert.match(JSON.stringify(sampled), /sampled: [^"]*both/);
      await client.close();
    } finally {
      await sluice.stop();
      remote.child.kill();
    }
  });
});

// A TCP relay to `port` that breaks, once, the connection that carries the answer to
// `marker` in the middle of the second event that mentions `breakAt` (the first passes,
// so the client has an event id to resume from); it records every Last-Event-ID a
// client sent through it.
async function startBreakingRelay(port, marker, breakAt) {
  const relay = { lastEventIds: [], broken: false };
  relay.server = createServer((client) => {
    const server = connect(port, '127.0.0.1');
    let carriesMarker = false;
    let seen = 0;
    client.on('data', (chunk) => {
      const text = chunk.toString();
      carriesMarker ||= text.includes(marker);
      for (const found of text.matchAll(/^last-event-id: *(\S+)/gim)) relay.lastEventIds.push(found[1]);
      server.write(chunk);
    });
    server.on('data', (chunk) => {
      const text = chunk.toString();
      const first = text.indexOf(breakAt);
      const second = first === -1 ? -1 : seen > 0 ? first : text.indexOf(breakAt, first + 1);
      if (first !== -1) seen += 1;
      if (carriesMarker && !relay.broken && second !== -1) {
        relay.broken = true;
        client.end(text.slice(0, second));  // half an event: never delivered, the rest must be resumed
        server.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on('error', () => server.destroy());
    server.on('error', () => client.destroy());
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  });
  relay.server.listen(0, '127.0.0.1');
  await once(relay.server, 'listening');
  relay.url = `http://127.0.0.1:${relay.server.address().port}/mcp`;
  return relay;
}

describe('an upstream event stream that breaks', () => {
  it('is resumed with Last-Event-ID, and nothing is lost or delivered twice', async () => {
    const remote = await startEverythingHttp();
    const port = new URL(remote.url).port;
    const relay = await startBreakingRelay(port, 'trigger-long-running-operation', 'notifications/progress');
    const peer = await openAnswering([sluiceBin, '--log-level', 'info', 'run', '--config', upstreamConfig(relay.url)], { env: {} });
    try {
      // What reaches the client, in order. Not the SDK's onprogress: it handles
      // notifications a microtask later than responses, so progress that arrives in one
      // read with the result (as replayed events do) reaches a handler already removed.
      const received = [];
      const deliver = peer.transport.onmessage;
      peer.transport.onmessage = (message, extra) => {
        received.push(message);
        deliver(message, extra);
      };
      const result = await peer.client.callTool({
        name: 'trigger-long-running-operation',
        arguments: { duration: 1, steps: 4 },
        _meta: { progressToken: 'resume-me' },
      });
      assert.match(JSON.stringify(result), /Long running operation completed/);
      assert.equal(relay.broken, true, 'the relay never broke the stream');
      assert.ok(relay.lastEventIds.length >= 1, 'no GET with Last-Event-ID went to the server');
      const progress = received
        .filter((m) => m.method === 'notifications/progress' && m.params.progressToken === 'resume-me')
        .map((m) => m.params.progress);
      assert.deepEqual(progress, [1, 2, 3, 4], 'every progress notification, once, in order');
      const lastProgress = received.findLastIndex((m) => m.method === 'notifications/progress');
      const answered = received.findIndex((m) => !m.method && m.result?.content);
      assert.ok(answered > lastProgress, 'the result comes after its progress');
      assert.match(peer.stderr.join(''), /an event stream broke; resuming after event \S+ \(attempt 1 of 3\)/);
    } finally {
      await peer.client.close();
      relay.server.close();
      remote.child.kill();
    }
  });
});

describe('an unreachable upstream', () => {
  it('fails the client\'s initialize and says why in the log', async () => {
    const config = upstreamConfig(`http://127.0.0.1:${await freePort()}/mcp`);
    const peer = await connectClient([sluiceBin, 'run', '--config', config], { env: {} });
    const outcome = await peer.connect().then(
      () => 'connected',
      (error) => String(error),
    );
    assert.notEqual(outcome, 'connected');
    assert.match(peer.stderr.join(''), /cannot connect/);
  });
});
