// Every example is usable as shipped: each Sluice configuration passes `sluice policy
// check` (the ConfigMap's embedded one too), each Claude Desktop file is JSON that
// starts Sluice with a configuration that exists here, and the Kubernetes manifests go
// through the real kubectl's client-side dry run against the demo cluster.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { repoRoot, sluiceBin } from '../support/harness.mjs';
import { startDemoCluster } from '../support/demo_cluster.mjs';

const run = promisify(execFile);
const examples = path.join(repoRoot, 'examples');
// What the examples take from the environment (${VAR}).
const env = {
  ...process.env,
  HOME: '/home/someone',
  RUNBOOKS: '/srv/runbooks',
  SLUICE_APPROVER_HASH: 'scrypt$ln=17,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U',
};

async function filesUnder(dir) {
  const found = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) found.push(path.join(entry.parentPath ?? entry.path, entry.name));
  }
  return found.sort();
}

const policyCheck = (file) => run(sluiceBin, ['policy', 'check', file], { env });

// The text of the `sluice.yaml: |` block of a ConfigMap manifest.
function embeddedConfig(manifest) {
  const lines = manifest.split('\n');
  const start = lines.findIndex((line) => /^ {2}sluice\.yaml: \|$/.test(line));
  assert.ok(start >= 0, 'no sluice.yaml in the ConfigMap');
  const body = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== '' && !line.startsWith('    ')) break;
    body.push(line.slice(4));
  }
  return body.join('\n');
}

describe('examples/', () => {
  let files;
  before(async () => {
    files = await filesUnder(examples);
  });

  test('every Sluice configuration passes sluice policy check and says who it is for', async () => {
    const configs = files.filter((file) => file.endsWith('.yaml') && !file.includes(`${path.sep}kubernetes${path.sep}`));
    assert.ok(configs.length >= 8, configs.join(', '));
    for (const file of configs) {
      const text = await readFile(file, 'utf8');
      assert.match(text, /^# For: /m, `${file} does not say who it is for`);
      await assert.doesNotReject(policyCheck(file), file);
    }
  });

  test('the ConfigMap holds a configuration that passes sluice policy check', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-example-'));
    try {
      const file = path.join(dir, 'sluice.yaml');
      await writeFile(file, embeddedConfig(await readFile(path.join(examples, 'kubernetes/config.yaml'), 'utf8')));
      const { stdout } = await policyCheck(file);
      assert.match(stdout, /address: 0\.0\.0\.0:8766/);
      assert.match(stdout, /name: oncall-lead/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the Claude Desktop configurations parse and start Sluice with a configuration that exists', async () => {
    const configs = files.filter((file) => file.includes(`${path.sep}claude-desktop${path.sep}`) && file.endsWith('.json'));
    assert.equal(configs.length, 2);
    const upstreams = [];
    for (const file of configs) {
      const { mcpServers } = JSON.parse(await readFile(file, 'utf8'));
      for (const server of Object.values(mcpServers)) {
        assert.match(server.command, /\/build\/proxy\/sluice$/);
        assert.equal(server.args[0], 'run');
        const config = server.args[server.args.indexOf('--config') + 1].replace('/path/to/sluice/', `${repoRoot}/`);
        await assert.doesNotReject(policyCheck(config), config);
        const separator = server.args.indexOf('--');
        upstreams.push(separator >= 0 ? server.args.slice(separator + 1).join(' ') : 'sluice-kube');
      }
    }
    assert.ok(upstreams.includes('sluice-kube'));
    assert.ok(upstreams.some((command) => command.startsWith('npx -y @modelcontextprotocol/server-filesystem ')));
  });

  test('the server-everything tour runs through Sluice as its comment says', async () => {
    const { stdout } = await run(process.execPath, [path.join(examples, 'third-party/server-everything-tour.mjs'), sluiceBin]);
    assert.match(stdout, /^tools\/call echo -> Echo: hello through Sluice$/m);
    assert.match(stdout, /trigger-long-running-operation -> done, [1-9]\d* progress notifications relayed/);
  });

  test('the Dockerfile is a Debian 12 multi-stage build that copies every source folder the build adds', async () => {
    // Not built here (no registry access): checked against the top-level CMakeLists.txt instead.
    const dockerfile = await readFile(path.join(examples, 'kubernetes/Dockerfile'), 'utf8');
    assert.deepEqual([...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]), ['debian:12', 'debian:12-slim']);
    const copied = new Set([...dockerfile.matchAll(/^COPY (\S+) \S+$/gm)].map((match) => match[1]));
    const cmake = await readFile(path.join(repoRoot, 'CMakeLists.txt'), 'utf8');
    const folders = [...cmake.matchAll(/^add_subdirectory\((\w+)\)/gm)].map((match) => match[1]);
    assert.ok(folders.length >= 7);
    for (const folder of ['cmake', ...folders]) assert.ok(copied.has(folder), `the Dockerfile does not copy ${folder}/`);
    assert.match(dockerfile, /--target sluice sluice-kube/);
    assert.match(dockerfile, /^USER 10001$/m);
  });

  describe('kubernetes/ manifests', () => {
    let cluster;
    before(async () => {
      cluster = await startDemoCluster();
    });
    after(async () => {
      await cluster?.stop();
    });

    test('pass kubectl apply --dry-run=client against the demo cluster', async () => {
      const { stdout } = await run('kubectl', ['--kubeconfig', cluster.kubeconfig, 'apply', '--dry-run=client',
        '--validate=false', '-f', path.join(examples, 'kubernetes')]);
      for (const object of ['serviceaccount/sluice', 'clusterrole.rbac.authorization.k8s.io/sluice-read',
        'clusterrolebinding.rbac.authorization.k8s.io/sluice-read', 'role.rbac.authorization.k8s.io/sluice-remediate',
        'rolebinding.rbac.authorization.k8s.io/sluice-remediate', 'configmap/sluice-config', 'secret/sluice-approvers',
        'persistentvolumeclaim/sluice-audit', 'deployment.apps/oncall-agent', 'service/sluice-ui']) {
        assert.match(stdout, new RegExp(`^${object.replaceAll('.', '\\.')} created \\(dry run\\)$`, 'm'), stdout);
      }
    });

    test('wire the agent to Sluice on the pod loopback, the audit log to a volume, and the mutating verbs to a narrow Role', async () => {
      const objects = JSON.parse((await run('kubectl', ['--kubeconfig', cluster.kubeconfig, 'apply', '--dry-run=client',
        '--validate=false', '-o', 'json', '-f', path.join(examples, 'kubernetes')])).stdout).items;
      const byKind = (kind, name) => objects.find((object) => object.kind === kind && object.metadata.name === name);
      const pod = byKind('Deployment', 'oncall-agent').spec.template.spec;
      assert.equal(pod.serviceAccountName, 'sluice');
      const agent = pod.containers.find((container) => container.name === 'agent');
      assert.equal(agent.env.find((variable) => variable.name === 'MCP_SERVER_URL').value, 'http://127.0.0.1:8765/mcp');
      const sluice = pod.containers.find((container) => container.name === 'sluice');
      assert.deepEqual(sluice.ports.map((port) => port.containerPort), [8766]);
      const mounts = Object.fromEntries(sluice.volumeMounts.map((mount) => [mount.name, mount.mountPath]));
      assert.equal(mounts.audit, '/var/lib/sluice');
      assert.equal(pod.volumes.find((volume) => volume.name === 'audit').persistentVolumeClaim.claimName, 'sluice-audit');
      assert.equal(pod.volumes.find((volume) => volume.name === 'config').configMap.name, 'sluice-config');
      assert.equal(byKind('Service', 'sluice-ui').spec.ports[0].targetPort, 'ui');

      const verbs = (role) => role.rules.flatMap((rule) => rule.verbs);
      const read = byKind('ClusterRole', 'sluice-read');
      assert.deepEqual([...new Set(verbs(read))].sort(), ['get', 'list', 'watch']);
      assert.ok(!read.rules.some((rule) => rule.resources.includes('secrets')), 'the read role may read Secrets');
      const remediate = byKind('Role', 'sluice-remediate');
      assert.ok(!verbs(remediate).some((verb) => ['create', 'update', '*'].includes(verb)), verbs(remediate).join(','));
      assert.equal(remediate.metadata.namespace, 'production');
    });
  });
});
