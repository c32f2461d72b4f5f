// Starts sluice-demo-cluster on a free loopback port with a fresh kubeconfig, for the
// kube integration tests. The binary sits next to `sluice` in the build tree.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { sluiceBin } from './harness.mjs';

export const binDir = path.dirname(sluiceBin);
export const demoClusterBin = path.join(binDir, 'sluice-demo-cluster');
export const sluiceKubeBin = path.join(binDir, 'sluice-kube');

export async function startDemoCluster({ deadlineMs = 20000 } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-demo-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  const child = spawn(demoClusterBin, ['--listen', '127.0.0.1:0', '--write-kubeconfig', kubeconfig], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo cluster did not start in ${deadlineMs} ms:\n${stderr}`)), deadlineMs);
    lines.on('line', (line) => {
      const match = /^serving (https:\/\/\S+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`demo cluster exited with ${code} before serving:\n${stderr}`));
    });
  });
  return {
    url,
    kubeconfig,
    dir,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
