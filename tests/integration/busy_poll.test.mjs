// `sluice run --busy-poll`: the event loop that polls instead of sleeping between
// messages relays exactly as the plain one does, on stdio and over HTTP, and still
// ends when the client or a signal ends it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  answerServerRequests,
  everythingServer,
  fixturePath,
  openAnswering,
  startSluiceHttp,
  throughSluice,
} from '../support/harness.mjs';

// server-everything does not exit when its stdin closes: a short grace keeps Sluice's
// wait for it (then SIGTERM to it) short, and inside the SDK's 2 s on stdio.
const busyPolling = ['--busy-poll', '50us', '--shutdown-grace', '300ms', '--config', fixturePath('allow-everything.yaml')];
const announced = /busy polling for up to 50us after each event before sleeping/;

// Calls one after another (each waits out the budget or wakes the loop) and then many
// at once, interleaved on the wire; every answer must be the one to its own call.
async function relaysCalls(client) {
  for (let i = 0; i < 20; i++) {
    const message = `sequential ${i}`;
    const result = await client.callTool({ name: 'echo', arguments: { message } });
    assert.equal(result.content[0].text, `Echo: ${message}`);
  }
  const messages = Array.from({ length: 32 }, (_, i) => `concurrent ${i}`);
  const results = await Promise.all(messages.map((message) => client.callTool({ name: 'echo', arguments: { message } })));
  assert.deepEqual(
    results.map((result) => result.content[0].text),
    messages.map((message) => `Echo: ${message}`),
  );
  const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2.5, b: 40 } });
  assert.match(sum.content[0].text, /42\.5/);
}

describe('sluice run --busy-poll 50us', () => {
  it('relays a real client and server on stdio, server-to-client requests included, and ends when the client closes', async () => {
    const peer = await openAnswering(throughSluice(everythingServer, busyPolling));
    await relaysCalls(peer.client);
    const sampled = await peer.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'Say hi', maxTokens: 5 } });
    assert.match(JSON.stringify(sampled), /sampled: [^"]*Say hi/);
    assert.equal(peer.serverRequests.length, 1);
    // The SDK closes Sluice's stdin and waits up to 2 s before it sends SIGTERM to
    // Sluice: the loop must end on the client's close, not on the signal.
    await peer.client.close();
    const stderr = peer.stderr.join('');
    assert.match(stderr, announced);
    assert.match(stderr, /client closed its input; stopping the upstream/);
    assert.doesNotMatch(stderr, /received Terminated/);
  });

  it('relays a real client over Streamable HTTP (--listen) and stops on SIGTERM', async () => {
    const sluice = await startSluiceHttp(everythingServer, busyPolling);
    try {
      assert.match(sluice.stderr(), announced);
      const client = new Client({ name: 'sluice-busy-poll-test', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } });
      answerServerRequests(client, []);
      await client.connect(new StreamableHTTPClientTransport(sluice.url));
      await relaysCalls(client);
      await client.close();
    } finally {
      assert.equal(await sluice.stop(), 0);
    }
  });
});
