// The approval web UI against an attacker, in a real browser (Debian's chromium through
// playwright-core) and over plain HTTP: markup in every field that carries the
// client's, the upstream's or an operator's data renders as text and runs nothing;
// a page on another origin can neither frame the UI nor post to it; every response
// carries the security headers; a session id planted before login is never the one
// after it; bad logins for an account are throttled; the login's `next` never leads
// off the server.
//
// The backend is `sluice run --ui` itself, holding the calls of a real agent to a
// real SDK server whose tool is named and described in markup.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { chromium } from 'playwright-core';

import { fixtureServer, sluiceBin } from '../support/harness.mjs';
import { UiBackend, deadline } from '../support/ui_backend.mjs';

const chromiumBin = process.env.CHROMIUM || '/usr/bin/chromium';

// Markup that would become elements (found by their data-xss attribute) and run
// script if any field were inserted as HTML; no quotes, so that it fits YAML and JSON as is.
const payload = (field) => `<img src=x data-xss=${field} onerror=window.__pwned=1><script data-xss=${field}>window.__pwned=2</script>`;
const hostileTool = payload('tool');

describe('the approval web UI under attack', () => {
  let backend;
  let browser;
  let context;
  let page;
  const pageErrors = [];

  before(async () => {
    const hash = execFileSync(sluiceBin, ['passwd', '--cost', '10'], { input: 'correct horse\n' }).toString().trim();
    backend = await UiBackend.start({
      config: (db) =>
        `audit:\n  path: ${db}\nui:\n  users:\n` +
        `    - { name: alice, password: "${hash}", roles: [approver] }\n` +
        `    - { name: bob, password: "${hash}", roles: [approver] }\n` +
        'policy:\n  default: allow\n  rules:\n' +
        `    - { name: '${payload('rule')}', match: { tool: "*" }, action: require_approval, reason: '${payload('reason')}' }\n`,
      server: fixtureServer('hostile-server.mjs'),
      sluiceArgs: ['--principal', payload('principal')],
      env: { HOSTILE_TOOL: JSON.stringify({ name: hostileTool, description: payload('description') }) },
    });
    browser = await chromium.launch({ executablePath: chromiumBin, headless: true, args: ['--no-sandbox'] });
    context = await browser.newContext();
    // Before any of the UI's own scripts: a record of what the page's CSP refused
    // (an injected inline handler would be refused, and so show up here).
    await context.addInitScript(() => {
      window.__violations = [];
      document.addEventListener('securitypolicyviolation', (event) => window.__violations.push(event.violatedDirective));
    });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  after(async () => {
    await browser?.close();
    await backend?.stop();
  });

  // Nothing of the markup became an element, ran, or was refused by the CSP; and it
  // is on the page as text.
  async function assertInert(view, ...fields) {
    await page.waitForLoadState('load');
    assert.equal(await page.$$eval('[data-xss]', (nodes) => nodes.length), 0, `${view}: markup became elements`);
    assert.equal(await page.evaluate(() => window.__pwned), undefined, `${view}: script ran`);
    assert.deepEqual(await page.evaluate(() => window.__violations), [], `${view}: the CSP had to refuse something`);
    const shown = await page.textContent('main');
    for (const field of fields) assert.ok(shown.includes(`<img src=x data-xss=${field} `), `${view}: the ${field} is shown as text`);
  }

  // Opens `path` and waits for `selector`; on a timeout, says what the page showed instead.
  async function open(path, selector) {
    await page.goto(new URL(path, backend.url).href);
    try {
      await page.waitForSelector(selector, { timeout: deadline });
    } catch (error) {
      throw new Error(`${path}: no ${selector}; the page shows: ${await page.textContent('main')}`);
    }
  }

  async function login(user, password) {
    await page.goto(new URL('/login', backend.url).href);
    await page.fill('#user', user);
    await page.fill('#password', password);
    await page.click('button[type=submit]');
  }

  test('a session id planted before login is not the one after it, and does not log anyone in', async () => {
    const planted = 'a'.repeat(32);
    await context.addCookies([{ name: 'sluice_session', value: planted, url: backend.url }]);
    await login('alice', 'correct horse');
    await page.waitForSelector('#live.on', { timeout: deadline });
    const cookie = (await context.cookies(backend.url)).find((c) => c.name === 'sluice_session');
    assert.ok(cookie && cookie.value !== planted, 'the login set a new session id');
    assert.ok(cookie.value.length >= 32, 'at least 128 bits');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    const withPlanted = await fetch(new URL('/api/session', backend.url), { headers: { Cookie: `sluice_session=${planted}` } });
    assert.equal(withPlanted.status, 401);
  });

  test('markup in the tool, the arguments, principal, rule, reason and comment renders as text', async () => {
    const id = await backend.hold({ tool: hostileTool, arguments: { text: payload('arguments') } });
    await page.goto(backend.url);
    await page.waitForSelector(`tr[data-href="/approvals/${id}"]`, { timeout: deadline });
    await assertInert('the pending list', 'tool', 'principal', 'rule', 'arguments');

    await page.click(`tr[data-href="/approvals/${id}"] a.tool`);
    await page.waitForSelector('#arguments');
    await assertInert('the request', 'tool', 'principal', 'rule', 'reason', 'arguments');
    await page.fill('#comment', payload('comment'));
    await page.click('#deny');
    const { request, result } = await backend.decided(id);
    assert.equal(request.state, 'denied');
    assert.equal(result.isError, true);
    await page.waitForSelector('#decide-result');
    await assertInert('the decided request', 'tool', 'comment');

    await open('/history', 'main table');
    await assertInert('the history', 'tool', 'principal', 'comment');

    await open('/audit', 'main table.audit');
    await assertInert('the audit log', 'tool', 'principal', 'rule');
    await open('/pins', 'main h1');
    await assertInert('the tool pins');

    assert.deepEqual(pageErrors, []);
  });

  test('a POST with a wrong CSRF token is refused with 403 and decides nothing', async () => {
    const id = await backend.hold({ tool: 'echo', arguments: { text: 'csrf' } });
    const before = backend.decisions();
    const status = await page.evaluate(async (target) => {
      const response = await fetch(target, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': 'f'.repeat(32) },
        body: JSON.stringify({ comment: 'forged' }),
      });
      return response.status;
    }, `/api/approvals/${id}/approve`);
    assert.equal(status, 403);
    assert.equal(backend.decisions(), before);
  });

  test('a page on another origin cannot frame the UI (clickjacking)', async () => {
    const attacker = createServer((request, response) => {
      response.setHeader('Content-Type', 'text/html');
      response.end(`<!doctype html><iframe id=victim src="${backend.url}"></iframe>`);
    });
    attacker.listen(0, '127.0.0.1');
    await once(attacker, 'listening');
    try {
      const other = await context.newPage();
      await other.goto(`http://127.0.0.1:${attacker.address().port}/`);
      await other.waitForFunction(() => document.getElementById('victim') !== null);
      const frame = await (await other.$('#victim')).contentFrame();
      await frame.waitForLoadState('load');
      // Refused by frame-ancestors / X-Frame-Options: chromium shows its own error page instead.
      assert.equal(await frame.$('#live, main, #login-form'), null, 'the UI rendered inside a foreign page');
      await other.close();
    } finally {
      attacker.close();
    }
  });

  test('every response, page, script, API, error and event stream, carries the security headers', async () => {
    const cookie = (await context.cookies(backend.url)).find((c) => c.name === 'sluice_session');
    const origin = new URL(backend.url).origin;
    const asUser = { Cookie: `sluice_session=${cookie.value}` };
    const requests = [
      ['GET', '/login', {}],
      ['GET', '/', asUser],
      ['GET', '/', {}],
      ['GET', '/history', asUser],
      ['GET', '/assets/app.js', {}],
      ['GET', '/assets/nothing.js', {}],
      ['GET', '/api/approvals', asUser],
      ['GET', '/api/approvals', {}],
      ['GET', '/no-such-page', asUser],
      ['GET', '/healthz', {}],
      ['GET', '/metrics', {}],
      ['POST', '/api/login', { Origin: origin, 'Content-Type': 'application/json' }, '{"user":"nobody","password":"x"}'],
      ['POST', '/api/approvals/x/approve', { ...asUser, Origin: 'http://127.0.0.1:1' }, '{}'],
      ['DELETE', '/api/approvals', asUser],
    ];
    for (const [method, path, headers, body] of requests) {
      const response = await fetch(new URL(path, backend.url), { method, headers, body, redirect: 'manual' });
      const what = `${method} ${path} (${response.status})`;
      assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, what);
      assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/, what);
      assert.equal(response.headers.get('x-frame-options'), 'DENY', what);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', what);
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer', what);
      assert.equal(response.headers.get('cache-control'), 'no-store', what);
      await response.arrayBuffer();
    }
    const controller = new AbortController();
    const events = await fetch(new URL('/api/events', backend.url), { headers: asUser, signal: controller.signal });
    assert.equal(events.headers.get('content-type'), 'text/event-stream');
    assert.equal(events.headers.get('x-frame-options'), 'DENY');
    assert.match(events.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    controller.abort();
  });

  test("bad logins for one account are answered 429, also with the right password, and other accounts are not held up", async () => {
    const origin = new URL(backend.url).origin;
    const attempt = (user, password) =>
      fetch(new URL('/api/login', backend.url), {
        method: 'POST',
        headers: { Origin: origin, 'Content-Type': 'application/json' },
        body: JSON.stringify({ user, password }),
      });
    const statuses = [];
    let retryAfter = null;
    for (let i = 0; i < 12; i++) {
      const response = await attempt('bob', `guess ${i}`);
      statuses.push(response.status);
      if (response.status === 429) retryAfter = Number(response.headers.get('retry-after'));
      await response.arrayBuffer();
    }
    // A few free guesses, then nothing but 429 while the account is blocked.
    const free = statuses.indexOf(429);
    assert.ok(free >= 1 && free <= 10, `statuses ${statuses}`);
    assert.deepEqual(statuses, [...Array(free).fill(401), ...Array(12 - free).fill(429)]);
    assert.ok(retryAfter >= 1, `Retry-After: ${retryAfter}`);
    const right = await attempt('bob', 'correct horse');
    assert.equal(right.status, 429, 'a guess that happens to be right is throttled too');
    const other = await attempt('alice', 'correct horse');
    assert.equal(other.status, 200, 'another account logs in');
  });

  test("the login's next never leads off the server", async () => {
    const origin = new URL(backend.url).origin;
    for (const next of ['//example.org/', '/\\example.org/', 'https://example.org/', '/\t/example.org/', '/\n/example.org/', ' //example.org/']) {
      // Away from the app first: logged out, it would send itself to the login page.
      await page.goto('about:blank');
      await context.clearCookies();
      await page.goto(new URL(`/login?next=${encodeURIComponent(next)}`, backend.url).href);
      await page.fill('#user', 'alice');
      await page.fill('#password', 'correct horse');
      await page.click('button[type=submit]');
      await page.waitForURL((url) => url.origin !== origin || url.pathname !== '/login', { waitUntil: 'commit', timeout: deadline });
      assert.equal(new URL(page.url()).origin, origin, `next=${JSON.stringify(next)} led to ${page.url()}`);
    }
  });
});
