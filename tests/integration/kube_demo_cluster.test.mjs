// The real kubectl against sluice-demo-cluster: the commands an on-call engineer runs
// must work unchanged, which is what proves the stand-in faithful enough for the
// demo and for sluice-kube's tests.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { startDemoCluster } from '../support/demo_cluster.mjs';

const run = promisify(execFile);
const kubectlBin = process.env.KUBECTL ?? 'kubectl';

describe('kubectl against the demo cluster', () => {
  let cluster;
  const kubectl = async (...args) => {
    const { stdout } = await run(kubectlBin, ['--kubeconfig', cluster.kubeconfig, ...args], { timeout: 30000 });
    return stdout;
  };
  const kubectlFails = async (...args) => {
    const error = await kubectl(...args).then(
      () => null,
      (e) => e,
    );
    assert.ok(error, `kubectl ${args.join(' ')} should have failed`);
    return error.stderr;
  };

  before(async () => {
    cluster = await startDemoCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('get pods -A shows the crash loop and the pending pod in their namespaces', async () => {
    const out = await kubectl('get', 'pods', '-A');
    assert.match(out, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/m);
    assert.match(out, /^production\s+checkout-\S+\s+0\/1\s+CrashLoopBackOff\s+\d+/m);
    assert.match(out, /^production\s+report-generator-\S+\s+0\/1\s+Pending/m);
    assert.match(out, /^staging\s+checkout-\S+\s+1\/1\s+Running/m);
    assert.match(out, /^kube-system\s+coredns-/m);
  });

  test('label and field selectors narrow a list', async () => {
    const byLabel = await kubectl('get', 'pods', '-n', 'production', '-l', 'app=frontend', '-o', 'name');
    assert.equal(byLabel.trim().split('\n').length, 2);
    assert.doesNotMatch(byLabel, /checkout/);
    const byField = await kubectl('get', 'pods', '-A', '--field-selector', 'status.phase=Pending', '-o', 'name');
    assert.match(byField.trim(), /^pod\/report-generator-\S+$/);
  });

  test('describe deployment shows its template, conditions, ReplicaSets and events', async () => {
    const out = await kubectl('describe', 'deployment', 'checkout', '-n', 'production');
    assert.match(out, /Image:\s+registry\.example\.com\/shop\/checkout:2\.5\.0/);
    assert.match(out, /PAYMENTS_URL:/);
    assert.match(out, /Available\s+False\s+MinimumReplicasUnavailable/);
    assert.match(out, /NewReplicaSet:\s+checkout-\S+ \(3\/3 replicas created\)/);
    assert.match(out, /ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set checkout-/);
  });

  test('logs and logs --previous show why the pod crashes', async () => {
    const pod = (await kubectl('get', 'pods', '-n', 'production', '-l', 'app=checkout', '-o', 'name')).split('\n')[0];
    const current = await kubectl('logs', '-n', 'production', pod);
    assert.match(current, /required setting PAYMENTS_API_URL is empty/);
    const previous = await kubectl('logs', '-n', 'production', pod, '--previous', '--tail=1');
    assert.equal(previous.trim().split('\n').length, 1);
    assert.match(previous, /level=fatal/);
  });

  test('get events lists the warnings', async () => {
    const out = await kubectl('get', 'events', '-n', 'production');
    assert.match(out, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE/m);
    assert.match(out, /Warning\s+BackOff\s+pod\/checkout-\S+\s+Back-off restarting failed container checkout/);
    assert.match(out, /Warning\s+FailedScheduling\s+pod\/report-generator-\S+\s+0\/3 nodes are available: 3 Insufficient memory/);
  });

  test('scale changes the replicas and the pods; a server dry run changes nothing', async () => {
    assert.match(await kubectl('scale', 'deployment', 'frontend', '-n', 'production', '--replicas=3'), /scaled/);
    const pods = await kubectl('get', 'pods', '-n', 'production', '-l', 'app=frontend', '-o', 'name');
    assert.equal(pods.trim().split('\n').length, 3);
    const dry = await kubectl('scale', 'deployment', 'frontend', '-n', 'production', '--replicas=1', '--dry-run=server');
    assert.match(dry, /server dry run/);
    const ready = await kubectl('get', 'deployment', 'frontend', '-n', 'production', '-o', 'jsonpath={.spec.replicas}');
    assert.equal(ready, '3');
  });

  test('rollout restart replaces the pods with a new ReplicaSet', async () => {
    const before = await kubectl('get', 'pods', '-n', 'staging', '-l', 'app=checkout', '-o', 'name');
    assert.match(await kubectl('rollout', 'restart', 'deployment/checkout', '-n', 'staging'), /restarted/);
    const annotation = await kubectl('get', 'deployment', 'checkout', '-n', 'staging', '-o',
      'jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}');
    assert.match(annotation, /^\d{4}-\d\d-\d\dT/);
    const afterRestart = await kubectl('get', 'pods', '-n', 'staging', '-l', 'app=checkout', '-o', 'name');
    assert.equal(afterRestart.trim().split('\n').length, 1);
    assert.notEqual(afterRestart, before);
  });

  test('delete pod removes it and the ReplicaSet replaces it', async () => {
    const pod = (await kubectl('get', 'pods', '-n', 'production', '-l', 'app=frontend', '-o', 'name')).split('\n')[0];
    assert.match(await kubectl('delete', '-n', 'production', pod), /deleted/);
    const pods = await kubectl('get', 'pods', '-n', 'production', '-l', 'app=frontend', '-o', 'name');
    assert.ok(!pods.split('\n').includes(pod), `${pod} is gone`);
    assert.equal(pods.trim().split('\n').length, 3);
  });

  test('server-side apply creates and updates; a dry run does not', async () => {
    const manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flags\n  namespace: staging\ndata:\n  retries: "3"\n';
    const apply = async (...extra) => {
      const child = execFile(kubectlBin, ['--kubeconfig', cluster.kubeconfig, 'apply', '--server-side',
        '--validate=false', '-f', '-', ...extra]);
      child.stdin.end(manifest.replace('"3"', extra.length ? '"9"' : '"3"'));
      const [code] = await new Promise((resolve) => child.on('exit', (...args) => resolve(args)));
      assert.equal(code, 0);
    };
    await apply();
    await apply('--dry-run=server');
    const value = await kubectl('get', 'configmap', 'flags', '-n', 'staging', '-o', 'jsonpath={.data.retries}');
    assert.equal(value, '3');
  });

  test('the read-only user is refused a delete and Secrets with 403', async () => {
    const stderr = await kubectlFails('--context', 'sluice-demo-viewer', 'delete', 'service', 'checkout', '-n', 'staging');
    assert.match(stderr, /Forbidden.*User "demo-viewer" cannot delete resource "services"/);
    const secrets = await kubectlFails('--context', 'sluice-demo-viewer', 'get', 'secrets', '-n', 'production');
    assert.match(secrets, /cannot list resource "secrets"/);
    assert.match(await kubectl('--context', 'sluice-demo-viewer', 'get', 'pods', '-n', 'staging'), /checkout-/);
  });

  test('a missing object is a 404 that names it', async () => {
    const stderr = await kubectlFails('get', 'deployment', 'nope', '-n', 'production');
    assert.match(stderr, /NotFound.*deployments\.apps "nope" not found|deployments "nope" not found/);
  });
});
