// The approval web UI in a real browser (Debian's chromium, headless, through
// playwright-core): log in, see a held call appear without reloading, open it, approve
// or deny it with a comment, and what an attacker cannot do (script through arguments,
// POSTs without the CSRF token or from another origin).
//
// The backend is `sluice run --ui` itself, holding a real agent's calls.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { chromium } from 'playwright-core';

import { fixtureServer, repoRoot, sluiceBin } from '../support/harness.mjs';
import { UiBackend, deadline } from '../support/ui_backend.mjs';

const chromiumBin = process.env.CHROMIUM || '/usr/bin/chromium';
const outputDir = process.env.E2E_OUTPUT_DIR ?? path.join(repoRoot, 'test-output/e2e');
// The docs' screenshots are refreshed on request only, so that a test run leaves the
// worktree clean: UPDATE_DOCS_SCREENSHOTS=1 ctest -R e2e
const docsImages = process.env.UPDATE_DOCS_SCREENSHOTS === '1' ? path.join(repoRoot, 'docs/images') : null;

describe('the approval web UI in chromium', () => {
  let backend;
  let url;
  let browser;
  let page;
  const pageErrors = [];

  before(async () => {
    mkdirSync(outputDir, { recursive: true });
    if (docsImages) mkdirSync(docsImages, { recursive: true });
    // The user's hash comes from `sluice passwd`, as an operator would make it.
    const hash = execFileSync(sluiceBin, ['passwd', '--cost', '10'], { input: 'correct horse\n' }).toString().trim();
    assert.match(hash, /^scrypt\$ln=10,r=8,p=1\$/);
    backend = await UiBackend.start({
      config: (db) =>
        `audit:\n  path: ${db}\nui:\n  users: [{ name: alice, password: "${hash}", roles: [approver] }]\n` +
        'policy:\n  default: allow\n  rules:\n' +
        '    - { name: changes, match: { tool: ["deployments_scale", "pods_delete", "manifest_apply"] }, ' +
        'action: require_approval, reason: "changes need an approver" }\n',
      server: fixtureServer('governed-server.mjs'),
      sluiceArgs: ['--principal', 'agent'],
    });
    url = backend.url;
    browser = await chromium.launch({ executablePath: chromiumBin, headless: true, args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  after(async () => {
    await browser?.close();
    await backend?.stop();
  });

  test('logging in leads to the pending list, and a held call appears without a reload', async () => {
    await page.goto(url);
    assert.match(page.url(), /\/login$/);
    await page.fill('#user', 'alice');
    await page.fill('#password', 'wrong');
    await page.click('button[type=submit]');
    await page.waitForSelector('#login-error:not([hidden])');
    await page.fill('#password', 'correct horse');
    await page.click('button[type=submit]');
    await page.waitForSelector('#live.on', { timeout: deadline });
    assert.equal(new URL(page.url()).pathname, '/');

    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    await backend.hold({ tool: 'deployments_scale', arguments: { namespace: 'prod', name: 'web', replicas: 5 } });
    await page.waitForSelector('#pending-table a.tool:text("deployments_scale")', { timeout: deadline });
    assert.equal(navigations, 0, 'the row arrived over server-sent events, not by reloading');
    assert.equal(await page.textContent('#pending-count'), '1');
  });

  test('an argument holding markup renders as text and runs nothing', async () => {
    const payload = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
    const id = await backend.hold({
      tool: 'manifest_apply',
      arguments: { manifest: `kind: ConfigMap\nmetadata: { name: notes, namespace: prod }\ndata:\n  note: '${payload}'\n` },
    });
    await page.waitForSelector(`tr[data-href="/approvals/${id}"]`, { timeout: deadline });
    await page.screenshot({ path: path.join(outputDir, 'pending.png') });
    if (docsImages) await page.screenshot({ path: path.join(docsImages, 'web-ui-pending.png') });

    await page.click(`tr[data-href="/approvals/${id}"] a.tool`);
    await page.waitForSelector('#arguments');
    const shown = await page.textContent('#arguments');
    assert.ok(shown.includes(JSON.stringify(payload).slice(1, -1)), 'the markup is shown as text');
    assert.equal(await page.$$eval('#arguments *', (nodes) => nodes.length), 0, 'no element was created from it');
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    await page.screenshot({ path: path.join(outputDir, 'detail.png'), fullPage: true });
    if (docsImages) await page.screenshot({ path: path.join(docsImages, 'web-ui-detail.png'), fullPage: true });

    await page.fill('#comment', 'not with markup in it');
    await page.click('#deny');
    const { request, result } = await backend.decided(id);
    assert.equal(request.state, 'denied');
    assert.equal(request.votes[0].approver, 'alice');
    assert.equal(request.comment, 'not with markup in it');
    assert.equal(result.isError, true);
    assert.match(result.content[0].text, /^Denied by approver alice: not with markup in it/);
    await page.waitForSelector('#decide-result');
  });

  test('approving with a comment completes the held call', async () => {
    const id = await backend.hold({ tool: 'deployments_scale', arguments: { namespace: 'prod', name: 'api', replicas: 3 } });
    await page.goto(url);
    await page.waitForSelector(`tr[data-href="/approvals/${id}"]`, { timeout: deadline });
    await page.click(`tr[data-href="/approvals/${id}"] a.tool`);
    await page.waitForSelector('#approve');
    await page.fill('#comment', 'rollout window, ok');
    await page.click('#approve');
    const { request, result } = await backend.decided(id);
    assert.equal(request.state, 'approved');
    assert.equal(request.votes[0].comment, 'rollout window, ok');
    // The agent's call ran, once, with exactly the arguments that were held.
    assert.equal(result.content[0].text, 'deployments_scale ran with {"namespace":"prod","name":"api","replicas":3}');
    assert.deepEqual(backend.upstreamCalls(), [{ name: 'deployments_scale', arguments: { namespace: 'prod', name: 'api', replicas: 3 } }]);
    await page.waitForSelector('.badge.state-approved');

    // What the proxy reported to /metrics along the way.
    const metrics = await (await fetch(new URL('/metrics', url))).text();
    assert.match(metrics, /^sluice_tool_calls_total\{decision="require_approval"\} [1-9]/m);
    assert.match(metrics, /^sluice_approvals_total\{state="approved"\} 1$/m);
    assert.match(metrics, /^sluice_approvals_total\{state="denied"\} 1$/m);
    assert.match(metrics, /^sluice_approval_wait_seconds_count 2$/m);
  });

  test('a POST without the CSRF token is refused with 403', async () => {
    const id = await backend.hold({ tool: 'pods_delete', arguments: { namespace: 'prod', name: 'db-0' } });
    const before = backend.decisions();
    const status = await page.evaluate(async (target) => {
      const response = await fetch(target, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      return response.status;
    }, `/api/approvals/${id}/approve`);
    assert.equal(status, 403);
    assert.equal(backend.decisions(), before);
  });

  test('a page on another port of the same host cannot approve, though the browser sends the cookie', async () => {
    const id = await backend.hold({ tool: 'pods_delete', arguments: { namespace: 'prod', name: 'etcd-0' } });
    const before = backend.decisions();
    // The attacker's page: same host, another port, so "same-site" to the browser.
    const target = new URL(`/api/approvals/${id}/approve`, url).href;
    const attacker = createServer((request, response) => {
      response.setHeader('Content-Type', 'text/html');
      response.end(`<!doctype html><script>
        fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', credentials: 'include',
          headers: { 'Content-Type': 'text/plain' }, body: '{}' })
          .finally(() => { document.title = 'sent'; });
      </script>`);
    });
    attacker.listen(0, '127.0.0.1');
    await once(attacker, 'listening');
    try {
      const other = await page.context().newPage();
      await other.goto(`http://127.0.0.1:${attacker.address().port}/`);
      await other.waitForFunction(() => document.title === 'sent', null, { timeout: deadline });
      await other.close();
    } finally {
      attacker.close();
    }
    assert.equal(backend.decisions(), before, 'the foreign POST never reached the desk');
    const state = await page.evaluate(async (path) => (await (await fetch(path)).json()).request.state, `/api/approvals/${id}`);
    assert.equal(state, 'pending');
  });

  test('the pages raised no script errors (a CSP violation would be one)', () => {
    assert.deepEqual(pageErrors, []);
  });
});
