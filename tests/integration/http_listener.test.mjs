// Sluice as a Streamable HTTP endpoint: the real SDK client's StreamableHTTPClientTransport
// against `sluice run --listen` in front of server-everything on stdio, compared with
// the same client talking to the server directly; then the HTTP rules a browser or a
// stranger meets (Origin, tokens, session ids, body size) and stream resumption.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  answerServerRequests,
  openAnswering,
  cancelledCallScenario,
  listToolPages,
  everythingServer,
  fixturePath,
  fixtureServer,
  sameOnBoth,
  serverIdentity,
  settledProgress,
  startSluiceHttp,
} from '../support/harness.mjs';

const allowEverything = ['--config', fixturePath('allow-everything.yaml')];
const capabilities = { sampling: {}, elicitation: {}, roots: { listChanged: true } };

async function openHttp(url) {
  const client = new Client({ name: 'sluice-http-test', version: '1.0.0' }, { capabilities });
  const serverRequests = [];
  answerServerRequests(client, serverRequests);
  const transport = new StreamableHTTPClientTransport(url);
  await client.connect(transport);
  return { client, transport, serverRequests };
}

// A config file in a fresh directory, for the listener settings a test needs.
function configFile(yaml) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'sluice-http-')), 'sluice.yaml');
  writeFileSync(file, yaml);
  return file;
}

const initialize = (id = 0, protocolVersion = '2025-11-25') => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw-http', version: '1' } },
});

function post(url, body, headers = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

// Reads SSE events off a fetch response body as they arrive.
async function* sseEvents(response) {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of response.body) {
    pending += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = pending.indexOf('\n\n')) !== -1) {
      const block = pending.slice(0, end);
      pending = pending.slice(end + 2);
      const event = { id: undefined, data: [] };
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) event.id = line.slice(4);
        if (line.startsWith('data: ')) event.data.push(line.slice(6));
      }
      if (event.id !== undefined || event.data.length > 0) {
        yield { id: event.id, data: event.data.join('\n') };
      }
    }
  }
}

// A raw session: initialize and initialized over plain fetch; returns its id.
async function rawSession(url, extraHeaders = {}, protocolVersion = '2025-11-25') {
  const response = await post(url, initialize(0, protocolVersion), extraHeaders);
  assert.equal(response.status, 200);
  const sessionId = response.headers.get('mcp-session-id');
  for await (const event of sseEvents(response)) if (event.data) break;
  const headers = { ...extraHeaders, 'mcp-session-id': sessionId, 'mcp-protocol-version': protocolVersion };
  const initialized = await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  assert.equal(initialized.status, 202);
  return headers;
}

describe('the SDK Streamable HTTP client sees the same server through Sluice as over stdio', () => {
  let sluice;
  let direct;
  let proxied;

  before(async () => {
    sluice = await startSluiceHttp(everythingServer, allowEverything);
    [direct, proxied] = await Promise.all([openAnswering(everythingServer), openHttp(sluice.url)]);
  });
  after(async () => {
    await Promise.all([direct?.client.close(), proxied?.client.close()]);
    assert.equal(await sluice?.stop(), 0);
  });

  const same = (scenario) => sameOnBoth(direct.client, proxied.client, scenario);

  it('initialize: server info, capabilities and instructions; a random session id', async () => {
    await same(serverIdentity);
    assert.match(proxied.transport.sessionId, /^[0-9a-f]{32}$/);
  });

  it('tools/list and tools/call', async () => {
    await same((client) => client.listTools());
    for (const [name, args] of [
      ['echo', { message: 'hello over HTTP ✓ "quoted" \\ back' }],
      ['get-sum', { a: 2.5, b: 40 }],
      ['get-structured-content', { location: 'Chicago' }],
      ['get-tiny-image', {}],
    ]) {
      await same((client) => client.callTool({ name, arguments: args }));
    }
  });

  it('a long call streams its progress as it happens, not at the end', async () => {
    const arrivals = [];
    const started = Date.now();
    const result = await proxied.client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 2, steps: 4 } },
      undefined,
      { onprogress: (p) => arrivals.push({ progress: p.progress, at: Date.now() - started }) },
    );
    const finished = Date.now() - started;
    assert.match(JSON.stringify(result), /Long running operation completed/);
    assert.ok(arrivals.length >= 3, `expected progress notifications, got ${JSON.stringify(arrivals)}`);
    // The server reports every 0.5 s: buffered, they would all arrive with the result.
    assert.ok(arrivals[0].at < finished - 1000, `first progress at ${arrivals[0].at} ms, result at ${finished} ms`);
    assert.ok(arrivals.at(-1).at - arrivals[0].at >= 900, `progress spread: ${JSON.stringify(arrivals)}`);
  });

  it('sampling, elicitation and roots from the server reach the client and back', async () => {
    const sampled = await same((client) =>
      client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'Say hi', maxTokens: 5 } }),
    );
    assert.match(JSON.stringify(sampled), /sampled: [^"]*Say hi/);
    await same((client) => client.callTool({ name: 'trigger-elicitation-request', arguments: {} }));
    const roots = await same((client) => client.callTool({ name: 'get-roots-list', arguments: {} }));
    assert.match(JSON.stringify(roots), /file:\/\/\/srv\/project/);
    for (const method of ['sampling/createMessage', 'elicitation/create', 'roots/list']) {
      assert.ok(proxied.serverRequests.some(([seen]) => seen === method), `${method} did not reach the HTTP client`);
    }
  });

  it('concurrent calls with progress and server requests in flight', async () => {
    await same(async (client) => {
      const progress = [];
      const results = await Promise.all([
        client.callTool(
          { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
          undefined,
          { onprogress: (p) => progress.push(p) },
        ),
        client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'concurrent', maxTokens: 5 } }),
        client.callTool({ name: 'echo', arguments: { message: 'meanwhile' } }),
        client.ping(),
      ]);
      return { results, progress: settledProgress(progress) };
    });
  });

  it('resources and prompts', async () => {
    const listed = await same((client) => client.listResources());
    await same((client) => client.readResource({ uri: listed.resources[0].uri }));
    await same((client) => client.listPrompts());
  });

  it('a cancelled call is abandoned and the session goes on', async () => {
    await same(cancelledCallScenario);
  });
});

describe('a paginated tools/list keeps its cursors over HTTP', () => {
  it('walks every page', async () => {
    const sluice = await startSluiceHttp(fixtureServer('paged-server.mjs'), allowEverything);
    try {
      const { client } = await openHttp(sluice.url);
      const pages = await listToolPages(client);
      await client.close();
      assert.equal(pages.length, 3);
      assert.deepEqual(pages.flatMap((p) => p.tools.map((t) => t.name)), ['alpha', 'bravo', 'charlie', 'delta', 'echo']);
    } finally {
      await sluice.stop();
    }
  });
});

describe('HTTP rules at the listener', () => {
  const token = 'correct horse battery staple';
  let sluice;

  before(async () => {
    const config = configFile(`listen:
  tokens: [{ principal: sre-agent, sha256: "${createHash('sha256').update(token).digest('hex')}" }]
  allowed_origins: ["http://localhost:*"]
  limits: { max_body_bytes: 65536 }
policy:
  default: allow
  rules: []
`);
    sluice = await startSluiceHttp(everythingServer, ['--config', config]);
  });
  after(async () => {
    assert.equal(await sluice?.stop(), 0);
  });

  const authorized = { authorization: `Bearer ${token}` };

  it('401 without a token or with a wrong one, with a WWW-Authenticate challenge', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: token }]) {
      const response = await post(sluice.url, initialize(), headers);
      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate'), /^Bearer/);
    }
  });

  it('the SDK client with the token works, and the session belongs to its principal', async () => {
    const client = new Client({ name: 'token-client', version: '1' }, { capabilities: {} });
    const transport = new StreamableHTTPClientTransport(sluice.url, { requestInit: { headers: authorized } });
    await client.connect(transport);
    const echoed = await client.callTool({ name: 'echo', arguments: { message: 'with a token' } });
    assert.match(JSON.stringify(echoed), /with a token/);
    await client.close();
    assert.match(sluice.stderr(), /opened for principal sre-agent/);
  });

  it('403 for an Origin that is not allowed, and for a Host that is not a loopback name', async () => {
    const origin = await post(sluice.url, initialize(), { ...authorized, origin: 'http://evil.example' });
    assert.equal(origin.status, 403);
    const allowed = await post(sluice.url, initialize(), { ...authorized, origin: 'http://localhost:3000' });
    assert.equal(allowed.status, 200);
    await allowed.body.cancel();
    // fetch() sets Host itself; node:http lets a test send what a rebinding page would.
    const hostStatus = await new Promise((resolve, reject) => {
      const req = httpRequest(sluice.url, {
        method: 'POST',
        headers: { ...authorized, host: 'evil.example.com', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      });
      req.on('response', (response) => {
        response.resume();
        resolve(response.statusCode);
      });
      req.on('error', reject);
      req.end(JSON.stringify(initialize()));
    });
    assert.equal(hostStatus, 403);
  });

  it('404 for an unknown session id, 400 without one; DELETE ends a session', async () => {
    const unknown = await post(sluice.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { ...authorized, 'mcp-session-id': 'f'.repeat(32) });
    assert.equal(unknown.status, 404);
    const missing = await post(sluice.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, authorized);
    assert.equal(missing.status, 400);

    const headers = await rawSession(sluice.url, authorized);
    const ping = await post(sluice.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { ...headers, accept: 'application/json' });
    assert.equal(ping.status, 200);
    assert.deepEqual(await ping.json(), { jsonrpc: '2.0', id: 1, result: {} });
    const badVersion = await post(sluice.url, { jsonrpc: '2.0', id: 2, method: 'ping' }, { ...headers, 'mcp-protocol-version': '1999-01-01' });
    assert.equal(badVersion.status, 400);
    const deleted = await fetch(sluice.url, { method: 'DELETE', headers });
    assert.equal(deleted.status, 200);
    // An empty body with its length: without it a keep-alive client waits for the
    // connection to close to know the response has ended.
    assert.equal(deleted.headers.get('content-length'), '0');
    assert.equal(await deleted.text(), '');
    const after = await post(sluice.url, { jsonrpc: '2.0', id: 3, method: 'ping' }, headers);
    assert.equal(after.status, 404);
  });

  it('413 for a body over the limit', async () => {
    const headers = await rawSession(sluice.url, authorized);
    const big = { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x'.repeat(70000) } } };
    const response = await post(sluice.url, big, headers);
    assert.equal(response.status, 413);
    await fetch(sluice.url, { method: 'DELETE', headers });
  });

  it('a broken stream resumes with Last-Event-ID and loses nothing', async () => {
    const headers = await rawSession(sluice.url, authorized);
    const call = {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'trigger-long-running-operation', arguments: { duration: 2, steps: 4 }, _meta: { progressToken: 'p7' } },
    };
    const controller = new AbortController();
    const first = await fetch(sluice.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify(call),
      signal: controller.signal,
    });
    assert.equal(first.status, 200);
    const seen = [];
    let lastId;
    try {
      for await (const event of sseEvents(first)) {
        lastId = event.id ?? lastId;
        if (event.data) seen.push(JSON.parse(event.data));
        // Break the connection after the first progress: the rest must come on resumption.
        if (seen.some((m) => m.method === 'notifications/progress')) controller.abort();
      }
    } catch (error) {
      assert.equal(error.name, 'AbortError');
    }
    assert.ok(lastId, 'the stream carries event ids');
    const resumed = await fetch(sluice.url, { headers: { ...headers, accept: 'text/event-stream', 'last-event-id': lastId } });
    assert.equal(resumed.status, 200);
    for await (const event of sseEvents(resumed)) {
      if (event.data) seen.push(JSON.parse(event.data));
    }
    const progress = seen.filter((m) => m.method === 'notifications/progress').map((m) => m.params.progress);
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b));
    assert.ok(progress.length >= 3, JSON.stringify(seen));
    assert.equal(new Set(progress).size, progress.length, 'no event was delivered twice');
    assert.equal(seen.at(-1).id, 7);
    assert.match(JSON.stringify(seen.at(-1).result), /Long running operation completed/);
    await fetch(sluice.url, { method: 'DELETE', headers });
  });
});
