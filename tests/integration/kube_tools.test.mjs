// sluice-kube's tools, exercised by the real MCP SDK client against the demo cluster:
// directly, through `sluice run -- sluice-kube`, and as Sluice's default upstream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { connectClient, sluiceBin } from '../support/harness.mjs';
import { sluiceKubeBin, startDemoCluster } from '../support/demo_cluster.mjs';

const SECRET_VALUE = 'sk-live-demo-4f8a2b9c7e1d';
const SECRET_BASE64 = Buffer.from(SECRET_VALUE).toString('base64');

const READ_TOOLS = ['namespaces_list', 'pods_list', 'pods_get', 'pods_log', 'events_list', 'deployments_list',
  'deployments_describe', 'services_list', 'nodes_list', 'resources_list', 'resources_get'];
const MUTATING_TOOLS = ['deployments_scale', 'deployments_rollout_restart', 'pods_delete', 'resources_apply',
  'resources_delete'];

const textOf = (result) => result.content.map((block) => block.text ?? '').join('\n');

describe('sluice-kube against the demo cluster', () => {
  let cluster;
  const outputs = []; // every result of every call, to prove no Secret value ever leaves
  const clients = [];

  async function open(args, { env } = {}) {
    const session = await connectClient([sluiceKubeBin, ...args], { env });
    await session.connect();
    clients.push(session.client);
    return session;
  }

  let kube;
  async function call(name, args = {}, client = kube) {
    const result = await client.callTool({ name, arguments: args });
    outputs.push(JSON.stringify(result));
    return result;
  }
  async function ok(name, args, client) {
    const result = await call(name, args, client);
    assert.ok(!result.isError, `${name} failed: ${textOf(result)}`);
    return result;
  }

  before(async () => {
    cluster = await startDemoCluster();
    kube = (await open(['--kubeconfig', cluster.kubeconfig])).client;
  });
  after(async () => {
    for (const client of clients) await client.close();
    await cluster?.stop();
    const all = outputs.join('\n');
    assert.ok(!all.includes(SECRET_VALUE) && !all.includes(SECRET_BASE64), 'a Secret value left sluice-kube');
  });

  test('lists every tool with honest annotations and dryRun on every mutating tool', async () => {
    const { tools } = await kube.listTools();
    const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
    assert.deepEqual(Object.keys(byName).sort(), [...READ_TOOLS, ...MUTATING_TOOLS].sort());
    for (const name of READ_TOOLS) assert.equal(byName[name].annotations.readOnlyHint, true, name);
    for (const name of MUTATING_TOOLS) {
      assert.equal(byName[name].annotations.readOnlyHint, false, name);
      assert.equal(byName[name].inputSchema.properties.dryRun.type, 'boolean', name);
    }
    for (const name of ['pods_delete', 'resources_delete']) assert.equal(byName[name].annotations.destructiveHint, true);
    assert.equal(byName.deployments_scale.annotations.destructiveHint, false);
  });

  test('pods_list finds the crash loop across namespaces and filters by selectors', async () => {
    const all = await ok('pods_list', { allNamespaces: true });
    assert.match(textOf(all), /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+NODE/m);
    assert.match(textOf(all), /production\s+checkout-\S+\s+0\/1\s+CrashLoopBackOff\s+\d+/);
    assert.ok(all.structuredContent.pods.length >= 10);
    const pending = await ok('pods_list', { allNamespaces: true, fieldSelector: 'status.phase=Pending' });
    assert.deepEqual(pending.structuredContent.pods.map((pod) => pod.status), ['Pending']);
    const frontend = await ok('pods_list', { namespace: 'staging', labelSelector: 'app=frontend' });
    assert.equal(frontend.structuredContent.pods.length, 1);
  });

  test('pods_get, pods_log and pods_log previous show why checkout crashes', async () => {
    const [pod] = (await ok('pods_list', { namespace: 'production', labelSelector: 'app=checkout' })).structuredContent.pods;
    const got = await ok('pods_get', { namespace: 'production', name: pod.name });
    assert.equal(got.structuredContent.status.containerStatuses[0].state.waiting.reason, 'CrashLoopBackOff');
    const log = await ok('pods_log', { namespace: 'production', name: pod.name });
    assert.match(textOf(log), /required setting PAYMENTS_API_URL is empty/);
    const previous = await ok('pods_log', { namespace: 'production', name: pod.name, previous: true, tailLines: 1 });
    assert.equal(textOf(previous).trim().split('\n').length, 1);
    assert.equal(previous.structuredContent.previous, true);
    const pending = (await ok('pods_list', { namespace: 'production', labelSelector: 'app=report-generator' }))
      .structuredContent.pods[0];
    const refused = await call('pods_log', { namespace: 'production', name: pending.name });
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /400 \(BadRequest\): container "report-generator" .* is waiting to start/);
  });

  test('events_list puts warnings first and narrows to one object', async () => {
    const events = await ok('events_list', { namespace: 'production', warningsFirst: true });
    const types = events.structuredContent.events.map((event) => event.type);
    assert.equal(types[0], 'Warning');
    assert.ok(types.indexOf('Normal') > types.lastIndexOf('Warning'));
    const scheduling = await ok('events_list', { namespace: 'production', involvedObjectKind: 'Pod', warningsFirst: true });
    assert.match(textOf(scheduling), /FailedScheduling\s+pod\/report-generator-\S+\s+\d+\s+0\/3 nodes are available/);
  });

  test('deployments_describe gives template, conditions, ReplicaSets, pods and events', async () => {
    const described = await ok('deployments_describe', { namespace: 'production', name: 'checkout' });
    const text = textOf(described);
    assert.match(text, /image registry\.example\.com\/shop\/checkout:2\.5\.0; env PAYMENTS_URL, LOG_LEVEL/);
    assert.match(text, /Available=False \(MinimumReplicasUnavailable\)/);
    assert.match(text, /ReplicaSets:\nNAME\s+REVISION/);
    assert.equal(described.structuredContent.replicaSets.length, 2);
    assert.equal(described.structuredContent.pods.length, 3);
    assert.ok(described.structuredContent.events.some((event) => event.reason === 'BackOff'));
  });

  test('namespaces, deployments, services and nodes', async () => {
    assert.deepEqual((await ok('namespaces_list')).structuredContent.namespaces.map((ns) => ns.name).sort(),
      ['default', 'kube-system', 'production', 'staging']);
    const deployments = await ok('deployments_list', { allNamespaces: true });
    assert.match(textOf(deployments), /production\s+checkout\s+0\/3/);
    const services = await ok('services_list', { namespace: 'production' });
    assert.match(textOf(services), /checkout\s+ClusterIP\s+10\.96\.12\.34\s+80\/TCP\s+app=checkout/);
    const nodes = await ok('nodes_list');
    assert.equal(nodes.structuredContent.nodes.length, 3);
    assert.equal(nodes.structuredContent.nodes[0].conditions.Ready, 'True');
    assert.equal(nodes.structuredContent.nodes[0].allocatable.cpu, '3800m');
  });

  test('resources_list and resources_get reach any kind, and never a Secret value', async () => {
    const maps = await ok('resources_list', { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'production' });
    assert.match(textOf(maps), /checkout-config/);
    const map = await ok('resources_get', { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'production', name: 'checkout-config' });
    assert.equal(map.structuredContent.data.CURRENCY, 'EUR');
    const secret = await ok('resources_get', { apiVersion: 'v1', kind: 'Secret', namespace: 'production', name: 'payments-api-credentials' });
    assert.match(secret.structuredContent.data['api-key'], /^\[redacted: \d+ bytes\]$/);
    const secrets = await ok('resources_list', { apiVersion: 'v1', kind: 'Secret', namespace: 'production' });
    assert.match(secrets.structuredContent.items[0].data['api-key'], /^\[redacted/);
    const unknown = await call('resources_list', { apiVersion: 'v1', kind: 'Gadget' });
    assert.equal(unknown.isError, true);
    assert.match(textOf(unknown), /kind Gadget is not served in v1/);
  });

  test('a dry run of every mutating tool changes nothing and says so', async () => {
    const pods = async () => (await ok('pods_list', { namespace: 'production', labelSelector: 'app=frontend' })).structuredContent.pods.map((p) => p.name).sort();
    const before = await pods();
    const scale = await ok('deployments_scale', { namespace: 'production', name: 'frontend', replicas: 5, dryRun: true });
    assert.match(textOf(scale), /^DRY RUN \(nothing was changed\): deployment production\/frontend would be scaled from 2 to 5/);
    assert.equal(scale.structuredContent.dryRun, true);
    const restart = await ok('deployments_rollout_restart', { namespace: 'production', name: 'frontend', dryRun: true });
    assert.match(textOf(restart), /^DRY RUN/);
    const deleted = await ok('pods_delete', { namespace: 'production', name: before[0], dryRun: true });
    assert.match(textOf(deleted), /^DRY RUN.*would be deleted \(owned by ReplicaSet\//);
    const manifest = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: new-creds\nstringData:\n  token: ' + SECRET_VALUE + '\n';
    const applied = await ok('resources_apply', { manifest, namespace: 'staging', dryRun: true });
    assert.match(textOf(applied), /^DRY RUN.*Secret staging\/new-creds would be applied/);
    const removed = await ok('resources_delete', { apiVersion: 'v1', kind: 'Service', namespace: 'production', name: 'frontend', dryRun: true });
    assert.match(textOf(removed), /^DRY RUN/);

    assert.deepEqual(await pods(), before);
    const describe = await ok('deployments_describe', { namespace: 'production', name: 'frontend' });
    assert.equal(describe.structuredContent.replicas, 2);
    assert.doesNotMatch(textOf(describe), /Restarted at/);
    assert.equal((await call('resources_get', { apiVersion: 'v1', kind: 'Secret', namespace: 'staging', name: 'new-creds' })).isError, true);
    await ok('resources_get', { apiVersion: 'v1', kind: 'Service', namespace: 'production', name: 'frontend' });
  });

  test('scale, rollout restart, delete, apply and delete for real', async () => {
    const scaled = await ok('deployments_scale', { namespace: 'staging', name: 'frontend', replicas: 3 });
    assert.match(textOf(scaled), /^deployment staging\/frontend scaled from 1 to 3 replicas/);
    const pods = (await ok('pods_list', { namespace: 'staging', labelSelector: 'app=frontend' })).structuredContent.pods;
    assert.equal(pods.length, 3);
    const restarted = await ok('deployments_rollout_restart', { namespace: 'staging', name: 'frontend' });
    assert.match(textOf(restarted), /restarted \(restartedAt \d{4}-/);
    assert.match(textOf(await ok('deployments_describe', { namespace: 'staging', name: 'frontend' })), /Restarted at: /);
    const [victim] = (await ok('pods_list', { namespace: 'staging', labelSelector: 'app=frontend' })).structuredContent.pods;
    assert.match(textOf(await ok('pods_delete', { namespace: 'staging', name: victim.name })), /deleted \(owned by ReplicaSet/);
    const after = (await ok('pods_list', { namespace: 'staging', labelSelector: 'app=frontend' })).structuredContent.pods;
    assert.ok(!after.some((pod) => pod.name === victim.name));
    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'api', namespace: 'staging' },
      stringData: { token: SECRET_VALUE } });
    const applied = await ok('resources_apply', { manifest });
    assert.match(textOf(applied), /^Secret staging\/api applied/);
    assert.equal(applied.structuredContent.dryRun, false);
    await ok('resources_get', { apiVersion: 'v1', kind: 'Secret', namespace: 'staging', name: 'api' });
    await ok('resources_delete', { apiVersion: 'v1', kind: 'Secret', namespace: 'staging', name: 'api' });
    assert.equal((await call('resources_get', { apiVersion: 'v1', kind: 'Secret', namespace: 'staging', name: 'api' })).isError, true);
  });

  test('API errors come back as readable tool errors: 404, 403, 422', async () => {
    const missing = await call('pods_get', { namespace: 'production', name: 'nope' });
    assert.equal(missing.isError, true);
    assert.match(textOf(missing), /Kubernetes API error 404 \(NotFound\): pods "nope" not found/);
    const viewer = (await open(['--kubeconfig', cluster.kubeconfig, '--context', 'sluice-demo-viewer'])).client;
    const forbidden = await call('pods_delete', { namespace: 'production', name: 'anything' }, viewer);
    assert.equal(forbidden.isError, true);
    assert.match(textOf(forbidden), /403 \(Forbidden\): .*User "demo-viewer" cannot delete resource "pods" in API group "" in the namespace "production"/);
    const secrets = await call('resources_list', { apiVersion: 'v1', kind: 'Secret', namespace: 'production' }, viewer);
    assert.match(textOf(secrets), /403 \(Forbidden\)/);
    await ok('pods_list', { namespace: 'production' }, viewer);
    const invalid = await call('resources_apply', { manifest: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_Valid\n' });
    assert.match(textOf(invalid), /422 \(Invalid\): ConfigMap "Not_Valid" is invalid/);
    const badArgument = await call('deployments_scale', { name: 'frontend', replicas: -1 });
    assert.match(textOf(badArgument), /replicas must be an integer from 0 to 1000/);
  });

  test('--namespaces and --read-only limit what the server does', async () => {
    const limited = (await open(['--kubeconfig', cluster.kubeconfig, '--namespaces', 'staging'])).client;
    const outside = await call('pods_list', { namespace: 'production' }, limited);
    assert.match(textOf(outside), /namespace "production" is outside the namespaces this server may use \(staging\)/);
    assert.equal((await call('pods_list', { allNamespaces: true }, limited)).isError, true);
    await ok('pods_list', { namespace: 'staging' }, limited);
    const readOnly = (await open(['--kubeconfig', cluster.kubeconfig, '--read-only'])).client;
    const names = (await readOnly.listTools()).tools.map((tool) => tool.name).sort();
    assert.deepEqual(names, [...READ_TOOLS].sort());
  });

  test('an unreachable or silent cluster gives a clear error, not a hang', async () => {
    const text = await readFile(cluster.kubeconfig, 'utf8');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-kube-'));
    const closed = net.createServer();
    await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = closed.address().port;
    await new Promise((resolve) => closed.close(resolve));
    const silent = net.createServer(() => {}); // accepts, never speaks TLS
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const refusedConfig = path.join(dir, 'refused');
      await writeFile(refusedConfig, text.replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${closedPort}`));
      const refused = (await open(['--kubeconfig', refusedConfig])).client;
      const result = await call('pods_list', {}, refused);
      assert.equal(result.isError, true);
      assert.match(textOf(result), /cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+: Connection refused/);

      const silentConfig = path.join(dir, 'silent');
      await writeFile(silentConfig, text.replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${silent.address().port}`));
      const hanging = (await open(['--kubeconfig', silentConfig, '--request-timeout', '1'])).client;
      const started = Date.now();
      const timedOut = await call('pods_list', {}, hanging);
      assert.equal(timedOut.isError, true);
      assert.match(textOf(timedOut), /TLS handshake with the Kubernetes API at .* timed out after 1/);
      assert.ok(Date.now() - started < 10000, `took ${Date.now() - started} ms`);
    } finally {
      silent.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('without credentials it still serves, and every call says why it cannot work', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'sluice-kube-home-'));
    try {
      const session = await connectClient([sluiceKubeBin], { env: { HOME: home, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' } });
      await session.connect();
      clients.push(session.client);
      assert.equal((await session.client.listTools()).tools.length, READ_TOOLS.length + MUTATING_TOOLS.length);
      const result = await call('pods_list', {}, session.client);
      assert.equal(result.isError, true);
      assert.match(textOf(result), /no usable cluster credentials: no kubeconfig: pass --kubeconfig FILE/);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  test('through Sluice, with sluice-kube named and as the default upstream', async () => {
    for (const command of [[sluiceBin, 'run', '--', sluiceKubeBin, '--kubeconfig', cluster.kubeconfig],
      [sluiceBin, 'run']]) {
      const session = await connectClient(command, { env: { KUBECONFIG: cluster.kubeconfig } });
      await session.connect();
      clients.push(session.client);
      const { tools } = await session.client.listTools();
      assert.ok(tools.some((tool) => tool.name === 'deployments_describe'), command.join(' '));
      // The demo incident, diagnosed the way an on-call engineer would.
      const pods = await call('pods_list', { namespace: 'production' }, session.client);
      assert.match(textOf(pods), /CrashLoopBackOff/, command.join(' '));
      const failing = pods.structuredContent.pods.find((pod) => pod.status === 'CrashLoopBackOff');
      const log = await call('pods_log', { namespace: 'production', name: failing.name, previous: true }, session.client);
      assert.match(textOf(log), /required setting PAYMENTS_API_URL is empty/);
      const described = await call('deployments_describe', { namespace: 'production', name: 'checkout' }, session.client);
      assert.match(textOf(described), /env PAYMENTS_URL/);
      const events = await call('events_list', { namespace: 'production', warningsFirst: true }, session.client);
      assert.match(textOf(events), /BackOff/);
      // The built-in policy holds mutating calls for approval: nothing reaches the cluster.
      // Nobody approves here: the client gives up while the call is held.
      await assert.rejects(
        session.client.callTool({ name: 'pods_delete', arguments: { namespace: 'production', name: failing.name } },
          undefined, { timeout: 1000 }),
        /timed out/i,
      );
      const still = await call('pods_get', { namespace: 'production', name: failing.name }, session.client);
      assert.equal(still.isError, undefined, 'the held deletion never reached the cluster');
    }
  });

  test('through Sluice with the default upstream, the restart of the incident runs once an approver approves it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-kube-approval-'));
    const db = path.join(dir, 'audit.db');
    try {
      const config = path.join(dir, 'sluice.yaml');
      await writeFile(config, `audit:\n  path: ${db}\n`);
      const session = await connectClient([sluiceBin, 'run', '--config', config, '--principal', 'oncall-agent'],
        { env: { KUBECONFIG: cluster.kubeconfig } });
      await session.connect();
      clients.push(session.client);
      const restart = session.client.callTool(
        { name: 'deployments_rollout_restart', arguments: { namespace: 'production', name: 'checkout' } },
        undefined, { timeout: 60_000 });
      const list = () => JSON.parse(execFileSync(sluiceBin, ['approvals', 'list', '--db', db, '--json']).toString() || 'null');
      const deadline = Date.now() + 15_000;
      let held = null;
      while (!held && Date.now() < deadline) {
        held = list();
        if (!held) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(held, 'the restart is held for approval');
      assert.equal(held.tool, 'deployments_rollout_restart');
      assert.equal(held.principal, 'oncall-agent');
      execFileSync(sluiceBin, ['approvals', 'approve', '--db', db, held.id, '--comment', 'restart checkout']);
      const result = await restart;
      assert.equal(result.isError, undefined, textOf(result));
      assert.match(textOf(result), /restarted \(restartedAt \d{4}-/);
      const described = await call('deployments_describe', { namespace: 'production', name: 'checkout' }, session.client);
      assert.match(textOf(described), /Restarted at: /);
      assert.equal(execFileSync(sluiceBin, ['audit', 'verify', '--db', db]).toString().slice(0, 3), 'ok:');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
