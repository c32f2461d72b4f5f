// The audit log as a security team relies on it: every decision committed before the
// upstream sees the call, an outcome after, no secret in the files, tampering named by
// `sluice audit verify`, and no call forwarded when the log cannot be written, also
// when Sluice is killed mid-burst or several Sluices share one log.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, truncateSync, copyFileSync, writeFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';

import { connectClient, fixtureServer, sluiceBin, throughSluice } from '../support/harness.mjs';

const sluice = (...args) => spawnSync(sluiceBin, args, { encoding: 'utf8' });
const sql = (db, statement) => spawnSync('sqlite3', [db, statement], { encoding: 'utf8' });
const text = (result) => result.content.map((c) => c.text).join('');

function auditedSetup({ redact = [], checkpoints = '' } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-audit-'));
  const db = path.join(dir, 'audit.db');
  const config = path.join(dir, 'sluice.yaml');
  writeFileSync(
    config,
    `audit:\n  path: ${db}\n  redact: ${JSON.stringify(redact)}\n${checkpoints}` +
      'policy:\n  default: allow\n  rules:\n    - { name: no-deletes, match: { tool: "*_delete" }, action: deny }\n',
  );
  return { dir, db, config };
}

async function audited(setup, env = {}) {
  const peer = await connectClient(throughSluice(fixtureServer('governed-server.mjs'), ['--config', setup.config]), { env });
  await peer.connect();
  return peer;
}

const rows = (db, where = '1') =>
  sql(db, `SELECT record FROM events WHERE ${where} ORDER BY seq`).stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));

async function rawCall(client, params) {
  try {
    return { result: await client.request({ method: 'tools/call', params }, CallToolResultSchema) };
  } catch (error) {
    return { error: { code: error.code, message: error.message } };
  }
}

describe('the audit log of a session', () => {
  it('commits each decision before the upstream sees the call, and records its outcome', async () => {
    const setup = auditedSetup();
    const { client } = await audited(setup, { AUDIT_DB: setup.db });
    const result = await client.callTool({ name: 'deployments_scale', arguments: { name: 'web', replicas: 2 } });
    assert.equal(text(result), 'decision rows committed before the call arrived: 1');
    const denied = await client.callTool({ name: 'pods_delete', arguments: { name: 'web-1' } });
    assert.equal(denied.isError, true);
    await client.close();

    const decisions = rows(setup.db, "kind = 'decision'");
    assert.deepEqual(
      decisions.map((d) => [d.tool, d.decision, d.rule]),
      [
        ['deployments_scale', 'allow', 'default'],
        ['pods_delete', 'deny', 'no-deletes'],
      ],
    );
    const outcomes = rows(setup.db, "kind = 'outcome'");
    assert.equal(outcomes.length, 1, 'a denied call has no upstream outcome');
    assert.equal(outcomes[0].tool, 'deployments_scale');
    assert.equal(outcomes[0].outcome, 'ok');
    assert.ok(outcomes[0].latency_us >= 0 && outcomes[0].result_size > 0);
    const methods = rows(setup.db, "kind = 'message'").map((m) => m.method);
    assert.ok(methods.includes('initialize') && methods.includes('notifications/initialized'));
    assert.deepEqual(rows(setup.db, "kind = 'session'").map((s) => s.detail.split(':')[0]), ['opened', 'closed by the client']);

    const verify = sluice('audit', 'verify', '--db', setup.db);
    assert.equal(verify.status, 0, verify.stdout);
    assert.match(verify.stdout, /^ok: \d+ events, chain head [0-9a-f]{64}\n$/);
  });

  it('keeps secrets in arguments out of every file it writes, also where the result echoes them', async () => {
    const setup = auditedSetup({ redact: ['/note'] });
    const canary = randomBytes(12).toString('hex');
    const peer = await audited(setup);
    const { client } = peer;
    await client.callTool({
      name: 'deployments_scale',
      arguments: { name: 'web', replicas: 1, token: canary, note: `call me with Bearer ${canary}` },
    });
    await client.callTool({ name: 'pods_delete', arguments: { name: 'x', password: canary } });
    await client.callTool({
      name: 'manifest_apply',
      arguments: { manifest: `apiVersion: v1\nkind: Secret\nmetadata: { name: s }\nstringData: { key: ${canary} }\n` },
    });
    const files = ['', '-wal', '-shm'].map((suffix) => setup.db + suffix).filter(existsSync);
    for (const file of files) assert.ok(!readFileSync(file).includes(canary), `${file} while running`);
    await client.close();
    for (const file of files.filter(existsSync)) assert.ok(!readFileSync(file).includes(canary), `${file} after exit`);
    // What the upstream prints on its own stderr is its business (Sluice relays it);
    // Sluice's own log lines must not carry the secret.
    const ownLog = peer.stderr.join('').split('\n').filter((line) => !line.includes('upstream stderr:'));
    assert.ok(!ownLog.join('\n').includes(canary), "Sluice's log");
    assert.equal(rows(setup.db, "kind = 'decision'").length, 3);
  });
});

describe('sluice audit verify', () => {
  // One pristine log, copied and damaged a different way for each case.
  async function pristineLog() {
    const setup = auditedSetup();
    const { client } = await audited(setup);
    for (let i = 0; i < 3; i++) await client.callTool({ name: 'pods_list', arguments: { namespace: `ns-${i}` } });
    await client.close();
    return setup;
  }

  it('passes an untouched log and names the first bad row of each kind of tampering', async () => {
    const setup = await pristineLog();
    assert.equal(sluice('audit', 'verify', '--db', setup.db).status, 0);
    const count = Number(sql(setup.db, 'SELECT count(*) FROM events').stdout);
    assert.ok(count > 8);
    const damage = [
      ['an edited record', "UPDATE events SET record = replace(record, 'ns-1', 'ns-9') WHERE record LIKE '%ns-1%'", /: the leaf hash does not match|not in canonical form/],
      ['an edited column', "UPDATE events SET tool = 'pods_delete' WHERE tool = 'pods_list' AND kind = 'decision'", /indexed columns differ/],
      ['a deleted row', 'DELETE FROM events WHERE seq = 5', /event 6: rows 5\.\.5 are missing/],
      ['two rows swapped', 'UPDATE events SET record = (SELECT record FROM events WHERE seq = 7), leaf = (SELECT leaf FROM events WHERE seq = 7) WHERE seq = 6', /event 6: the record's seq differs/],
      ['the last rows cut off', `DELETE FROM events WHERE seq > ${count - 2}; UPDATE events SET chain = zeroblob(32) WHERE seq = ${count - 2}`, new RegExp(`event ${count - 2}: the chain hash`)],
    ];
    for (const [what, statement, expected] of damage) {
      const copy = path.join(setup.dir, `damaged-${what.replaceAll(' ', '-')}.db`);
      copyFileSync(setup.db, copy);
      const edit = sql(copy, `DROP TRIGGER events_refuse_update; DROP TRIGGER events_refuse_delete; ${statement};`);
      assert.equal(edit.status, 0, edit.stderr);
      const verify = sluice('audit', 'verify', '--db', copy);
      assert.equal(verify.status, 1, `${what}: ${verify.stdout}`);
      assert.match(verify.stdout, /^FAILED: event \d+/, what);
      assert.match(verify.stdout, expected, what);
    }
    const truncated = path.join(setup.dir, 'truncated.db');
    copyFileSync(setup.db, truncated);
    truncateSync(truncated, Math.floor(statSync(truncated).size / 2));
    const verify = sluice('audit', 'verify', '--db', truncated);
    assert.notEqual(verify.status, 0, 'a file cut in half does not verify');
    assert.match(verify.stdout + verify.stderr, /FAILED|malformed|integrity|not a database/i);
  });

  it('refuses UPDATE and DELETE on the event table', async () => {
    const setup = await pristineLog();
    for (const statement of ["UPDATE events SET kind = 'x'", 'DELETE FROM events']) {
      const run = sql(setup.db, statement);
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, /append-only/);
    }
  });
});

describe('when the audit log cannot be written', () => {
  it('no call is forwarded once the store is full, and each gets a clear error', async () => {
    const setup = auditedSetup();
    const peer = await audited(setup, { SLUICE_TEST_AUDIT_MAX_PAGE_COUNT: '10' });
    const { client } = peer;
    const refused = [];
    // Keep calling past the first refusal: a smaller group may still fit, so some
    // later calls may pass; every one that is refused must be refused closed.
    for (let i = 0; i < 400 && refused.length < 20; i++) {
      const namespace = `fill-${i}`;
      const outcome = await rawCall(client, { name: 'pods_list', arguments: { namespace } });
      if (outcome.error) refused.push({ namespace, ...outcome.error });
    }
    assert.ok(refused.length > 0, 'the store filled up');
    for (const error of refused) {
      assert.equal(error.code, -31002);
      assert.match(error.message, /could not write its audit log, so the call was not forwarded: .*full/);
    }
    await client.close();
    const log = peer.stderr.join('');
    for (const { namespace } of refused) assert.ok(!log.includes(`"${namespace}"`), `${namespace} reached the upstream`);
    assert.match(log, /AUDIT LOG UNAVAILABLE/);
    assert.equal(sluice('audit', 'verify', '--db', setup.db).status, 0, 'what was written still verifies');
    const decided = new Set(rows(setup.db, "kind = 'decision'").map((d) => d.arguments.namespace));
    for (const [, namespace] of log.matchAll(/governed-server: call pods_list \{"namespace":"(fill-\d+)"\}/g)) {
      assert.ok(decided.has(namespace), `${namespace} reached the upstream without a decision row`);
    }
  });

  it('a foreign write lock fails calls closed within the busy timeout', async () => {
    const setup = auditedSetup();
    const peer = await audited(setup);
    const { client } = peer;
    await client.callTool({ name: 'pods_list', arguments: {} });
    const holder = spawn('sqlite3', [setup.db], { stdio: ['pipe', 'pipe', 'inherit'] });
    holder.stdin.write("BEGIN IMMEDIATE; SELECT 'locked';\n");
    await once(holder.stdout, 'data');
    const started = Date.now();
    const blocked = await rawCall(client, { name: 'pods_list', arguments: { namespace: 'while-locked' } });
    const waited = Date.now() - started;
    assert.equal(blocked.error?.code, -31002);
    assert.ok(waited >= 4000 && waited < 15000, `refused after ${waited} ms`);
    holder.stdin.end('ROLLBACK;\n');
    await once(holder, 'exit');
    const after = await client.callTool({ name: 'pods_list', arguments: { namespace: 'after-lock' } });
    assert.equal(after.isError, undefined, 'writing works again once the lock is gone');
    await client.close();
    assert.ok(!peer.stderr.join('').includes('while-locked'));
  });
});

describe('kill -9 of Sluice in the middle of a burst', () => {
  it('leaves a log that verifies, with a decision row for every call the upstream saw, and a restart goes on in it', async () => {
    for (let round = 0; round < 3; round++) {
      const setup = auditedSetup();
      const callLog = path.join(setup.dir, 'calls.jsonl');
      const peer = await audited(setup, { CALL_LOG: callLog });
      const { client, transport } = peer;
      let answered = 0;
      let killed = false;
      const killAfter = 20 + round * 40;
      const calls = Array.from({ length: 200 }, (_, i) =>
        client.callTool({ name: 'pods_list', arguments: { namespace: `burst-${i}` } }).then(
          () => {
            if (++answered === killAfter && !killed) {
              killed = true;
              process.kill(transport.pid, 'SIGKILL');
            }
          },
          () => {},
        ),
      );
      await Promise.all(calls);
      assert.ok(killed, `round ${round}: Sluice was killed after ${killAfter} answers`);
      await client.close().catch(() => {});

      assert.equal(sql(setup.db, 'PRAGMA integrity_check').stdout.trim(), 'ok');
      assert.equal(sluice('audit', 'verify', '--db', setup.db).status, 0);
      const decided = new Set(rows(setup.db, "kind = 'decision'").map((d) => d.arguments.namespace));
      const seen = existsSync(callLog)
        ? readFileSync(callLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).arguments.namespace)
        : [];
      assert.ok(seen.length >= killAfter, `round ${round}: the upstream saw ${seen.length} calls`);
      for (const namespace of seen) assert.ok(decided.has(namespace), `${namespace} reached the upstream without a decision row`);

      // A new Sluice on the same log appends to it, and the whole log still verifies.
      const restarted = await audited(setup);
      try {
        const after = await restarted.client.callTool({ name: 'pods_list', arguments: { namespace: 'after-restart' } });
        assert.equal(after.isError, undefined);
      } finally {
        await restarted.client.close();
      }
      const verify = sluice('audit', 'verify', '--db', setup.db);
      assert.equal(verify.status, 0, verify.stdout);
      assert.equal(rows(setup.db, "kind = 'decision'").at(-1).arguments.namespace, 'after-restart');
    }
  });
});

describe('several Sluice processes sharing one audit log', () => {
  it('keep one contiguous chain with a decision and an outcome for every call', async () => {
    const clients = 8;
    const callsEach = Number(process.env.SLUICE_AUDIT_CALLS_PER_CLIENT ?? 1000);
    const setup = auditedSetup();
    // Every client is closed whatever fails, a connection or a call: a Sluice left
    // running would hold the run until CTest's timeout.
    const peers = await Promise.all(
      Array.from({ length: clients }, () => connectClient(throughSluice(fixtureServer('governed-server.mjs'), ['--config', setup.config]))),
    );
    try {
      await Promise.all(peers.map((peer) => peer.connect()));
      await Promise.all(
        peers.map(async ({ client }, c) => {
          // Sixteen calls in flight per client: enough for group commit to matter.
          for (let i = 0; i < callsEach; i += 16) {
            await Promise.all(
              Array.from({ length: Math.min(16, callsEach - i) }, (_, k) =>
                client.callTool({ name: 'pods_list', arguments: { namespace: `c${c}-${i + k}` } }),
              ),
            );
          }
        }),
      );
    } finally {
      await Promise.all(peers.map(({ client }) => client.close().catch(() => {})));
    }
    const verify = sluice('audit', 'verify', '--db', setup.db);
    assert.equal(verify.status, 0, verify.stdout);
    const count = (kind) => Number(sql(setup.db, `SELECT count(*) FROM events WHERE kind = '${kind}' AND tool = 'pods_list'`).stdout);
    assert.equal(count('decision'), clients * callsEach);
    assert.equal(count('outcome'), clients * callsEach);
  });
});

describe('signed checkpoints and rotation', () => {
  // A key from `sluice audit keygen`, and a log that Sluice checkpoints every 4 rows.
  function signedSetup() {
    const keyDir = mkdtempSync(path.join(tmpdir(), 'sluice-key-'));
    const prefix = path.join(keyDir, 'audit-signing');
    const keygen = sluice('audit', 'keygen', '--out', prefix);
    assert.equal(keygen.status, 0, keygen.stderr);
    assert.equal(statSync(`${prefix}.pem`).mode & 0o777, 0o600);
    const checkpointFile = path.join(keyDir, 'elsewhere.checkpoint');
    const setup = auditedSetup({
      checkpoints: `  checkpoint_key: ${prefix}.pem\n  checkpoint_every: 4\n  checkpoint_file: ${checkpointFile}\n`,
    });
    return { ...setup, prefix, checkpointFile };
  }

  it('attests the log outside it, so that rows cut from its end are reported TRUNCATED', async () => {
    const setup = signedSetup();
    const { client } = await audited(setup);
    for (let i = 0; i < 6; i++) await client.callTool({ name: 'pods_list', arguments: { namespace: `ns-${i}` } });
    await client.close();

    const checkpoints = rows(setup.db, "kind = 'checkpoint'");
    assert.ok(checkpoints.length >= 2, `${checkpoints.length} checkpoints`);
    // The last one, written at shutdown, attests every row before it, and is the one outside.
    const last = checkpoints.at(-1);
    assert.equal(Number(sql(setup.db, 'SELECT max(seq) FROM events').stdout), last.seq);
    assert.equal(readFileSync(setup.checkpointFile, 'utf8'), last.data.note);
    assert.match(last.data.note, new RegExp(`^sluice\\.local/[0-9a-f]{16}\n${last.seq - 1}\n[A-Za-z0-9+/]{43}=\n\n\u2014 sluice\\.local/audit `));

    const pinned = ['--key', `${setup.prefix}.pub`, '--checkpoint', setup.checkpointFile];
    const ok = sluice('audit', 'verify', '--db', setup.db, ...pinned);
    assert.equal(ok.status, 0, ok.stdout);
    assert.match(ok.stdout, new RegExp(`ok: ${last.seq} events, ${checkpoints.length} signed checkpoints`));

    // Cutting rows off the end leaves a chain that holds; only the outside copy shows it.
    const cut = path.join(setup.dir, 'cut.db');
    copyFileSync(setup.db, cut);
    assert.equal(sql(cut, `DROP TRIGGER events_refuse_delete; DELETE FROM events WHERE seq > ${last.seq - 3};`).status, 0);
    assert.equal(sluice('audit', 'verify', '--db', cut).status, 0);
    const truncated = sluice('audit', 'verify', '--db', cut, ...pinned);
    assert.equal(truncated.status, 1);
    assert.match(truncated.stdout, new RegExp(`TRUNCATED: .* rows ${last.seq - 2}\\.\\.${last.seq - 1} were removed`));

    // Pinned to a key that did not sign them, the checkpoints fail.
    const wrongKey = sluice('audit', 'verify', '--db', setup.db, '--key',
      'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
    assert.equal(wrongKey.status, 1);
    assert.match(wrongKey.stdout, /signed by another key/);
  });

  it('seals a file into a successor that a running Sluice continues in, and verifies the files as one', async () => {
    const setup = signedSetup();
    const { client } = await audited(setup);
    const next = path.join(setup.dir, 'audit-2.db');
    try {
      await client.callTool({ name: 'pods_list', arguments: { namespace: 'before' } });
      const seal = sluice('audit', 'seal', '--db', setup.db, '--next', next, '--key', `${setup.prefix}.pem`);
      assert.equal(seal.status, 0, seal.stderr);
      // A final checkpoint is written unless Sluice's own checkpoint already attests every row.
      assert.match(seal.stdout, /^(final checkpoint: row \d+\n)?sealed .* at row \d+ .*\nthe log continues in .*audit-2\.db/);
      const sealRow = rows(setup.db, "kind = 'seal'")[0];
      assert.equal(rows(setup.db, `seq = ${sealRow.seq - 1}`)[0].kind, 'checkpoint', 'the last rows are attested');
      await client.callTool({ name: 'pods_list', arguments: { namespace: 'after' } });
    } finally {
      await client.close();
    }

    const decided = (db) => rows(db, "kind = 'decision'").map((d) => d.arguments.namespace);
    assert.deepEqual(decided(setup.db), ['before']);
    assert.deepEqual(decided(next), ['after']);
    assert.equal(rows(next, 'seq = 1')[0].kind, 'continue');
    const verify = sluice('audit', 'verify', '--db', setup.db, '--key', `${setup.prefix}.pub`);
    assert.equal(verify.status, 0, verify.stdout);
    assert.match(verify.stdout, / in 2 files, /);

    // A second seal into a file that exists is refused and changes nothing.
    const again = sluice('audit', 'seal', '--db', next, '--next', setup.db);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /exists/);
    assert.equal(sluice('audit', 'verify', '--db', setup.db).status, 0);
  });
});
