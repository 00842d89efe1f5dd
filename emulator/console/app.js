// eum-social console: shell (top bar, navigation, hash router), token form, live stream wiring.

import {
  TOKEN_KEY, api, bus, clear, errorText, fmtDateTime, h, on, onAuthRequired, onClock, poll, select,
  setClock, setScope, state, virtualNow,
} from './core.js';
import { onStreamMessage, onStreamStatus, startStream, stopStream } from './stream.js';
import * as chats from './chats.js';
import * as events from './events.js';
import * as pages from './pages.js';

const PAGES = [
  ['chats', 'Chats', chats.mount],
  ['events', 'Events', events.mountEvents],
  ['templates', 'Templates', pages.mountTemplates],
  ['clock', 'Clock', pages.mountClock],
  ['numbers', 'Numbers', pages.mountNumbers],
  ['requests', 'Requests', pages.mountRequests],
  ['faults', 'Faults', pages.mountFaults],
  ['quotas', 'Quotas', pages.mountQuotas],
  ['sns', 'SNS', events.mountSns],
];
const PAGE_MAP = new Map(PAGES.map(([key, title, mount]) => [key, { key, title, mount }]));

const ui = {};
let current = null; // {key, view, root}
let timers = [];
let locked = false;

// ---------------------------------------------------------------------------------------------
// Routing

export function parseRoute() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, queryString] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const page = PAGE_MAP.has(parts[0]) ? parts[0] : 'chats';
  return { page, parts: PAGE_MAP.has(parts[0]) ? parts.slice(1) : [], query: new URLSearchParams(queryString || '') };
}

function route() {
  if (locked) return;
  const r = parseRoute();
  if (current && current.key === r.page && current.view.update && current.view.update(r) !== false) {
    markNav(r.page);
    return;
  }
  mountPage(r);
}

function mountPage(r) {
  if (current) {
    try {
      current.view.unmount && current.view.unmount();
    } catch (e) {
      console.warn(e);
    }
  }
  const page = PAGE_MAP.get(r.page);
  const root = h('section', { class: `page page-${page.key}`, 'aria-labelledby': `page-title-${page.key}` });
  clear(ui.main).append(root);
  document.title = `${page.title} · eum-social console`;
  markNav(page.key);
  let view;
  try {
    view = page.mount(root, r) || {};
  } catch (e) {
    console.error(e);
    root.append(h('p', { class: 'notice error', role: 'alert' }, `This page failed: ${errorText(e)}`));
    view = {};
  }
  current = { key: page.key, view, root };
}

function markNav(key) {
  for (const a of ui.nav.querySelectorAll('a.nav-link')) {
    if (a.dataset.page === key) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function remount() {
  if (locked) return;
  mountPage(parseRoute());
}

// ---------------------------------------------------------------------------------------------
// Token form (401 anywhere)

function showTokenForm() {
  locked = true;
  stopStream();
  for (const stop of timers) stop();
  timers = [];
  if (current && current.view.unmount) {
    try {
      current.view.unmount();
    } catch { /* ignore */ }
  }
  current = null;
  const app = document.getElementById('app');
  clear(app);
  document.title = 'Token required · eum-social console';
  const input = h('input', { id: 'token-input', type: 'password', name: 'token', autocomplete: 'current-password', required: true });
  const form = h('form', { id: 'token-form', class: 'token-form', 'aria-labelledby': 'token-title' },
    h('h1', { id: 'token-title' }, 'eum-social console'),
    h('p', null, 'This emulator runs with a control token. Enter it to continue.'),
    h('label', { for: 'token-input' }, 'Control token'),
    input,
    h('button', { type: 'submit', class: 'primary', id: 'token-submit' }, 'Continue'),
  );
  if (sessionStorage.getItem(TOKEN_KEY)) {
    form.append(h('p', { class: 'notice error', role: 'alert' }, 'The stored token was refused.'));
  }
  on(form, 'submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    location.reload();
  });
  app.append(h('main', { class: 'token-page', id: 'main' }, form));
  input.focus();
}

// ---------------------------------------------------------------------------------------------
// Shell

function buildShell(accounts) {
  const app = document.getElementById('app');
  clear(app);

  ui.scope = select([], { id: 'scope-select', 'aria-label': 'Account and Region' });
  fillScope(accounts);
  ui.scopeKeys = (accounts.accounts || []).map((a) => `${a.account}|${a.region}|${a.wabas}`).join(',');
  on(ui.scope, 'change', () => {
    const [account, region] = ui.scope.value.split('|');
    setScope(account, region);
    startStream();
    // ids of one account/Region mean nothing in another: back to the page's top level
    const r = parseRoute();
    if (r.parts.length) {
      location.hash = `#/${r.page}`;
      if (current && current.key === r.page) remount();
    } else {
      remount();
    }
  });
  on(ui.scope, 'focus', refreshAccounts);

  ui.clockText = h('time', { id: 'top-clock-time' }, '—');
  ui.frozen = h('span', { id: 'frozen-badge', class: 'badge badge-frozen', hidden: true }, 'frozen');
  ui.clock = h('a', { id: 'top-clock', class: 'top-clock', href: '#/clock', 'aria-label': 'Virtual clock (open the Clock page)' },
    h('span', { class: 'top-clock-icon', 'aria-hidden': 'true' }, '⏱'), ui.clockText, ui.frozen);
  const advance = h('div', { class: 'top-advance', role: 'group', 'aria-label': 'Advance the virtual clock' },
    [[60, '+1m', '1 minute'], [3600, '+1h', '1 hour'], [86400, '+24h', '24 hours']].map(([secs, text, long]) => {
      const b = h('button', { type: 'button', class: 'small advance-top', dataset: { advance: secs }, 'aria-label': `Advance the virtual clock by ${long}`, title: `Advance by ${long}` }, text);
      on(b, 'click', () => advanceClock({ seconds: secs }, b));
      return b;
    }));
  ui.live = h('span', { id: 'live-badge', class: 'badge badge-live', 'data-state': 'reconnecting', role: 'status' }, 'reconnecting…');
  ui.faults = h('a', { id: 'faults-badge', class: 'badge badge-faults', href: '#/faults', hidden: true }, '');
  ui.reset = h('button', { id: 'reset-button', type: 'button', class: 'danger small' }, 'Reset');
  on(ui.reset, 'click', resetAll);

  const header = h('header', { class: 'topbar' },
    h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '✉'), h('span', { class: 'brand-name' }, 'eum-social console')),
    h('div', { class: 'topbar-items' },
      h('div', { class: 'scope' }, ui.scope),
      h('div', { class: 'clock-group' }, ui.clock, advance),
      ui.live,
      ui.faults,
      ui.reset,
    ),
  );

  ui.nav = h('nav', { class: 'nav', 'aria-label': 'Pages' },
    h('ul', null, PAGES.map(([key, title]) =>
      h('li', null, h('a', { class: 'nav-link', href: `#/${key}`, dataset: { page: key } }, title)))));

  ui.main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
  ui.toast = h('div', { id: 'top-error', class: 'notice error top-error', role: 'alert', hidden: true });
  app.append(header, ui.nav, ui.toast, ui.main);
  labelTables(ui.main);
}

/** Gives every data-table cell a data-label (its column header) so narrow screens can stack rows. */
function labelTables(root) {
  let queued = false;
  const run = () => {
    queued = false;
    for (const table of root.querySelectorAll('table.data-table')) {
      const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim());
      for (const tr of table.tBodies[0] ? table.tBodies[0].rows : []) {
        if (tr.cells.length === 1 && tr.cells[0].colSpan > 1) continue;
        [...tr.cells].forEach((td, i) => {
          if (heads[i] && td.dataset.label !== heads[i]) td.dataset.label = heads[i];
        });
      }
    }
  };
  new MutationObserver(() => {
    if (!queued) {
      queued = true;
      requestAnimationFrame(run);
    }
  }).observe(root, { childList: true, subtree: true });
}

function fillScope(data) {
  const sel = ui.scope;
  clear(sel);
  const seen = new Set();
  const list = (data && data.accounts) || [];
  const addOpt = (account, region, extra) => {
    const key = `${account}|${region}`;
    if (seen.has(key)) return;
    seen.add(key);
    sel.append(h('option', { value: key }, `${account} · ${region}${extra || ''}`));
  };
  for (const a of list) addOpt(a.account, a.region, ` (${a.wabas} WABA${a.wabas === 1 ? '' : 's'})`);
  if (state.defaults.account) addOpt(state.defaults.account, state.defaults.region);
  if (state.scope.account) addOpt(state.scope.account, state.scope.region);
  sel.value = `${state.scope.account}|${state.scope.region}`;
}

let accountsLoadedAt = 0;

async function refreshAccounts() {
  try {
    const data = await api('/accounts');
    const keys = (data.accounts || []).map((a) => `${a.account}|${a.region}|${a.wabas}`).join(',');
    if (keys === ui.scopeKeys) return; // unchanged: leave an open dropdown alone
    ui.scopeKeys = keys;
    const keep = ui.scope.value;
    fillScope(data);
    ui.scope.value = keep;
  } catch { /* shown elsewhere */ }
}

/** Shows an error under the top bar (never a blocking alert). */
function toast(text) {
  if (!ui.toast) return;
  ui.toast.textContent = text;
  ui.toast.hidden = false;
  clearTimeout(ui.toastTimer);
  ui.toastTimer = setTimeout(() => { ui.toast.hidden = true; }, 8000);
}

/** Advances the virtual clock (top bar buttons); the current page refetches. */
async function advanceClock(body, button) {
  button.setAttribute('aria-busy', 'true');
  try {
    const c = await api('/clock/advance', { method: 'POST', body });
    setClock(c);
    if (current && current.view.onStream) current.view.onStream('changed', { clock: c });
  } catch (e) {
    toast(`Could not advance the clock: ${errorText(e)}`);
  } finally {
    button.removeAttribute('aria-busy');
  }
}

async function resetAll() {
  if (!window.confirm('Reset the emulator? Every account and Region goes back to the seed; messages, events and deliveries are dropped.')) return;
  try {
    await api('/reset', { method: 'POST', body: {} });
    const c = await api('/clock');
    setClock(c);
    refreshAccounts();
    remount();
  } catch (e) {
    toast(`Reset failed: ${errorText(e)}`);
  }
}

function tickClock() {
  if (!ui.clockText) return;
  const c = state.clock;
  ui.clockText.textContent = c ? fmtDateTime(virtualNow()) : '—';
  if (c) ui.clockText.setAttribute('datetime', new Date(virtualNow()).toISOString());
  ui.frozen.hidden = !(c && c.frozen);
  ui.clock.dataset.frozen = c && c.frozen ? 'true' : 'false';
}

async function refreshFaultBadge() {
  try {
    const data = await api('/faults');
    setFaultCount(((data && data.rules) || []).length);
  } catch { /* ignore */ }
}

function setFaultCount(n) {
  state.faultCount = n;
  if (!ui.faults) return;
  ui.faults.hidden = n === 0;
  ui.faults.textContent = `${n} fault rules armed`;
  ui.faults.dataset.count = String(n);
}

// ---------------------------------------------------------------------------------------------
// Boot

async function boot() {
  onAuthRequired(showTokenForm);
  let health = null;
  try {
    health = await api('/health');
  } catch (e) {
    if (locked) return;
    const app = document.getElementById('app');
    clear(app).append(h('main', { id: 'main', class: 'main' },
      h('p', { class: 'notice error', role: 'alert' }, `Cannot reach the emulator: ${errorText(e)}`)));
    setTimeout(() => location.reload(), 3000);
    return;
  }
  state.defaults = { account: health.defaultAccount, region: health.defaultRegion };
  state.operations = Array.isArray(health.operations) ? health.operations : [];
  let accounts;
  try {
    accounts = await api('/accounts');
  } catch (e) {
    if (locked) return;
    accounts = { accounts: [] };
  }
  if (locked) return;
  if (accounts.defaultAccount) state.defaults = { account: accounts.defaultAccount, region: accounts.defaultRegion };
  const known = (accounts.accounts || []).some((a) => a.account === state.scope.account && a.region === state.scope.region);
  if (!state.scope.account || (!known && !(state.scope.account === state.defaults.account && state.scope.region === state.defaults.region))) {
    setScope(state.defaults.account, state.defaults.region);
  }
  try {
    setClock(await api('/clock'));
  } catch { /* the stream brings it */ }
  if (locked) return;

  buildShell(accounts);
  tickClock();
  onClock(() => tickClock());
  const tick = setInterval(() => {
    tickClock();
    if (current && current.view.tick) current.view.tick();
  }, 1000);
  timers.push(() => clearInterval(tick));
  timers.push(poll(refreshFaultBadge, 3000));
  // The stream carries the clock with every message; a quiet stream still gets a jump or a
  // freeze made elsewhere within a few seconds.
  timers.push(poll(() => api('/clock').then(setClock).catch(() => {}), 4000));
  bus.addEventListener('faults', (e) => setFaultCount(e.detail));
  bus.addEventListener('scope-changed', () => refreshAccounts());
  refreshFaultBadge();

  onStreamStatus((live) => {
    state.live = live;
    ui.live.textContent = live ? 'live' : 'reconnecting…';
    ui.live.dataset.state = live ? 'live' : 'reconnecting';
  });
  onStreamMessage((name, data) => {
    // A busy emulator may resync every second: the account list is reloaded at most every 5 s.
    if (name === 'hello' || (name === 'resync' && Date.now() - accountsLoadedAt > 5000)) {
      accountsLoadedAt = Date.now();
      refreshAccounts();
    }
    if (current && current.view.onStream) {
      try {
        current.view.onStream(name, data);
      } catch (e) {
        console.warn(e);
      }
    }
  });
  startStream();

  window.addEventListener('hashchange', route);
  route();
}

boot();
