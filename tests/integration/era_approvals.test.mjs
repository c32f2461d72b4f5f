// Approvals a 2026-07-28 client understands: a held call is answered input_required,
// with Sluice's own elicitation (what is held, by which rule, who may approve) and a
// requestState Sluice sealed. The client (the real v2 SDK) waits in its elicitation
// handler while an approver decides with `sluice approvals` in another process, then
// retries; Sluice forwards the call once it is approved, exactly once. A client's own
// "accept" approves nothing, and no forged, altered, rebound or replayed state, nor an
// answer to Sluice's prompt without Sluice's state, gets anything forwarded.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

import { RawPeer, approvalsListed, fixtureServer, sluiceBin, throughSluice } from '../support/harness.mjs';

const sluice = (...args) => spawnSync(sluiceBin, args, { encoding: 'utf8' });
const text = (result) => result.content.map((c) => c.text).join('');
const approvalKey = 'dev.sluice/approval';

function setup({ clientMayApprove = false, uiPort } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-era-approvals-'));
  const db = path.join(dir, 'audit.db');
  const config = path.join(dir, 'sluice.yaml');
  writeFileSync(
    config,
    `audit:\n  path: ${db}\napproval:\n  progress_interval: 1s\n  client_may_approve: ${clientMayApprove}\n` +
      'policy:\n  default: allow\n  rules:\n' +
      '    - name: scaling\n      match: { tool: deployments_scale }\n      action: require_approval\n' +
      '      reason: scaling changes capacity\n' +
      '    - name: deploys\n      match: { tool: deploy }\n      action: require_approval\n' +
      (uiPort ? `ui:\n  address: 127.0.0.1:${uiPort}\n` : ''),
  );
  return { dir, db, config };
}

// A loopback port nothing listens on right now, for the approval UI.
async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const sluiceArgs = (s) => ['--config', s.config, '--principal', 'agent'];
const vote = (s, verb, id) => sluice('approvals', verb, '--db', s.db, id);
const approvalIdIn = (message) => message.match(/request ([0-9a-f]{32})/)[1];

// A v2 SDK client pinned to 2026-07-28 through Sluice; `onApproval` plays the human at
// the client and gets the elicitation Sluice sent. Every message it receives is kept.
async function modernClient(s, onApproval, { elicitation = { form: {} }, era = 'modern' } = {}) {
  const command = throughSluice(fixtureServer('dual-era-server.mjs'), sluiceArgs(s));
  const transport = new StdioClientTransport({ command: command[0], args: command.slice(1), stderr: 'pipe' });
  const client = new Client(
    { name: 'era-approvals', version: '1.0.0' },
    { capabilities: { elicitation }, ...(era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {}) },
  );
  client.prompts = [];
  client.setRequestHandler('elicitation/create', async (request) => {
    client.prompts.push(request.params);
    return onApproval(request.params, client.prompts.length);
  });
  await client.connect(transport);
  client.wire = [];
  client.transcript = [];
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    client.wire.push(message);
    client.transcript.push(`<< ${JSON.stringify(message)}`);
    deliver(message, extra);
  };
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    client.transcript.push(`>> ${JSON.stringify(message)}`);
    return send(message, options);
  };
  client.reached = async (name) =>
    JSON.parse(text(await client.callTool({ name: 'calls_seen', arguments: {} }))).filter((c) => c.name === name);
  return client;
}

const scale = { name: 'deployments_scale', arguments: { namespace: 'prod-eu', name: 'web', replicas: 5 } };

// A client of `era` that declared URL mode, with the approval UI running: the human
// at the client is sent to the call's page, where an approver approves (here with the
// CLI). Returns the elicitation Sluice sent.
async function approvedAtUrl(era) {
  const port = await freePort();
  const s = setup({ uiPort: port });
  const client = await modernClient(
    s,
    (params) => {
      assert.equal(vote(s, 'approve', approvalIdIn(params.message)).status, 0);
      return { action: 'accept' };
    },
    { era, elicitation: { form: {}, url: {} } },
  );
  try {
    const result = await client.callTool(scale);
    assert.match(text(result), /deployments_scale ran/);
    assert.equal((await client.reached('deployments_scale')).length, 1);
    const [prompt] = client.prompts;
    assert.equal(prompt.mode, 'url');
    assert.equal(prompt.url, `http://127.0.0.1:${port}/approvals/${approvalIdIn(prompt.message)}`);
    return prompt;
  } finally {
    await client.close();
  }
}

describe('a 2026-07-28 client that declared elicitation, holding a call for approval', () => {
  it('is told in the protocol what is held and who may approve, and the call runs once approved', async () => {
    const s = setup();
    const client = await modernClient(s, (params) => {
      // The human at the client asks an approver, who approves with the CLI.
      const approved = vote(s, 'approve', approvalIdIn(params.message));
      assert.equal(approved.status, 0, approved.stderr);
      return { action: 'accept', content: {} };
    });
    const result = await client.callTool(scale);
    assert.equal(result.isError, undefined);
    assert.match(text(result), /deployments_scale ran with {"namespace":"prod-eu","name":"web","replicas":5}/);
    assert.equal(client.prompts.length, 1);
    const [prompt] = client.prompts;
    assert.equal(prompt.mode, 'form');
    assert.match(prompt.message, /holds tools\/call "deployments_scale" with arguments {"name":"web","namespace":"prod-eu","replicas":5}/);
    assert.match(prompt.message, /rule "scaling": scaling changes capacity/);
    assert.match(prompt.message, /Answering here does not approve it/);
    const round = client.wire.find((m) => m.result?.resultType === 'input_required');
    assert.deepEqual(Object.keys(round.result.inputRequests), [approvalKey]);
    assert.match(round.result.requestState, /^sluice\.v1\./);
    assert.deepEqual((await client.reached('deployments_scale')).length, 1);
    await client.close();
    // docs/protocol.md shows this exchange; SLUICE_TRANSCRIPT=FILE writes it out.
    if (process.env.SLUICE_TRANSCRIPT) writeFileSync(process.env.SLUICE_TRANSCRIPT, client.transcript.join('\n') + '\n');
  });

  it("does not take the client's accept for an approval: still pending, it asks again after a bounded wait", async () => {
    const s = setup();
    const client = await modernClient(s, (params, round) => {
      if (round === 2) assert.equal(vote(s, 'approve', approvalIdIn(params.message)).status, 0);
      return { action: 'accept', content: {} };
    });
    const result = await client.callTool(scale);
    assert.match(text(result), /deployments_scale ran/);
    assert.equal(client.prompts.length, 2, 'the first accept approved nothing');
    assert.equal(approvalIdIn(client.prompts[0].message), approvalIdIn(client.prompts[1].message), 'one approval per call');
    assert.equal((await client.reached('deployments_scale')).length, 1);
    await client.close();
  });

  it("sends a client that declared URL mode to the call's page in the approval UI", async () => {
    const prompt = await approvedAtUrl('modern');
    assert.equal(prompt.elicitationId, undefined, '2026-07-28 learns the outcome by the retry');
  });

  it('gets the denial, distinct from a pending or expired call, when an approver denies', async () => {
    const s = setup();
    const client = await modernClient(s, (params) => {
      assert.equal(vote(s, 'deny', approvalIdIn(params.message)).status, 0);
      return { action: 'accept', content: {} };
    });
    const result = await client.callTool(scale);
    assert.equal(result.isError, true);
    assert.match(text(result), /^Denied by approver .* The call was not run\./);
    assert.deepEqual(await client.reached('deployments_scale'), []);
    await client.close();
  });

  it('cancels the approval request when the human at the client declines', async () => {
    const s = setup();
    const client = await modernClient(s, () => ({ action: 'decline' }));
    try {
      const result = await client.callTool(scale);
      assert.equal(result.isError, true);
      assert.match(text(result), /was cancelled \(the client declined at Sluice's approval prompt\)/);
      await approvalsListed(s.db, /"state":"cancelled"/);
      assert.deepEqual(await client.reached('deployments_scale'), []);
    } finally {
      await client.close();
    }
  });

  it('with approval.client_may_approve, takes the form accept at the client as the approval', async () => {
    const s = setup({ clientMayApprove: true });
    const client = await modernClient(s, (params) => {
      assert.equal(params.requestedSchema.properties.approve.type, 'boolean');
      return { action: 'accept', content: { approve: true } };
    });
    const result = await client.callTool(scale);
    assert.match(text(result), /deployments_scale ran/);
    const sql = "SELECT json_extract(record, '$.principal') FROM events WHERE kind = 'approval' AND json_extract(record, '$.decision') = 'approved' AND json_extract(record, '$.reason') LIKE 'approved at the client%' ORDER BY seq LIMIT 1";
    const approvedBy = spawnSync('sqlite3', [s.db, sql], { encoding: 'utf8' });
    assert.equal(approvedBy.stdout.trim(), 'agent', 'the approval is audited with the principal at the client');
    await client.close();
  });
});

describe('a held call whose upstream then asks the client a question of its own', () => {
  it('is approved once, and the upstream round that follows is the same call', async () => {
    // deploy is held by Sluice, and once released the upstream asks for confirmation
    // with an input_required round of its own: the retry of that round is not held again.
    const s = setup();
    const client = await modernClient(s, (params) => {
      if (/holds tools\/call/.test(params.message)) {
        assert.equal(vote(s, 'approve', approvalIdIn(params.message)).status, 0);
        return { action: 'accept', content: {} };
      }
      return { action: 'accept', content: { confirm: true } };
    });
    const result = await client.callTool({ name: 'deploy', arguments: { env: 'prod' } });
    assert.match(text(result), /deploy ran with {"env":"prod"}/);
    assert.deepEqual(
      client.prompts.map((p) => (/holds tools\/call/.test(p.message) ? 'sluice' : p.message)),
      ['sluice', 'Deploy to prod?'],
    );
    const requested = spawnSync('sqlite3', [s.db, "SELECT count(*) FROM approvals WHERE json_extract(record, '$.tool') = 'deploy'"], { encoding: 'utf8' });
    assert.equal(Number(requested.stdout.trim()), 1, 'one approval request for the call');
    assert.equal((await client.reached('deploy')).length, 1);
    await client.close();
  });
});

describe('a 2025 client that declared elicitation, holding a call for approval', () => {
  it("gets Sluice's own elicitation/create while the call waits, and the call runs once approved", async () => {
    const s = setup();
    const client = await modernClient(
      s,
      (params) => {
        assert.equal(vote(s, 'approve', approvalIdIn(params.message)).status, 0);
        return { action: 'accept', content: {} };
      },
      { era: 'legacy' },
    );
    assert.equal(client.getProtocolEra(), 'legacy');
    const result = await client.callTool(scale);
    assert.match(text(result), /deployments_scale ran/);
    assert.equal(client.prompts.length, 1);
    assert.match(client.prompts[0].message, /holds tools\/call "deployments_scale"/);
    assert.equal(client.wire.some((m) => m.result?.resultType), false, 'no 2026 vocabulary on a 2025 connection');
    assert.equal((await client.reached('deployments_scale')).length, 1);
    await client.close();
  });

  it("sends a client that declared URL mode to the call's page in the approval UI, the elicitation named by the approval", async () => {
    const prompt = await approvedAtUrl('legacy');
    assert.equal(prompt.elicitationId, approvalIdIn(prompt.message));
  });

  it('cancels the approval request when the human at the client declines, and says so', async () => {
    const s = setup();
    const client = await modernClient(s, () => ({ action: 'decline' }), { era: 'legacy' });
    const result = await client.callTool(scale);
    assert.equal(result.isError, true);
    assert.match(text(result), /was cancelled \(the client declined at Sluice's approval prompt\)/);
    assert.deepEqual(await client.reached('deployments_scale'), []);
    await client.close();
  });
});

describe("Sluice's requestState cannot be forged", () => {
  const meta = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
    'io.modelcontextprotocol/clientInfo': { name: 'forger', version: '1' },
  };
  let nextId = 1;
  const call = (peer, extra, args = scale.arguments) => {
    const id = nextId++;
    peer.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: scale.name, arguments: args, _meta: meta, ...extra } });
    return peer.next((m) => m.id === id, `the answer to ${id}`);
  };
  const refusedWith = (answer, pattern) => {
    assert.equal(answer.error?.code, -32602, JSON.stringify(answer));
    assert.match(answer.error.message, pattern);
    assert.match(answer.error.message, /nothing was forwarded/);
  };
  const accept = { [approvalKey]: { action: 'accept', content: {} } };

  it('refuses a forged, an altered, a rebound and a replayed ticket, and an answer without one; none reaches the upstream', async () => {
    const s = setup();
    const peer = new RawPeer(throughSluice(fixtureServer('dual-era-server.mjs'), sluiceArgs(s)));
    const first = await call(peer, {});
    assert.equal(first.result.resultType, 'input_required');
    const ticket = first.result.requestState;

    refusedWith(await call(peer, { inputResponses: accept }), /without Sluice's requestState/);
    refusedWith(await call(peer, { inputResponses: accept, requestState: 'sluice.v1.e30=.00' }), /not one Sluice issued/);
    const [body, mac] = [ticket.slice(0, ticket.lastIndexOf('.')), ticket.slice(ticket.lastIndexOf('.') + 1)];
    const payload = JSON.parse(Buffer.from(body.slice('sluice.v1.'.length), 'base64').toString());
    const altered = `sluice.v1.${Buffer.from(JSON.stringify({ ...payload, principal: 'root' })).toString('base64')}.${mac}`;
    refusedWith(await call(peer, { inputResponses: accept, requestState: altered }), /not one Sluice issued/);
    refusedWith(
      await call(peer, { inputResponses: accept, requestState: ticket }, { ...scale.arguments, replicas: 500 }),
      /issued for another call or caller/,
    );

    // The real ticket, once approved, releases the call once; its replay is refused.
    assert.equal(vote(s, 'approve', payload.approval).status, 0);
    const released = await call(peer, { inputResponses: accept, requestState: ticket });
    assert.match(released.result.content[0].text, /deployments_scale ran/);
    refusedWith(await call(peer, { inputResponses: accept, requestState: ticket }), /already released its one call/);

    peer.send({ jsonrpc: '2.0', id: 999, method: 'tools/call', params: { name: 'calls_seen', arguments: {}, _meta: meta } });
    const calls = JSON.parse((await peer.next((m) => m.id === 999, 'calls_seen')).result.content[0].text);
    assert.deepEqual(calls.map((c) => c.arguments.replicas), [5], 'only the approved call ran');
    peer.child.stdin.end();
    await peer.exited;
    const refused = spawnSync('sqlite3', [s.db, "SELECT count(*) FROM events WHERE kind = 'decision' AND json_extract(record, '$.outcome') = 'refused'"], { encoding: 'utf8' });
    assert.equal(Number(refused.stdout.trim()), 5, 'every refusal is in the audit log');
  });
});

describe("a held call that carries the upstream's own requestState", () => {
  it("is answered with Sluice's state wrapping the upstream's, and the released call gives the upstream its state back", async () => {
    // A retry of an upstream round this Sluice never saw (another Sluice answered it, or
    // it restarted since) is decided afresh, and here held: Sluice's sealed state carries
    // the upstream's, so that neither is lost.
    const s = setup();
    const peer = new RawPeer(throughSluice(fixtureServer('dual-era-server.mjs'), sluiceArgs(s)));
    const meta = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
      'io.modelcontextprotocol/clientInfo': { name: 'wrapped', version: '1' },
    };
    const confirm = { confirm: { action: 'accept', content: { confirm: true } } };
    const deploy = (id, extra) => {
      peer.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'deploy', arguments: { env: 'prod' }, _meta: meta, ...extra } });
      return peer.next((m) => m.id === id, `the answer to ${id}`);
    };
    try {
      const held = await deploy(1, { inputResponses: confirm, requestState: 'deploy:prod' });
      assert.equal(held.result.resultType, 'input_required');
      assert.deepEqual(Object.keys(held.result.inputRequests), [approvalKey]);
      const ticket = held.result.requestState;
      const body = ticket.slice('sluice.v1.'.length, ticket.lastIndexOf('.'));
      const payload = JSON.parse(Buffer.from(body, 'base64').toString());
      assert.equal(payload.upstreamState, 'deploy:prod', "the upstream's state rides inside Sluice's");

      assert.equal(vote(s, 'approve', payload.approval).status, 0);
      const released = await deploy(2, { inputResponses: { ...confirm, [approvalKey]: { action: 'accept', content: {} } }, requestState: ticket });
      assert.match(released.result.content[0].text, /deploy ran with {"env":"prod"}/, JSON.stringify(released));
      peer.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'calls_seen', arguments: {}, _meta: meta } });
      const calls = JSON.parse((await peer.next((m) => m.id === 3, 'calls_seen')).result.content[0].text);
      assert.deepEqual(calls.filter((c) => c.name === 'deploy').length, 1);
    } finally {
      peer.child.stdin.end();
      await peer.exited;
    }
  });
});
