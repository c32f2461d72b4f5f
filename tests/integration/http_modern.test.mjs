// 2026-07-28 requests on Sluice's Streamable HTTP listener, beside 2025 sessions on the
// same endpoint. A v2 SDK client pinned to 2026-07-28 and a 2025 client go through ONE
// Sluice to the dual-era fixture server (on stdio, and served over HTTP), and are
// governed alike: filtered lists, allow, deny, namespaces, dry runs, approval through
// input_required (approved with the CLI while the client waits), forged state refused.
// Raw POSTs show each header rule (400 with -32020, -32022, -32602), and closing a
// request's stream cancels the call upstream, or withdraws its held approval.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

import { approvalsListed, fixtureServer, sluiceBin, startEverythingHttp, startSluiceHttp } from '../support/harness.mjs';

const MODERN = '2026-07-28';
const approvalKey = 'dev.sluice/approval';
const text = (result) => result.content.map((c) => c.text).join('');
const sluice = (...args) => spawnSync(sluiceBin, args, { encoding: 'utf8' });
const approvalIdIn = (message) => message.match(/request ([0-9a-f]{32})/)[1];

function setup(upstreamUrl) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-http-modern-'));
  const db = path.join(dir, 'audit.db');
  const config = path.join(dir, 'sluice.yaml');
  writeFileSync(
    config,
    (upstreamUrl ? `upstream:\n  url: ${upstreamUrl}\n` : '') +
      `audit:\n  path: ${db}\napproval:\n  progress_interval: 1s\n` +
      `policy:
  mode: enforce
  default: allow
  namespaces:
    allow: [default, "prod-*"]
    arguments: [namespace]
  rules:
    - name: no-deletes
      match: { tool: "*_delete" }
      action: deny
      reason: deletions need a human at a terminal
    - name: prod-changes
      match: { tool: "deployments_*", args: { namespace: "prod-*" } }
      action: require_approval
      reason: production changes need an SRE lead
    - { name: previews, match: { tool: configmap_apply }, action: dry_run, reason: previewed first }
dry_run:
  argument: dryRun
`,
  );
  return { dir, db, config };
}

// The dual-era fixture served over Streamable HTTP; resolves with its URL.
async function startFixtureHttp(...flags) {
  const child = spawn(process.execPath, [fixtureServer('dual-era-server.mjs')[1], '--http', ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (code) => reject(new Error(`the fixture exited with ${code}: ${stderr}`)));
  });
  return { url, child, stderr: () => stderr, stop: async () => (child.kill('SIGTERM'), await once(child, 'exit')) };
}

// Resolves once `pattern` shows up in what `read()` returns, which grows with `emitter`'s data.
function waitFor(emitter, read, pattern, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 8000);
    const check = () => {
      if (pattern.test(read())) {
        clearTimeout(timer);
        emitter.off('data', check);
        resolve();
      }
    };
    emitter.on('data', check);
    check();
  });
}

async function open(url, era, onApproval) {
  const client = new Client(
    { name: `http-${era}`, version: '1.0.0' },
    { capabilities: { elicitation: { form: {} } }, ...(era === 'modern' ? { versionNegotiation: { mode: { pin: MODERN } } } : {}) },
  );
  client.prompts = [];
  client.setRequestHandler('elicitation/create', async (request) => {
    client.prompts.push(request.params);
    return onApproval ? onApproval(request.params) : { action: 'decline' };
  });
  await client.connect(new StreamableHTTPClientTransport(url));
  client.seen = async () => JSON.parse(text(await client.callTool({ name: 'calls_seen', arguments: {} })));
  return client;
}

const meta = (capabilities = {}) => ({
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': capabilities,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
});

let nextId = 1;
// One raw 2026-07-28 POST: the body, and the headers it calls for unless `headers` overrides them.
function modernPost(url, method, params, { headers = {}, signal, accept = 'application/json, text/event-stream' } = {}) {
  const id = nextId++;
  const body = { jsonrpc: '2.0', id, method, params };
  const mirrored = { 'MCP-Protocol-Version': params._meta?.['io.modelcontextprotocol/protocolVersion'] ?? MODERN, 'Mcp-Method': method };
  if (params.name !== undefined) mirrored['Mcp-Name'] = params.name;
  const all = { 'Content-Type': 'application/json', Accept: accept, ...mirrored, ...headers };
  for (const [name, value] of Object.entries(all)) if (value === undefined) delete all[name];
  return fetch(url, { method: 'POST', headers: all, body: JSON.stringify(body), signal });
}

async function rpcError(response) {
  const body = await response.json();
  return { status: response.status, code: body.error?.code, message: body.error?.message, data: body.error?.data };
}

for (const upstream of ['stdio', 'http']) {
  describe(`a 2026-07-28 client and a 2025 client through one Sluice HTTP listener (${upstream} upstream)`, () => {
    let s;
    let fixture;
    let proxy;
    let modern;
    let legacy;

    before(async () => {
      if (upstream === 'http') fixture = await startFixtureHttp();
      s = setup(fixture?.url);
      proxy = await startSluiceHttp(fixture ? [] : fixtureServer('dual-era-server.mjs'), ['--config', s.config]);
      const approve = (params) => {
        const voted = sluice('approvals', 'approve', '--db', s.db, approvalIdIn(params.message));
        assert.equal(voted.status, 0, voted.stderr);
        return { action: 'accept', content: {} };
      };
      [modern, legacy] = await Promise.all([open(proxy.url, 'modern', approve), open(proxy.url, 'legacy')]);
    });
    after(async () => {
      await Promise.all([modern?.close(), legacy?.close()]);
      assert.equal(await proxy?.stop(), 0);
      await fixture?.stop();
    });

    it('speaks each client its own era, on the same endpoint', async () => {
      assert.equal(modern.getProtocolEra(), 'modern');
      assert.equal(legacy.getProtocolEra(), 'legacy');
      await modern.callTool({ name: 'pods_list', arguments: { namespace: 'default' } });
      const seen = (await modern.seen()).filter((c) => c.name === 'pods_list');
      assert.deepEqual(seen.map((c) => c.era), ['modern']);
    });

    it('filters both lists alike', async () => {
      for (const client of [modern, legacy]) {
        const names = (await client.listTools()).tools.map((t) => t.name);
        assert.ok(!names.includes('pods_delete'), 'pods_delete is denied outright');
        for (const name of ['pods_list', 'deployments_scale', 'configmap_apply', 'pods_logs']) assert.ok(names.includes(name), name);
      }
    });

    it('allows, denies, refuses a namespace and dry-runs alike', async () => {
      for (const client of [modern, legacy]) {
        assert.match(text(await client.callTool({ name: 'pods_list', arguments: { namespace: 'prod-eu' } })), /pods_list ran/);
        const denied = await client.callTool({ name: 'pods_delete', arguments: { namespace: 'default', name: 'web-1' } });
        assert.equal(denied.isError, true);
        assert.match(text(denied), /rule "no-deletes"/);
        const outside = await client.callTool({ name: 'pods_list', arguments: { namespace: 'kube-system' } });
        assert.match(text(outside), /namespace "kube-system" is not in the allowlist/);
        const simulated = await client.callTool({ name: 'configmap_apply', arguments: { namespace: 'default', data: 'x' } });
        assert.match(text(simulated), /^DRY RUN: Sluice did not run this call/);
      }
      const reached = (await modern.seen()).map((c) => c.name);
      assert.ok(!reached.includes('pods_delete') && !reached.includes('configmap_apply'), reached.join());
    });

    it('holds a modern call through input_required until an approver approves with the CLI, then runs it once', async () => {
      const scale = { name: 'deployments_scale', arguments: { namespace: 'prod-eu', name: 'web', replicas: 4 } };
      const result = await modern.callTool(scale);
      assert.match(text(result), /deployments_scale ran with {"namespace":"prod-eu","name":"web","replicas":4}/);
      assert.equal(modern.prompts.length, 1);
      assert.match(modern.prompts[0].message, /rule "prod-changes": production changes need an SRE lead/);
      const ran = (await modern.seen()).filter((c) => c.name === 'deployments_scale');
      assert.equal(ran.length, 1);
    });

    it('answers a held call input_required, never a task, when the client opted into tasks: no later request could reach the task', async () => {
      const capabilities = { elicitation: { form: {} }, extensions: { 'io.modelcontextprotocol/tasks': {} } };
      const params = { name: 'deployments_scale', arguments: { namespace: 'prod-eu', name: 'tasked', replicas: 2 }, _meta: meta(capabilities) };
      const answer = await (await modernPost(proxy.url, 'tools/call', params, { accept: 'application/json' })).json();
      assert.equal(answer.result?.resultType, 'input_required', JSON.stringify(answer));
      assert.ok(answer.result.inputRequests[approvalKey], JSON.stringify(answer.result));
    });

    it('refuses a forged or altered requestState, and forwards nothing', async () => {
      const args = { namespace: 'prod-eu', name: 'api', replicas: 9 };
      const params = (extra) => ({ name: 'deployments_scale', arguments: args, _meta: meta({ elicitation: { form: {} } }), ...extra });
      const first = await (await modernPost(proxy.url, 'tools/call', params({}), { accept: 'application/json' })).json();
      assert.equal(first.result.resultType, 'input_required');
      const ticket = first.result.requestState;
      const accept = { [approvalKey]: { action: 'accept', content: {} } };
      const tampered = ticket.slice(0, -2) + (ticket.endsWith('A') ? 'BB' : 'AA');
      for (const state of ['sluice.v1.e30=.00', tampered]) {
        const answer = await (await modernPost(proxy.url, 'tools/call', params({ inputResponses: accept, requestState: state }))).text();
        assert.match(answer, /not one Sluice issued/);
      }
      const ran = (await modern.seen()).filter((c) => c.name === 'deployments_scale' && c.arguments.name === 'api');
      assert.deepEqual(ran, []);
    });

    it('checks every Mcp-* header against the body: 400 with -32020, -32022 or -32602', async () => {
      const call = (args) => ({ name: 'pods_logs', arguments: args, _meta: meta() });
      const cases = [
        ['no Mcp-Method', 'tools/call', call({ namespace: 'default', name: 'a' }), { 'Mcp-Method': undefined, 'Mcp-Param-Namespace': 'default' }, -32020],
        ['Mcp-Method that is not the body method', 'tools/call', call({ namespace: 'default', name: 'a' }), { 'Mcp-Method': 'tools/list', 'Mcp-Param-Namespace': 'default' }, -32020],
        ['no Mcp-Name', 'tools/call', call({ namespace: 'default', name: 'a' }), { 'Mcp-Name': undefined, 'Mcp-Param-Namespace': 'default' }, -32020],
        ['Mcp-Name of another tool', 'tools/call', call({ namespace: 'default', name: 'a' }), { 'Mcp-Name': 'pods_list', 'Mcp-Param-Namespace': 'default' }, -32020],
        ['no MCP-Protocol-Version', 'tools/call', call({ namespace: 'default', name: 'a' }), { 'MCP-Protocol-Version': undefined, 'Mcp-Param-Namespace': 'default' }, -32020],
        ['MCP-Protocol-Version other than _meta', 'tools/call', call({ namespace: 'default', name: 'a' }), { 'MCP-Protocol-Version': '2025-11-25', 'Mcp-Param-Namespace': 'default' }, -32020],
        ['no Mcp-Param-Namespace for an x-mcp-header argument', 'tools/call', call({ namespace: 'default', name: 'a' }), {}, -32020],
        ['Mcp-Param-Namespace that is not the argument', 'tools/call', call({ namespace: 'default', name: 'a' }), { 'Mcp-Param-Namespace': 'prod-eu' }, -32020],
        ['Mcp-Param-Namespace whose base64 is not UTF-8', 'tools/call', call({ namespace: 'default', name: 'a' }), { 'Mcp-Param-Namespace': '=?base64?/w==?=' }, -32020],
        ['an Mcp-Param-* header the schema does not declare', 'tools/call', call({ namespace: 'default', name: 'a' }), { 'Mcp-Param-Namespace': 'default', 'Mcp-Param-Pod': 'a' }, -32020],
        ['an unsupported version', 'tools/list', { _meta: { ...meta(), 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } }, {}, -32022],
        ['no clientCapabilities in _meta', 'tools/list', { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } }, {}, -32602],
      ];
      await modern.listTools(); // Sluice learns pods_logs' x-mcp-header from a list it relays
      for (const [what, method, params, headers, code] of cases) {
        const answer = await rpcError(await modernPost(proxy.url, method, params, { headers }));
        assert.equal(answer.status, 400, what);
        assert.equal(answer.code, code, `${what}: ${answer.message}`);
      }
      const unsupported = await rpcError(
        await modernPost(proxy.url, 'tools/list', { _meta: { ...meta(), 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } }),
      );
      assert.deepEqual(unsupported.data, { supported: [MODERN], requested: '2099-01-01' });
      const reached = (await modern.seen()).filter((c) => c.name === 'pods_logs');
      assert.deepEqual(reached, [], 'no refused request reached the upstream');
      if (fixture) {
        // The upstream itself insists on Mcp-Param-Namespace: the calls below that pass
        // through Sluice show that Sluice sets it from the body.
        const direct = await modernPost(fixture.url, 'tools/call', call({ namespace: 'default', name: 'a' }));
        assert.equal(direct.status, 400);
      }

      // The right headers pass, a base64-sentinel value included, and so does the SDK client.
      const plain = await modernPost(proxy.url, 'tools/call', call({ namespace: 'default', name: 'a' }), { headers: { 'Mcp-Param-Namespace': 'default' } });
      assert.equal(plain.status, 200);
      assert.equal(plain.headers.get('content-type'), 'application/json', 'a bare answer is JSON, though the client takes a stream');
      const encoded = `=?base64?${Buffer.from('prod-ü').toString('base64')}?=`;
      const sentinel = await modernPost(proxy.url, 'tools/call', call({ namespace: 'prod-ü', name: 'b' }), { headers: { 'Mcp-Param-Namespace': encoded } });
      assert.equal(sentinel.status, 200, await sentinel.clone().text());
      assert.match(text(await modern.callTool({ name: 'pods_logs', arguments: { namespace: 'default', name: 'c' } })), /pods_logs ran/);
    });

    it('answers a notification 202, and refuses a response a client POSTs without a session', async () => {
      const note = await fetch(proxy.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'Mcp-Method': 'notifications/initialized' },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized', params: { _meta: meta() } }),
      });
      assert.equal(note.status, 202);
      const response = await fetch(proxy.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 5, result: {} }),
      });
      assert.equal(response.status, 400);
    });

    it("relays a subscriptions/listen stream whose messages name the client's own listen request", async () => {
      const abort = new AbortController();
      const body = { jsonrpc: '2.0', id: 'listen-7', method: 'subscriptions/listen', params: { notifications: { toolsListChanged: true }, _meta: meta() } };
      const response = await fetch(proxy.url, {
        method: 'POST',
        signal: abort.signal,
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'subscriptions/listen' },
        body: JSON.stringify(body),
      });
      assert.equal(response.headers.get('content-type'), 'text/event-stream');
      const reader = response.body.getReader();
      let events = '';
      while (!/subscriptions\/acknowledged/.test(events)) {
        const { value, done } = await reader.read();
        assert.ok(!done, events);
        events += Buffer.from(value).toString();
      }
      assert.match(events, /"io.modelcontextprotocol\/subscriptionId":"listen-7"/);
      abort.abort();
    });

    it('cancels the upstream call when the client closes the request stream', async () => {
      const abort = new AbortController();
      const tag = `t${nextId}`;
      const pending = modernPost(proxy.url, 'tools/call', { name: 'wait_for_cancel', arguments: { tag }, _meta: meta() }, { signal: abort.signal });
      const log = upstream === 'http' ? fixture.child.stderr : proxy.child.stderr;
      const read = upstream === 'http' ? fixture.stderr : proxy.stderr;
      await waitFor(log, read, new RegExp(`call wait_for_cancel \\{"tag":"${tag}"\\}`), 'the call to reach the upstream');
      abort.abort();
      await assert.rejects(pending.then((r) => r.text()));
      await waitFor(log, read, new RegExp(`cancelled wait_for_cancel ${tag}`), 'the upstream to see the cancellation');
    });

    it('keeps a held call waiting on its own event stream, with progress, and withdraws it when the client closes the stream', async () => {
      const abort = new AbortController();
      // No elicitation declared: approval.hold auto falls back to waiting, with progress
      // on the request's stream.
      const args = { namespace: 'prod-us', name: 'held', replicas: 2 };
      const params = { name: 'deployments_scale', arguments: args, _meta: { ...meta(), progressToken: 'held-1' } };
      const response = await modernPost(proxy.url, 'tools/call', params, { signal: abort.signal });
      assert.equal(response.headers.get('content-type'), 'text/event-stream');
      assert.equal(response.headers.get('x-accel-buffering'), 'no');
      assert.equal(response.headers.get('mcp-session-id'), null, '2026-07-28 has no sessions');
      const reader = response.body.getReader();
      let events = '';
      while (!/notifications\/progress/.test(events)) {
        const { value, done } = await reader.read();
        assert.ok(!done, `the stream ended before any progress: ${events}`);
        events += Buffer.from(value).toString();
      }
      assert.match(events, /"progressToken":"held-1"/);
      assert.match(events, /waiting for approval/);
      abort.abort();
      await approvalsListed(s.db, /"state":"cancelled"/);
      const ran = (await modern.seen()).filter((c) => c.name === 'deployments_scale' && c.arguments.name === 'held');
      assert.deepEqual(ran, []);
    });
  });
}

describe('a modern HTTP upstream whose tools a 2025 session listed first', () => {
  it("gets the Mcp-Param-* headers of the first modern call, from the upstream's own schema", async () => {
    const fixture = await startFixtureHttp();
    const proxy = await startSluiceHttp([], ['--config', setup(fixture.url).config]);
    try {
      const legacy = await open(proxy.url, 'legacy');
      await legacy.listTools();
      await legacy.close();
      const params = { name: 'pods_logs', arguments: { namespace: 'default', name: 'first' }, _meta: meta() };
      const response = await modernPost(proxy.url, 'tools/call', params, { headers: { 'Mcp-Param-Namespace': 'default' } });
      const body = await response.json();
      assert.match(body.result?.content?.[0]?.text ?? '', /pods_logs ran/, JSON.stringify(body));
    } finally {
      await proxy.stop();
      await fixture.stop();
    }
  });
});

describe('a listener at its limit of 2026-07-28 requests', () => {
  it('answers the next one 503 while the first is in flight', async () => {
    const s = setup();
    writeFileSync(s.config, `listen:\n  limits:\n    max_sessions: 1\n`, { flag: 'a' });
    const proxy = await startSluiceHttp(fixtureServer('dual-era-server.mjs'), ['--config', s.config]);
    const abort = new AbortController();
    try {
      const pending = modernPost(proxy.url, 'tools/call', { name: 'wait_for_cancel', arguments: { tag: 'limit' }, _meta: meta() }, { signal: abort.signal });
      await waitFor(proxy.child.stderr, proxy.stderr, /call wait_for_cancel \{"tag":"limit"\}/, 'the first call to reach the upstream');
      const refused = await modernPost(proxy.url, 'tools/list', { _meta: meta() });
      assert.equal(refused.status, 503);
      abort.abort();
      await assert.rejects(pending.then((r) => r.text()));
    } finally {
      await proxy.stop();
    }
  });
});

describe('across the eras, where one side speaks only one', () => {
  it('tells a 2026-07-28 client that the HTTP upstream speaks only 2025, and a 2025 client that it speaks only 2026-07-28', async () => {
    const everything = await startEverythingHttp();
    const modernOnly = await startFixtureHttp('--modern-only');
    const toLegacy = await startSluiceHttp([], ['--config', setup(everything.url).config]);
    const toModern = await startSluiceHttp([], ['--config', setup(modernOnly.url).config]);
    try {
      const answer = await (await modernPost(toLegacy.url, 'tools/list', { _meta: meta() }, { accept: 'application/json' })).json();
      assert.match(answer.error?.message ?? '', /does not speak 2026-07-28/, JSON.stringify(answer));
      const client = new Client({ name: 'legacy', version: '1.0.0' }, { capabilities: {} });
      await assert.rejects(client.connect(new StreamableHTTPClientTransport(toModern.url)), /speaks only the 2026-07-28 revision/);
      const modern = await open(toModern.url, 'modern');
      assert.match(text(await modern.callTool({ name: 'pods_list', arguments: { namespace: 'default' } })), /pods_list ran/);
      await modern.close();
    } finally {
      await Promise.all([toLegacy.stop(), toModern.stop()]);
      everything.child.kill('SIGTERM');
      await modernOnly.stop();
    }
  });
});
