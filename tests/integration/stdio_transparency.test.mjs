// Sluice's first promise: between a real SDK client and a real server, it changes
// nothing it was not asked to change. Every scenario runs against server-everything
// directly and through `sluice run`, and the two results must be equal.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  openAnswering,
  cancelledCallScenario,
  listToolPages,
  connectClient,
  everythingServer,
  fixturePath,
  fixtureServer,
  sameOnBoth,
  serverIdentity,
  settledProgress,
  throughSluice,
} from '../support/harness.mjs';

// A policy that allows everything: what is left to see is Sluice itself.
const allowEverything = ['--config', fixturePath('allow-everything.yaml')];

describe('a real SDK client sees the same server through Sluice as directly', () => {
  let direct;
  let proxied;

  before(async () => {
    [direct, proxied] = await Promise.all([openAnswering(everythingServer), openAnswering(throughSluice(everythingServer, allowEverything))]);
  });
  after(async () => {
    await Promise.all([direct?.client.close(), proxied?.client.close()]);
  });

  const same = (scenario) => sameOnBoth(direct.client, proxied.client, scenario);

  it('initialize: server info, capabilities and instructions', async () => {
    await same(serverIdentity);
  });

  it('tools/list', async () => {
    const listed = await same((client) => client.listTools());
    assert.ok(listed.tools.some((tool) => tool.name === 'echo'));
  });

  it('tools/call: echo, sums, structured content and images', async () => {
    for (const [name, args] of [
      ['echo', { message: 'hello through sluice ✓ "quoted" \\ back' }],
      ['get-sum', { a: 2.5, b: 40 }],
      ['get-structured-content', { location: 'Chicago' }],
      ['get-tiny-image', {}],
      ['get-annotated-message', { messageType: 'success', includeImage: true }],
      ['get-resource-links', { count: 4 }],
      ['get-resource-reference', { resourceType: 'Blob', resourceId: 2 }],
    ]) {
      await same((client) => client.callTool({ name, arguments: args }));
    }
  });

  it('a long-running tool reports the same progress notifications', async () => {
    const run = await same(async (client) => {
      const progress = [];
      const result = await client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 4 } },
        undefined,
        { onprogress: (p) => progress.push(p) },
      );
      return { result, progress: settledProgress(progress) };
    });
    assert.ok(run.progress.length >= 2, `expected progress notifications, got ${run.progress.length}`);
  });

  it('a tool that samples from the client: server->client request and its response', async () => {
    const result = await same((client) =>
      client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'Say hi', maxTokens: 5 } }),
    );
    assert.match(JSON.stringify(result), /sampled: [^"]*Say hi/);
  });

  it('a tool that elicits from the client', async () => {
    await same((client) => client.callTool({ name: 'trigger-elicitation-request', arguments: {} }));
    assert.ok(proxied.serverRequests.some(([method]) => method === 'elicitation/create'));
  });

  it('a tool that lists the client roots', async () => {
    const result = await same((client) => client.callTool({ name: 'get-roots-list', arguments: {} }));
    assert.match(JSON.stringify(result), /file:\/\/\/srv\/project/);
  });

  it('server->client requests and progress in flight at once, interleaved with other calls', async () => {
    await same(async (client) => {
      const progress = [];
      const results = await Promise.all([
        client.callTool(
          { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
          undefined,
          { onprogress: (p) => progress.push(p) },
        ),
        client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'concurrent', maxTokens: 5 } }),
        client.callTool({ name: 'trigger-elicitation-request', arguments: {} }),
        client.callTool({ name: 'echo', arguments: { message: 'meanwhile' } }),
        client.ping(),
      ]);
      return { results, progress: settledProgress(progress) };
    });
  });

  it('resources: list, templates, read (text and blob)', async () => {
    const listed = await same((client) => client.listResources());
    await same((client) => client.listResourceTemplates());
    for (const resource of listed.resources) {
      await same((client) => client.readResource({ uri: resource.uri }));
    }
    await same((client) => client.readResource({ uri: 'demo://resource/dynamic/text/7' }));
    await same((client) => client.readResource({ uri: 'demo://resource/dynamic/blob/3' }));
  });

  it('prompts: list, get with arguments, completion', async () => {
    const listed = await same((client) => client.listPrompts());
    for (const prompt of listed.prompts) {
      const args = Object.fromEntries((prompt.arguments ?? []).map((a) => [a.name, a.name === 'resourceId' ? '1' : 'x']));
      if (prompt.name === 'resource-prompt') args.resourceType = 'Text';
      await same((client) => client.getPrompt({ name: prompt.name, arguments: args }));
    }
    await same((client) =>
      client.complete({ ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: { name: 'department', value: 'E' } }),
    );
  });

  it('logging/setLevel and ping', async () => {
    await same((client) => client.setLoggingLevel('debug'));
    await same((client) => client.ping());
  });

  it('a cancelled call is abandoned and the session goes on', async () => {
    await same(cancelledCallScenario);
  });
});

describe('a paginated tools/list keeps its cursors through Sluice', () => {
  it('walks every page the same way', async () => {
    const walk = async (command) => {
      const peer = await connectClient(fixtureServer('paged-server.mjs'));
      const proxiedPeer = command === 'proxied' ? await connectClient(throughSluice(fixtureServer('paged-server.mjs'), allowEverything)) : null;
      const { client } = proxiedPeer ?? peer;
      await (proxiedPeer ?? peer).connect();
      const pages = await listToolPages(client);
      await client.close();
      return pages;
    };
    const [direct, proxied] = await Promise.all([walk('direct'), walk('proxied')]);
    assert.equal(direct.length, 3);
    assert.deepEqual(proxied, direct);
    assert.deepEqual(proxied.flatMap((p) => p.tools.map((t) => t.name)), ['alpha', 'bravo', 'charlie', 'delta', 'echo']);
  });
});
