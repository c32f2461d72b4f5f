// `sluice run --ui` between a real SDK client (the agent) and a real SDK server, with
// an audit store, for the browser tests. A held call is the agent's tools/call; what
// the approver did is read back from the store with `sluice approvals`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { connectClient, sluiceBin, throughSluice } from './harness.mjs';

export const deadline = 15_000;

export class UiBackend {
  // `config(db)` is the configuration's text for the audit log at `db`; `server` the
  // upstream's command; the upstream appends every call it receives to CALL_LOG.
  static async start({ config, server, sluiceArgs = [], env = {} }) {
    const backend = new UiBackend();
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-e2e-'));
    backend.db = path.join(dir, 'audit.db');
    backend.callLog = path.join(dir, 'calls.jsonl');
    const configFile = path.join(dir, 'sluice.yaml');
    writeFileSync(configFile, config(backend.db));
    backend.peer = await connectClient(throughSluice(server, ['--config', configFile, '--ui', '127.0.0.1:0', ...sluiceArgs]), {
      env: { CALL_LOG: backend.callLog, ...env },
    });
    await backend.peer.connect();
    backend.url = await backend.until(() => backend.peer.stderr.join('').match(/approval web UI on (http:\/\/\S+)/)?.[1], 'the UI URL');
    return backend;
  }

  // Waits, up to the deadline, for `probe` to return something.
  async until(probe, what) {
    const end = Date.now() + deadline;
    for (;;) {
      const found = probe();
      if (found) return found;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; sluice stderr:\n${this.peer.stderr.join('')}`);
      await delay(50);
    }
  }

  requests(...flags) {
    const run = spawnSync(sluiceBin, ['approvals', 'list', '--db', this.db, '--json', ...flags], { encoding: 'utf8' });
    return run.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
  }

  // Makes the agent call `tool`; resolves to the id of the approval request that holds it.
  async hold({ tool, arguments: args }) {
    const known = new Set(this.requests('--all').map((r) => r.id));
    const call = this.peer.client.callTool({ name: tool, arguments: args }, undefined, { timeout: 120_000 });
    const request = await this.until(() => this.requests().find((r) => !known.has(r.id)), `the held ${tool}`);
    this.calls.set(request.id, call);
    // Calls nobody decides end when the agent disconnects at the end; that is expected.
    call.catch(() => {});
    return request.id;
  }

  // The request once it is decided, and what the agent's call got.
  async decided(id) {
    const request = await this.until(() => this.requests('--all').find((r) => r.id === id && r.state !== 'pending'), 'a decision');
    return { request, result: await this.calls.get(id) };
  }

  decisions() {
    return this.requests('--all').reduce((votes, r) => votes + r.votes.length, 0);
  }

  upstreamCalls() {
    return existsSync(this.callLog) ? readFileSync(this.callLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  }

  async stop() {
    await this.peer.client.close();
  }

  calls = new Map();
}
