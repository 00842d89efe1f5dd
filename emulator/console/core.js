// Shared pieces of the console: DOM builder, control-API client, scope (account/Region),
// the virtual clock, throttled refreshers and formatting helpers.
// Everything that shows data builds DOM with createElement/textContent (strict CSP, untrusted data).

export const TOKEN_KEY = 'eum-social.token';
const SCOPE_KEY = 'eum-social.scope';

// ---------------------------------------------------------------------------------------------
// DOM

const PROPS = new Set(['value', 'checked', 'selected', 'disabled', 'hidden', 'multiple', 'indeterminate']);

/**
 * h('button', {class: 'x', type: 'button', 'aria-label': 'Close'}, 'text', child, [more])
 * Attributes are set with setAttribute (never event handlers or style strings); null/false skip.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      const key = k.toLowerCase();
      if (key.startsWith('on') || key === 'style' || key === 'innerhtml') {
        throw new Error(`h(): attribute ${k} is not allowed`);
      }
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'dataset') for (const [dk, dv] of Object.entries(v)) { if (dv != null) el.dataset[dk] = String(dv); }
      else if (PROPS.has(k)) el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.append(c);
    else el.append(document.createTextNode(String(c)));
  }
}

/** Adds a listener and returns the element (for chaining inside h() trees). */
export function on(el, type, fn, opts) {
  el.addEventListener(type, fn, opts);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** Makes `container`'s children exactly `els` (in order), moving/keeping existing nodes. */
export function reconcile(container, els) {
  const keep = new Set(els);
  for (const c of [...container.children]) if (!keep.has(c)) c.remove();
  let ref = container.firstChild;
  for (const el of els) {
    if (el === ref) ref = ref.nextSibling;
    else container.insertBefore(el, ref);
  }
}

let uid = 0;
export function newId(prefix = 'id') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field: returns {wrap, input}. */
export function field(label, input, hint) {
  if (!input.id) input.id = newId('f');
  const wrap = h('div', { class: 'field' }, h('label', { for: input.id }, label), input,
    hint ? h('span', { class: 'hint' }, hint) : null);
  return wrap;
}

export function select(options, attrs = {}) {
  const s = h('select', attrs);
  for (const o of options) {
    const [value, label] = Array.isArray(o) ? o : [o, o];
    s.append(h('option', { value }, label));
  }
  if (attrs.value !== undefined) s.value = attrs.value;
  return s;
}

/** An inline error/notice area (role=alert when shown). */
export function messageBox(cls = 'error') {
  const el = h('div', { class: `notice ${cls}`, hidden: true, role: cls === 'error' ? 'alert' : 'status' });
  el.show = (text) => {
    el.textContent = text;
    el.hidden = !text;
  };
  el.clear = () => el.show('');
  return el;
}

export function errorText(e) {
  if (!e) return '';
  if (e instanceof ApiError) return e.message;
  return e.message || String(e);
}

/** App-wide notifications: 'faults' (detail: rule count), 'clock' (detail: clock object). */
export const bus = new EventTarget();

// ---------------------------------------------------------------------------------------------
// Scope (account / Region) and auth

export const state = {
  scope: { account: null, region: null },
  defaults: { account: null, region: null },
  clock: null, // {nowMs, frozen, receivedAt, raw}
  lastSeq: null,
  operations: [],
  faultCount: 0,
  live: false,
};

try {
  const saved = JSON.parse(sessionStorage.getItem(SCOPE_KEY) || 'null');
  if (saved && typeof saved.account === 'string' && typeof saved.region === 'string') state.scope = saved;
} catch { /* ignore */ }

export function setScope(account, region) {
  state.scope = { account, region };
  sessionStorage.setItem(SCOPE_KEY, JSON.stringify(state.scope));
}

export function scopeParams() {
  const p = {};
  if (state.scope.account) p.account = state.scope.account;
  if (state.scope.region) p.region = state.scope.region;
  return p;
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function authHeaders() {
  const t = token();
  return t ? { 'x-emulator-token': t } : {};
}

let authHandler = () => {};
let authTripped = false;
export function onAuthRequired(fn) {
  authHandler = fn;
}
export function authRequired() {
  if (authTripped) return;
  authTripped = true;
  authHandler();
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function buildUrl(path, query) {
  const url = new URL(`/_emulator${path}`, location.origin);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v !== null && v !== undefined && v !== '') url.searchParams.set(k, String(v));
    }
  }
  return url.pathname + url.search;
}

/**
 * Calls the control API. `scoped`: adds the chosen account/Region (query for GET/DELETE, body
 * members for POST/PUT). Resolves with the parsed JSON (or null); rejects with ApiError.
 */
export async function api(path, { method = 'GET', query, body, scoped = false, signal } = {}) {
  let q = query || {};
  let b = body;
  if (scoped) {
    if (method === 'GET' || method === 'DELETE') q = { ...scopeParams(), ...q };
    else b = { ...scopeParams(), ...(b || {}) };
  }
  const headers = { ...authHeaders() };
  const init = { method, headers, signal, cache: 'no-store' };
  if (b !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(b);
  }
  let res;
  try {
    res = await fetch(buildUrl(path, q), init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, `The emulator did not answer (${errorText(e)}).`, null);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.status === 401) {
    authRequired();
    throw new ApiError(401, (data && (data.message || data.error)) || 'A control token is required.', data);
  }
  if (!res.ok) {
    let msg = data && (data.message || data.error || data.Message);
    if (msg && typeof msg !== 'string') msg = JSON.stringify(msg);
    throw new ApiError(res.status, msg || `${res.status} ${res.statusText || 'error'}`.trim(), data);
  }
  return data;
}

// ---------------------------------------------------------------------------------------------
// Virtual clock

const clockListeners = new Set();

export function setClock(c) {
  if (!c || typeof c.nowMs !== 'number') return;
  const prev = state.clock;
  state.clock = { nowMs: c.nowMs, frozen: !!c.frozen, receivedAt: Date.now(), raw: c };
  const jumped = !prev || prev.frozen !== state.clock.frozen ||
    Math.abs(virtualNow() - (prev.frozen ? prev.nowMs : prev.nowMs + (Date.now() - prev.receivedAt))) > 1500;
  for (const fn of clockListeners) fn(state.clock, jumped);
}

export function onClock(fn) {
  clockListeners.add(fn);
  return () => clockListeners.delete(fn);
}

/** The virtual time now (extrapolated at wall speed unless frozen). */
export function virtualNow() {
  const c = state.clock;
  if (!c) return Date.now();
  return c.frozen ? c.nowMs : c.nowMs + (Date.now() - c.receivedAt);
}

// ---------------------------------------------------------------------------------------------
// Throttled refresh: at most one call in flight, at most one start per `gap` ms.

export function refresher(fn, gap = 250) {
  let running = false;
  let pending = false;
  let last = 0;
  let timer = null;
  let dead = false;
  const run = async () => {
    timer = null;
    if (dead) return;
    const wait = last + gap - Date.now();
    if (wait > 0) {
      timer = setTimeout(run, wait);
      return;
    }
    running = true;
    last = Date.now();
    try {
      await fn();
    } catch (e) {
      if (!(e && e.name === 'AbortError')) console.warn('refresh failed', e);
    } finally {
      running = false;
      if (pending && !dead) {
        pending = false;
        request();
      }
    }
  };
  function request() {
    if (dead) return;
    if (running) {
      pending = true;
      return;
    }
    if (!timer) run();
  }
  request.cancel = () => {
    dead = true;
    clearTimeout(timer);
  };
  return request;
}

/** setInterval that only fires while the tab is visible; returns a stop function. */
export function poll(fn, ms) {
  const id = setInterval(() => {
    if (document.visibilityState === 'visible') fn();
  }, ms);
  return () => clearInterval(id);
}

// ---------------------------------------------------------------------------------------------
// Formatting

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** 2026-01-01 00:00:00 UTC */
export function fmtDateTime(ms, { seconds = true, zone = true } = {}) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  const d = new Date(ms);
  let s = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  if (seconds) s += `:${pad(d.getUTCSeconds())}`;
  if (zone) s += ' UTC';
  return s;
}

export function fmtTime(ms, seconds = false) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${seconds ? `:${pad(d.getUTCSeconds())}` : ''}`;
}

export function fmtDay(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** Short time for lists: HH:MM today (virtual), else the date. */
export function fmtShort(ms) {
  if (typeof ms !== 'number') return '';
  if (fmtDay(ms) === fmtDay(virtualNow())) return fmtTime(ms);
  return fmtDay(ms);
}

/** 23h 59m / 4m 10s / 12s */
export function fmtLeft(ms) {
  if (ms <= 0) return '0s';
  const total = Math.floor(ms / 1000);
  const hrs = Math.floor(total / 3600);
  const mins = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  if (hrs > 0) return `${hrs}h ${mins}m`;
  if (mins > 0) return `${mins}m ${secs}s`;
  return `${secs}s`;
}

export function windowState(win) {
  if (!win || !win.open || typeof win.expiresAtMs !== 'number') return { open: false, left: 0 };
  const left = win.expiresAtMs - virtualNow();
  return { open: left > 0, left };
}

export function windowChipText(win) {
  const s = windowState(win);
  return s.open ? `open · ${fmtLeft(s.left)} left` : 'closed';
}

export function pretty(v) {
  try {
    return JSON.stringify(v, null, 2);
  } catch {
    return String(v);
  }
}

export async function copyText(text, button) {
  const old = button ? button.textContent : '';
  try {
    await navigator.clipboard.writeText(text);
    if (button) button.textContent = 'Copied';
  } catch {
    if (button) button.textContent = 'Copy failed';
  }
  if (button) setTimeout(() => { button.textContent = old; }, 1200);
}

/** Digits of a phone number as the control API wants them ("+1 (425) 555-0150" → "14255550150"). */
export function digits(s) {
  return String(s || '').replace(/[^0-9]/g, '');
}

export function encodeSeg(s) {
  return encodeURIComponent(s);
}
