// The approval UI. Every value from the server reaches the page as a text node or
// textContent (el() below), never parsed as markup: tool arguments are attacker-controlled.
'use strict';

const state = {
  session: null,
  clockOffset: 0,     // server time minus local time, in ms
  pending: new Map(), // id -> request, for the pending list and the counter
  page: null,
  selected: 0,
  events: null,
};

// ---- DOM and formatting ----------------------------------------------------------

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function parseTime(text) {
  if (!text) return NaN;
  return Date.parse(String(text).replace(/(\.\d{3})\d+/, '$1'));
}

function now() { return Date.now() + state.clockOffset; }

function duration(ms) {
  if (!Number.isFinite(ms)) return '–';
  if (Math.abs(ms) < 1000) ms = 0;  // clock skew of a few ms must not show as "-0s"
  const negative = ms < 0;
  let s = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const text = h ? `${h}h ${String(m).padStart(2, '0')}m` : m ? `${m}m ${String(s).padStart(2, '0')}s` : `${s}s`;
  return negative ? '-' + text : text;
}

function shortTime(text) {
  const t = parseTime(text);
  if (!Number.isFinite(t)) return '';
  return new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function badge(kind, value) {
  return el('span', {class: `badge ${kind}-${String(value).replace(/[^a-z_]/g, '')}`}, value);
}

function preview(value, limit = 90) {
  const text = value === undefined ? '' : JSON.stringify(value);
  return text.length > limit ? text.slice(0, limit - 1) + '…' : text;
}

function pretty(value) { return JSON.stringify(value, null, 2); }

function votesText(request) {
  const yes = request.votes.filter((vote) => vote.approve).length;
  return `${yes}/${request.quorum}`;
}

function setMain(...children) {
  const main = document.getElementById('main');
  main.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
}

function showBanner(text, kind) {
  const banner = document.getElementById('banner');
  banner.textContent = text;
  banner.className = `banner ${kind || ''}`;
  banner.hidden = !text;
}

// ---- API -------------------------------------------------------------------------

async function api(path, options = {}) {
  const init = {headers: {}, ...options};
  if (init.method === 'POST') {
    init.headers['Content-Type'] = 'application/json';
    init.headers['X-CSRF-Token'] = state.session.csrf_token;
    init.body = JSON.stringify(options.body || {});
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    location.assign('/login?next=' + encodeURIComponent(location.pathname));
    throw new Error('login required');
  }
  const body = await response.json().catch(() => ({}));
  if (body.now) state.clockOffset = parseTime(body.now) - Date.now();
  return {status: response.status, ok: response.ok, body};
}

// ---- live updates ----------------------------------------------------------------

function setLive(on) {
  const live = document.getElementById('live');
  live.className = on ? 'live on' : 'live off';
  live.title = on ? 'Live updates: connected' : 'Live updates: reconnecting';
}

function updateCount() {
  const count = document.getElementById('pending-count');
  count.textContent = String(state.pending.size);
  count.classList.toggle('zero', state.pending.size === 0);
}

async function loadPending() {
  const {body} = await api('/api/approvals');
  state.pending = new Map((body.requests || []).map((request) => [request.id, request]));
  updateCount();
}

function connectEvents() {
  const events = new EventSource('/api/events');
  state.events = events;
  events.addEventListener('open', async () => {
    setLive(true);
    // Anything that changed while the stream was closed: re-read, then follow.
    await loadPending();
    rerender();
  });
  events.addEventListener('error', () => setLive(false));
  events.addEventListener('approval', (event) => {
    const request = JSON.parse(event.data);
    if (request.state === 'pending') state.pending.set(request.id, request);
    else state.pending.delete(request.id);
    updateCount();
    onApprovalEvent(request);
  });
}

function onApprovalEvent(request) {
  if (state.page === 'pending') renderPending();
  else if (state.page === 'detail' && state.detail && state.detail.id === request.id) {
    state.detail = request;
    renderDetail();
  }
}

function rerender() {
  if (state.page === 'pending') renderPending();
  else if (state.page === 'detail') loadDetail(state.detail ? state.detail.id : location.pathname.split('/')[2]);
}

// ---- pending list ----------------------------------------------------------------

function requestRow(request, index) {
  const waiting = now() - parseTime(request.created);
  const left = parseTime(request.expires) - now();
  return el('tr', {class: index === state.selected ? 'selected' : '', 'data-href': `/approvals/${request.id}`,
                   onclick: () => navigate(`/approvals/${request.id}`)},
    el('td', {class: 'num', 'data-since': request.created}, duration(waiting)),
    el('td', {class: `num ${left < 60000 ? 'urgent' : ''}`, 'data-until': request.expires}, duration(left)),
    el('td', {}, el('a', {href: `/approvals/${request.id}`, class: 'tool'}, request.tool)),
    el('td', {}, badge('class', request.tool_class)),
    el('td', {}, request.principal),
    el('td', {}, request.rule),
    el('td', {class: 'args mono'}, preview(request.arguments)),
    el('td', {class: 'num'}, votesText(request)));
}

function renderPending() {
  state.page = 'pending';
  const requests = [...state.pending.values()].sort((a, b) => parseTime(a.created) - parseTime(b.created));
  state.selected = Math.min(state.selected, Math.max(requests.length - 1, 0));
  const table = requests.length === 0
    ? el('p', {class: 'empty'}, 'No calls are waiting for approval. New ones appear here as they are held.')
    : el('table', {class: 'list', id: 'pending-table'},
        el('thead', {}, el('tr', {},
          ['Waiting', 'Expires in', 'Tool', 'Class', 'Principal', 'Rule', 'Arguments (redacted)', 'Votes']
            .map((name) => el('th', {scope: 'col'}, name)))),
        el('tbody', {}, requests.map(requestRow)));
  setMain(el('h1', {}, 'Pending approvals'), table);
}

// ---- one request -----------------------------------------------------------------

async function loadDetail(id) {
  const {status, body} = await api(`/api/approvals/${id}`);
  if (status !== 200) {
    setMain(el('h1', {}, 'Approval request'), el('p', {class: 'error'}, body.message || `Error ${status}`));
    return;
  }
  state.detail = body.request;
  renderDetail();
}

function field(name, ...value) {
  return [el('dt', {}, name), el('dd', {}, ...value)];
}

// `message`: the answer to this approver's vote. It stays while the page shows the same
// request, also when the event of that very change re-renders the page.
function renderDetail(message) {
  state.page = 'detail';
  const request = state.detail;
  if (message) state.notice = {id: request.id, ...message};
  else if (state.notice && state.notice.id === request.id) message = state.notice;
  const pending = request.state === 'pending';
  const facts = el('dl', {class: 'facts'},
    field('State', badge('state', request.state)),
    field('Tool', el('span', {class: 'mono'}, request.tool), ' ', badge('class', request.tool_class)),
    field('Upstream', request.upstream),
    field('Rule', el('span', {class: 'mono'}, request.rule)),
    field('Reason', request.reason || '–'),
    field('Principal', request.principal),
    field('Session', el('span', {class: 'mono'}, request.session)),
    field('Request id', el('span', {class: 'mono'}, request.id)),
    field('Created', shortTime(request.created)),
    field('Waiting', el('span', {'data-since': pending ? request.created : null},
      duration((pending ? now() : parseTime(request.decided)) - parseTime(request.created)))),
    field('Expires', shortTime(request.expires), pending
      ? el('span', {class: 'countdown', 'data-until': request.expires}, duration(parseTime(request.expires) - now()))
      : null),
    field('Quorum', `${votesText(request)} approvals` + (request.approver_roles.length ? ` from ${request.approver_roles.join(', ')}` : '')),
    field('Arguments hash', el('span', {class: 'mono small'}, request.arguments_hash)),
    request.decided ? field('Decided', shortTime(request.decided)) : [],
    request.comment ? field('Comment', request.comment) : []);

  const votes = request.votes.length === 0 ? el('p', {class: 'empty'}, 'No votes yet.')
    : el('table', {class: 'list'},
        el('thead', {}, el('tr', {}, ['Approver', 'Vote', 'Comment', 'Time'].map((name) => el('th', {scope: 'col'}, name)))),
        el('tbody', {}, request.votes.map((vote) => el('tr', {},
          el('td', {}, vote.approver),
          el('td', {}, badge('state', vote.approve ? 'approved' : 'denied')),
          el('td', {}, vote.comment),
          el('td', {class: 'num'}, shortTime(vote.time))))));

  const decide = pending ? el('form', {class: 'decide', id: 'decide-form', onsubmit: (event) => event.preventDefault()},
    el('label', {for: 'comment'}, 'Comment (recorded in the audit log; the agent sees it on a denial)'),
    el('textarea', {id: 'comment', rows: 3, maxlength: 4000}),
    el('div', {class: 'buttons'},
      el('button', {type: 'button', id: 'approve', class: 'approve', onclick: () => vote(true)}, 'Approve'),
      el('button', {type: 'button', id: 'deny', class: 'deny', onclick: () => vote(false)}, 'Deny'))) : null;

  setMain(
    el('p', {class: 'back'}, el('a', {href: '/'}, '← Pending approvals')),
    el('h1', {}, 'Approval request ', el('span', {class: 'mono'}, request.tool)),
    message ? el('p', {class: `notice ${message.kind}`, role: 'alert', id: 'decide-result'}, message.text) : null,
    el('div', {class: 'detail'},
      el('section', {}, facts),
      el('section', {},
        el('h2', {}, 'Arguments ', el('span', {class: 'hint'}, '(redacted)')),
        el('pre', {class: 'json', id: 'arguments'}, pretty(request.arguments)))),
    el('h2', {}, 'Votes'), votes, decide);
}

async function vote(approve) {
  const comment = document.getElementById('comment').value;
  for (const id of ['approve', 'deny']) document.getElementById(id).disabled = true;
  const {ok, body} = await api(`/api/approvals/${state.detail.id}/${approve ? 'approve' : 'deny'}`,
                               {method: 'POST', body: {comment}});
  if (body.request) state.detail = body.request;
  renderDetail({kind: ok ? 'ok' : 'error', text: body.message || (ok ? 'Recorded.' : 'Refused.')});
}

// ---- history ---------------------------------------------------------------------

async function renderHistory() {
  state.page = 'history';
  const {body} = await api('/api/approvals/history?limit=200');
  const requests = body.requests || [];
  state.selected = 0;
  setMain(el('h1', {}, 'Decided requests'), requests.length === 0 ? el('p', {class: 'empty'}, 'Nothing decided yet.')
    : el('table', {class: 'list'},
        el('thead', {}, el('tr', {}, ['Decided', 'State', 'Tool', 'Principal', 'Votes', 'Comment', 'Waited']
          .map((name) => el('th', {scope: 'col'}, name)))),
        el('tbody', {}, requests.map((request, index) => el('tr', {
          class: index === 0 ? 'selected' : '', 'data-href': `/approvals/${request.id}`,
          onclick: () => navigate(`/approvals/${request.id}`)},
          el('td', {class: 'num'}, shortTime(request.decided)),
          el('td', {}, badge('state', request.state)),
          el('td', {}, el('a', {href: `/approvals/${request.id}`, class: 'tool'}, request.tool)),
          el('td', {}, request.principal),
          el('td', {}, request.votes.map((v) => `${v.approver} ${v.approve ? '✓' : '✗'}`).join(', ')),
          el('td', {}, request.comment),
          el('td', {class: 'num'}, duration(parseTime(request.decided) - parseTime(request.created))))))));
}

// ---- audit log -------------------------------------------------------------------

const auditFilters = ['kind', 'tool', 'decision', 'principal', 'session', 'since', 'until', 'limit'];

async function renderAudit() {
  state.page = 'audit';
  if (!state.session.audit) {
    setMain(el('h1', {}, 'Audit log'), el('p', {class: 'empty'}, 'This Sluice keeps no audit log (audit.path is not set).'));
    return;
  }
  const params = new URLSearchParams(location.search);
  const form = el('form', {class: 'filters', id: 'audit-filters', onsubmit: (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const name of auditFilters) {
      const value = document.getElementById(`filter-${name}`).value.trim();
      if (value) query.set(name, value);
    }
    history.pushState(null, '', '/audit' + (query.toString() ? '?' + query : ''));
    renderAudit();
  }},
    auditFilters.map((name) => el('label', {},
      name, el('input', {id: `filter-${name}`, value: params.get(name) || '', size: name === 'limit' ? 4 : 12,
                        placeholder: name === 'since' || name === 'until' ? '2026-01-31T00:00' : ''}))),
    el('button', {type: 'submit'}, 'Filter'),
    el('button', {type: 'button', id: 'verify', onclick: verifyChain}, 'Verify chain'));
  const query = new URLSearchParams();
  for (const name of auditFilters) if (params.get(name)) query.set(name, params.get(name));
  const {status, body} = await api('/api/audit?' + query);
  const rows = body.events || [];
  setMain(el('h1', {}, 'Audit log'), form, el('p', {id: 'verify-result', class: 'notice', hidden: true}),
    status !== 200 ? el('p', {class: 'error'}, body.message || `Error ${status}`)
      : el('table', {class: 'list audit'},
          el('thead', {}, el('tr', {}, ['Seq', 'Time', 'Kind', 'Tool / method', 'Decision', 'Rule', 'Principal', 'Outcome', 'Detail']
            .map((name) => el('th', {scope: 'col'}, name)))),
          el('tbody', {}, rows.map((row) => {
            const r = typeof row.record === 'object' ? row.record : {};
            return el('tr', {title: `chain ${row.chain}`},
              el('td', {class: 'num'}, row.seq),
              el('td', {class: 'num'}, shortTime(row.time)),
              el('td', {}, r.kind || ''),
              el('td', {class: 'mono'}, r.tool || r.method || ''),
              el('td', {}, r.decision ? badge('decision', r.decision) : ''),
              el('td', {}, r.rule || ''),
              el('td', {}, r.principal || ''),
              el('td', {}, r.outcome || ''),
              el('td', {class: 'args mono'}, preview(r.arguments || r.summary || r.detail || '', 70)));
          }))),
    el('p', {class: 'hint'}, `Newest first, at most ${body.limit || ''} rows.`));
}

async function verifyChain() {
  const button = document.getElementById('verify');
  const result = document.getElementById('verify-result');
  button.disabled = true;
  result.hidden = false;
  result.className = 'notice';
  result.textContent = 'Verifying the hash chain…';
  const {ok, body} = await api('/api/audit/verify', {method: 'POST'});
  button.disabled = false;
  if (!ok) {
    result.className = 'notice error';
    result.textContent = body.message || 'Verification failed to run.';
  } else if (body.ok) {
    result.className = 'notice ok';
    result.textContent = `Chain holds: ${body.events} events, head ${body.head.slice(0, 16)}…`;
  } else {
    result.className = 'notice error';
    result.textContent = `Chain broken at seq ${body.bad_seq}: ${body.problem}`;
  }
}

// ---- tool pins -------------------------------------------------------------------

// A line diff (longest common subsequence) of two texts: [[' '|'-'|'+', line], …].
function lineDiff(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  const lengths = Array.from({length: a.length + 1}, () => new Array(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i][j] = a[i] === b[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
    }
  }
  const out = [];
  let i = 0; let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) { out.push([' ', a[i]]); i++; j++; }
    else if (lengths[i + 1][j] >= lengths[i][j + 1]) out.push(['-', a[i++]]);
    else out.push(['+', b[j++]]);
  }
  while (i < a.length) out.push(['-', a[i++]]);
  while (j < b.length) out.push(['+', b[j++]]);
  return out;
}

function pinReview(tool) {
  const before = tool.pinned_definition === null ? '' : pretty(tool.pinned_definition);
  const after = tool.current_definition === null ? '' : pretty(tool.current_definition);
  return el('div', {class: 'review'},
    el('pre', {class: 'diff'}, lineDiff(before, after).map(([mark, line]) =>
      el('span', {class: mark === '+' ? 'added' : mark === '-' ? 'removed' : ''}, `${mark} ${line}\n`))),
    el('button', {type: 'button', class: 'approve', onclick: async (event) => {
      event.target.disabled = true;
      const {ok, body} = await api('/api/pins/repin', {method: 'POST', body: {upstream: tool.upstream, tool: tool.tool}});
      showBanner(body.message || (ok ? 'Re-pinned.' : 'Refused.'), ok ? 'ok' : 'error');
      renderPins();
    }}, `Re-pin ${tool.tool} to this definition`));
}

async function renderPins() {
  state.page = 'pins';
  const {body} = await api('/api/pins');
  if (!body.enabled) {
    setMain(el('h1', {}, 'Tool pins'), el('p', {class: 'empty'}, 'Tool pinning is not in use (policy.annotations is not "pinned").'));
    return;
  }
  const tools = body.tools || [];
  const order = {changed: 0, unpinned: 1, pinned: 2};
  tools.sort((a, b) => order[a.state] - order[b.state] || a.tool.localeCompare(b.tool));
  setMain(el('h1', {}, 'Tool pins'),
    el('p', {class: 'hint'}, 'A changed or new tool is treated as "changed": its calls need approval until it is re-pinned.'),
    el('table', {class: 'list'},
      el('thead', {}, el('tr', {}, ['Upstream', 'Tool', 'State', 'Pinned hash', 'Current hash', 'Pinned by', 'Pinned at', '']
        .map((name) => el('th', {scope: 'col'}, name)))),
      el('tbody', {}, tools.map((tool) => {
        const row = el('tr', {},
          el('td', {}, tool.upstream),
          el('td', {class: 'mono'}, tool.tool),
          el('td', {}, badge('pin', tool.state)),
          el('td', {class: 'mono small'}, (tool.pinned_hash || '–').slice(0, 16)),
          el('td', {class: 'mono small'}, (tool.current_hash || '–').slice(0, 16)),
          el('td', {}, tool.pinned_by || ''),
          el('td', {class: 'num'}, shortTime(tool.pinned_at)),
          el('td', {}, tool.state === 'pinned' ? '' : el('button', {type: 'button', onclick: () => {
            const next = row.nextSibling;
            if (next && next.classList.contains('review-row')) next.remove();
            else row.after(el('tr', {class: 'review-row'}, el('td', {colspan: 8}, pinReview(tool))));
          }}, 'Review')));
        return row;
      }))));
}

// ---- navigation and keys ---------------------------------------------------------

function route() {
  const path = location.pathname;
  for (const link of document.querySelectorAll('nav a')) {
    const page = link.dataset.page;
    const active = (page === 'pending' && (path === '/' || path.startsWith('/approvals/'))) || path === '/' + page;
    if (active) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  state.selected = 0;
  if (path.startsWith('/approvals/')) { state.page = 'detail'; state.detail = null; return loadDetail(path.split('/')[2]); }
  if (path === '/history') return renderHistory();
  if (path === '/audit') return renderAudit();
  if (path === '/pins') return renderPins();
  return renderPending();
}

function navigate(path) {
  history.pushState(null, '', path);
  route();
  document.getElementById('main').focus();
}

function moveSelection(step) {
  const rows = [...document.querySelectorAll('table.list tbody tr[data-href]')];
  if (rows.length === 0) return;
  state.selected = Math.max(0, Math.min(rows.length - 1, state.selected + step));
  rows.forEach((row, index) => row.classList.toggle('selected', index === state.selected));
  rows[state.selected].scrollIntoView({block: 'nearest'});
}

let pendingG = false;
function onKey(event) {
  if (event.target.closest('input, textarea, select') || event.ctrlKey || event.metaKey || event.altKey) {
    if (event.key === 'Escape') event.target.blur();
    return;
  }
  if (pendingG) {
    pendingG = false;
    const page = {p: '/', h: '/history', l: '/audit', t: '/pins'}[event.key];
    if (page) { navigate(page); event.preventDefault(); }
    return;
  }
  const focus = (id) => { const node = document.getElementById(id); if (node) { node.focus(); event.preventDefault(); } };
  switch (event.key) {
    case 'j': moveSelection(1); break;
    case 'k': moveSelection(-1); break;
    case 'Enter': {
      const row = document.querySelectorAll('table.list tbody tr[data-href]')[state.selected];
      if (row && !event.target.closest('button, a')) { navigate(row.dataset.href); event.preventDefault(); }
      break;
    }
    case 'a': focus('approve'); break;
    case 'd': focus('deny'); break;
    case 'c': focus('comment'); break;
    case 'Escape': if (state.page === 'detail') navigate('/'); break;
    case 'g': pendingG = true; break;
    default: break;
  }
}

// The waiting times and countdowns tick without re-rendering (which would lose focus).
function tick() {
  for (const node of document.querySelectorAll('[data-since]')) node.textContent = duration(now() - parseTime(node.dataset.since));
  for (const node of document.querySelectorAll('[data-until]')) {
    const left = parseTime(node.dataset.until) - now();
    node.textContent = left > 0 ? duration(left) : 'expired';
    node.classList.toggle('urgent', left < 60000);
  }
}

async function main() {
  const {body} = await api('/api/session');
  state.session = body;
  document.getElementById('user').textContent = body.user;
  if (!body.login) {
    showBanner(`No login: this web UI has no configured users, so it listens on loopback only and anyone on this host acts as "${body.user}". Configure ui.users to require a login.`, 'warning');
  } else {
    const logout = document.getElementById('logout');
    logout.hidden = false;
    logout.addEventListener('click', async () => {
      await api('/api/logout', {method: 'POST'});
      location.assign('/login');
    });
  }
  document.addEventListener('keydown', onKey);
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[href^="/"]');
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    navigate(link.getAttribute('href'));
  });
  window.addEventListener('popstate', route);
  await loadPending();
  route();
  connectEvents();
  setInterval(tick, 1000);
}

main();
