// TLS on both sides, with certificates made by the openssl CLI for this run: the real
// SDK client over HTTPS to `sluice run --listen` with listen.tls, and Sluice as the
// client of an HTTPS upstream (mcp-proxy 6.7.19 with its own TLS, in front of
// server-everything) verifying the chain against upstream.ca and the certificate's host.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import {
  connectClient,
  everythingServer,
  fixturePath,
  freePort,
  openAnswering,
  repoRoot,
  sluiceBin,
  startSluiceHttp,
} from '../support/harness.mjs';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'sluice-tls-'));
const file = (name) => path.join(dir, name);

async function makeCa(name) {
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`), '-days', '1', '-subj', `/CN=${name}`]);
}

// A server certificate signed by `ca`, valid for `altNames` (subjectAltName syntax).
async function makeServerCert(name, ca, altNames) {
  writeFileSync(file(`${name}.ext`),
    `subjectAltName=${altNames}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
  await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${name}`]);
  await run('openssl', ['x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${ca}.pem`), '-CAkey', file(`${ca}.key`),
    '-CAcreateserial', '-out', file(`${name}.pem`), '-days', '1', '-extfile', file(`${name}.ext`)]);
}

function config(name, yaml) {
  writeFileSync(file(name), `${yaml}policy:\n  default: allow\n  rules: []\n`);
  return file(name);
}

// mcp-proxy serving server-everything over HTTPS with `cert`; resolves once it answers.
async function startHttpsProxy(cert) {
  const port = await freePort();
  const child = spawn(process.execPath, [
    path.join(repoRoot, 'node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs'), '--server', 'stream', '--host', '127.0.0.1',
    '--port', String(port), '--sslCert', file(`${cert}.pem`), '--sslKey', file(`${cert}.key`), '--', ...everythingServer,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise((resolve, reject) => {
    const seen = (chunk) => {
      output += chunk;
      if (/starting server on port/.test(output)) resolve();
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('exit', (code) => reject(new Error(`mcp-proxy exited with ${code}:\n${output}`)));
  });
  return { url: `https://127.0.0.1:${port}/mcp`, child };
}

const tlsListener = (cert) => config(`listen-${cert}.yaml`, `listen:\n  tls: { cert: ${file(`${cert}.pem`)}, key: ${file(`${cert}.key`)} }\n`);
const httpsUpstream = (url, ca) => config(`upstream-${ca}.yaml`, `upstream:\n  url: ${url}\n  ca: ${file(`${ca}.pem`)}\n`);

describe('TLS', () => {
  let listener;
  let upstream;
  let mismatched;

  before(async () => {
    await Promise.all([makeCa('test-ca'), makeCa('other-ca')]);
    await Promise.all([
      makeServerCert('loopback', 'test-ca', 'DNS:localhost,IP:127.0.0.1'),
      makeServerCert('elsewhere', 'test-ca', 'DNS:elsewhere.example'),
    ]);
    [listener, upstream, mismatched] = await Promise.all([
      startSluiceHttp(everythingServer, ['--config', tlsListener('loopback')]),
      startHttpsProxy('loopback'),
      startHttpsProxy('elsewhere'),
    ]);
  });
  after(async () => {
    await listener?.stop();
    upstream?.child.kill();
    mismatched?.child.kill();
  });

  it('the listener speaks HTTPS to the SDK client, progress streaming as it happens', async () => {
    assert.equal(listener.url.protocol, 'https:');
    const { stdout } = await run(process.execPath, [fixturePath('https-client.mjs'), listener.url.href], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: file('test-ca.pem') },
    });
    const { echoed, progress, finished } = JSON.parse(stdout);
    assert.match(JSON.stringify(echoed), /over TLS/);
    assert.ok(progress.length >= 2, JSON.stringify(progress));
    assert.ok(progress[0].at < finished - 300, `first progress at ${progress[0].at} ms, result at ${finished} ms`);
  });

  it('the listener does not answer plain HTTP', async () => {
    const plain = new URL(listener.url);
    plain.protocol = 'http:';
    await assert.rejects(fetch(plain, { method: 'POST', body: '{}' }));
  });

  it('an HTTPS upstream verified against upstream.ca works end to end', async () => {
    const peer = await openAnswering([sluiceBin, 'run', '--config', httpsUpstream(upstream.url, 'test-ca')]);
    try {
      const echoed = await peer.client.callTool({ name: 'echo', arguments: { message: 'TLS both ways' } });
      assert.match(JSON.stringify(echoed), /TLS both ways/);
    } finally {
      await peer.client.close();
    }
  });

  async function refusedWith(url, ca) {
    const peer = await connectClient([sluiceBin, 'run', '--config', httpsUpstream(url, ca)]);
    const outcome = await peer.connect().then(() => 'connected', (error) => String(error));
    await peer.client.close();
    assert.notEqual(outcome, 'connected');
    return peer.stderr.join('');
  }

  it('an upstream certificate from another CA is refused, and the log says why', async () => {
    const log = await refusedWith(upstream.url, 'other-ca');
    assert.match(log, /TLS handshake with 127\.0\.0\.1:\d+ failed: certificate verify failed: unable to get local issuer certificate/);
  });

  it('an upstream certificate for another host is refused, and the log says why', async () => {
    const log = await refusedWith(mismatched.url, 'test-ca');
    assert.match(log, /TLS handshake with 127\.0\.0\.1:\d+ failed: certificate verify failed: IP address mismatch/);
    const byName = new URL(mismatched.url);
    byName.hostname = 'localhost';
    assert.match(await refusedWith(byName.href, 'test-ca'), /failed: certificate verify failed: hostname mismatch/);
  });
});
