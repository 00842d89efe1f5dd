// Templates, Clock, Numbers, Requests, Faults and Quotas pages.

import {
  api, bus, clear, errorText, field, fmtDateTime, h, messageBox, on, onClock, poll, pretty,
  reconcile, refresher, select, setClock, state, virtualNow,
} from './core.js';
import { renderTemplatePreview } from './render.js';

const DECISIONS = ['APPROVE', 'REJECT', 'PAUSE', 'UNPAUSE', 'DISABLE'];
const REASONS = ['INVALID_FORMAT', 'ABUSIVE_CONTENT', 'PROMOTIONAL', 'INCORRECT_CATEGORY', 'SCAM', 'TAG_CONTENT_MISMATCH'];
const QUALITIES = ['GREEN', 'YELLOW', 'RED', 'UNKNOWN'];
const TIERS = ['TIER_50', 'TIER_250', 'TIER_2K', 'TIER_10K', 'TIER_100K', 'TIER_UNLIMITED'];
const ERROR_TYPES = ['ThrottledRequestException', 'InternalServiceException', 'DependencyException', 'ValidationException',
  'AccessDeniedByMetaException', 'ResourceNotFoundException', 'InvalidParametersException', 'AccessDeniedException'];

const chipClass = (prefix, v) => `${prefix}-chip ${prefix}-${String(v || 'none').toLowerCase().replace(/[^a-z0-9_]/g, '')}`;

/** Remembers which control had focus (by a key) and puts it back after a re-render. */
function focusKeeper(root) {
  return {
    save() {
      const a = document.activeElement;
      return a && root.contains(a) && a.dataset.focusKey ? a.dataset.focusKey : null;
    },
    restore(key) {
      if (!key) return;
      const el = root.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
      if (el) el.focus({ preventScroll: true });
    },
  };
}

// =============================================================================================
// Templates

export function mountTemplates(root, route) {
  let alive = true;
  let wabaId = route.parts[0] || null;
  let templates = [];
  const expanded = new Set();
  const rowErrors = new Map();
  const keeper = focusKeeper(root);

  const wabaSel = select([], { id: 'templates-waba' });
  const refreshBtn = h('button', { type: 'button', id: 'templates-refresh' }, 'Refresh');
  const error = messageBox();
  const tbody = h('tbody', { id: 'templates-body' });
  const empty = h('p', { class: 'empty', hidden: true }, 'No templates in this WABA.');
  root.append(
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title-templates' }, 'Templates')),
    h('div', { class: 'filters' }, field('WhatsApp Business Account', wabaSel), h('div', { class: 'filter-actions' }, refreshBtn)),
    error, empty,
    h('div', { class: 'table-wrap' }, h('table', { class: 'data-table templates-table', id: 'templates-table' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Preview')),
        ['Name', 'Language', 'Category', 'Status', 'Quality', 'Rejection reason', 'Review'].map((t) => h('th', { scope: 'col' }, t)))),
      tbody)));

  on(wabaSel, 'change', () => {
    wabaId = wabaSel.value;
    history.replaceState(null, '', `#/templates/${encodeURIComponent(wabaId)}`);
    expanded.clear();
    load();
  });
  on(refreshBtn, 'click', () => load());

  api('/wabas', { scoped: true }).then((data) => {
    if (!alive) return;
    const wabas = (data && data.wabas) || [];
    for (const w of wabas) wabaSel.append(h('option', { value: w.wabaId }, `${w.name || w.wabaId} (${w.wabaId})`));
    if (!wabaId || !wabas.some((w) => w.wabaId === wabaId)) wabaId = wabas.length ? wabas[0].wabaId : null;
    if (wabaId) wabaSel.value = wabaId;
    if (!wabas.length) empty.hidden = false;
    load();
  }).catch((e) => error.show(`Could not load the WABAs: ${errorText(e)}`));

  const load = refresher(async () => {
    if (!wabaId) return;
    const forWaba = wabaId;
    try {
      const data = await api('/templates', { scoped: true, query: { wabaId: forWaba } });
      if (!alive || forWaba !== wabaId) return;
      templates = (data && data.templates) || [];
      error.clear();
      render();
    } catch (e) {
      if (alive) error.show(`Could not load the templates: ${errorText(e)}`);
    }
  });

  function render() {
    const focus = keeper.save();
    clear(tbody);
    for (const t of templates) tbody.append(...templateRows(t));
    empty.hidden = templates.length > 0;
    keeper.restore(focus);
  }

  function templateRows(t) {
    const id = t.metaTemplateId;
    const detailId = `template-detail-${id}`;
    const open = expanded.has(id);
    const toggle = h('button', { type: 'button', class: 'icon-button template-toggle', 'aria-expanded': String(open), 'aria-controls': detailId, 'aria-label': `Preview ${t.name} (${t.language})`, dataset: { focusKey: `${id}|toggle` } }, open ? '▾' : '▸');
    const reason = select(REASONS, { class: 'reject-reason', 'aria-label': `Rejection reason for ${t.name}`, dataset: { focusKey: `${id}|reason` } });
    const quality = select(QUALITIES, { class: 'quality-select', 'aria-label': `Quality of ${t.name}`, dataset: { focusKey: `${id}|quality` } });
    quality.value = QUALITIES.includes(t.qualityScore) ? t.qualityScore : 'UNKNOWN';
    const errBox = h('div', { class: 'row-error', role: 'alert', hidden: !rowErrors.has(id) }, rowErrors.get(id) || '');
    const buttons = DECISIONS.map((d) => {
      const b = h('button', { type: 'button', class: `small decision decision-${d.toLowerCase()}`, dataset: { decision: d, focusKey: `${id}|${d}` } }, label(d));
      on(b, 'click', () => review(t, d, reason.value, b));
      return b;
    });
    on(quality, 'change', () => setQuality(t, quality.value, quality));
    const row = h('tr', { class: 'template-row', dataset: { templateId: id, name: t.name, language: t.language, status: t.status } },
      h('td', null, toggle),
      h('td', { class: 'wrap-anywhere' }, h('strong', null, t.name)),
      h('td', null, t.language || '—'),
      h('td', null, t.category || '—'),
      h('td', null, h('span', { class: chipClass('status', t.status) + ' template-status' }, t.status || '—')),
      h('td', null, h('span', { class: chipClass('quality', t.qualityScore) }, t.qualityScore || 'UNKNOWN')),
      h('td', { class: 'wrap-anywhere' }, t.rejectedReason && t.rejectedReason !== 'NONE' ? t.rejectedReason : '—'),
      h('td', { class: 'review-cell' },
        h('div', { class: 'review-actions' }, buttons[0], h('span', { class: 'reject-group' }, buttons[1], reason), buttons[2], buttons[3], buttons[4]),
        h('div', { class: 'review-quality' }, h('span', { class: 'muted' }, 'Quality'), quality),
        errBox));
    const cell = h('td', { colspan: '8' });
    const detail = h('tr', { class: 'template-detail', id: detailId, hidden: !open, dataset: { templateId: id } }, cell);
    const fill = () => {
      if (cell.firstChild) return;
      let preview;
      try {
        preview = renderTemplatePreview(t.definition || { name: t.name, language: t.language, category: t.category, components: [] });
      } catch (e) {
        preview = h('p', { class: 'notice error' }, `Preview failed: ${errorText(e)}`);
      }
      cell.append(h('div', { class: 'template-detail-body' },
        h('div', { class: 'template-preview' }, preview),
        h('details', { class: 'template-json' },
          h('summary', null, 'Definition (JSON)'),
          h('pre', { class: 'json', tabindex: '0' }, pretty(t.definition || t))),
        h('dl', { class: 'kv' },
          h('dt', null, 'Meta template id'), h('dd', { class: 'mono' }, id),
          h('dt', null, 'Source'), h('dd', null, t.source || '—'),
          h('dt', null, 'Pauses'), h('dd', null, String(t.pauseCount ?? 0)))));
    };
    if (open) fill();
    const setOpen = (o) => {
      if (o) {
        expanded.add(id);
        fill();
      } else expanded.delete(id);
      detail.hidden = !o;
      toggle.setAttribute('aria-expanded', String(o));
      toggle.textContent = o ? '▾' : '▸';
    };
    on(toggle, 'click', () => setOpen(detail.hidden));
    return [row, detail];
  }

  async function review(t, decision, reason, button) {
    if (button.getAttribute('aria-busy') === 'true') return;
    rowErrors.delete(t.metaTemplateId);
    button.setAttribute('aria-busy', 'true');
    const body = { decision };
    if (decision === 'REJECT') body.reason = reason;
    try {
      await api(`/templates/${encodeURIComponent(t.metaTemplateId)}/review`, { method: 'POST', scoped: true, body });
    } catch (e) {
      rowErrors.set(t.metaTemplateId, `${label(decision)} failed: ${errorText(e)}`);
      render();
    }
    button.removeAttribute('aria-busy');
    load();
  }

  async function setQuality(t, q, sel) {
    rowErrors.delete(t.metaTemplateId);
    try {
      await api(`/templates/${encodeURIComponent(t.metaTemplateId)}/quality`, { method: 'PUT', scoped: true, body: { qualityScore: q } });
    } catch (e) {
      rowErrors.set(t.metaTemplateId, `Quality change failed: ${errorText(e)}`);
      render();
    }
    load();
  }

  return {
    onStream(name, data) {
      if (name === 'events') {
        const evs = (data && data.events) || [];
        if (!evs.some((e) => String(e.kind || '').startsWith('message_template') || !e.wabaId || e.wabaId === wabaId)) return;
      }
      load();
    },
    update(r) {
      const w = r.parts[0] || null;
      if (w && w !== wabaId && [...wabaSel.options].some((o) => o.value === w)) {
        wabaId = w;
        wabaSel.value = w;
        load();
      }
      return true;
    },
    unmount() {
      alive = false;
      load.cancel();
    },
  };
}

function label(decision) {
  return decision.charAt(0) + decision.slice(1).toLowerCase();
}

// =============================================================================================
// Clock

export function mountClock(root) {
  let alive = true;
  const now = h('time', { id: 'clock-now', class: 'clock-now' }, '—');
  const stateText = h('span', { id: 'clock-state', class: 'clock-state', role: 'status' }, '');
  const timers = h('dl', { class: 'kv', id: 'clock-timers' });
  const freeze = h('button', { type: 'button', id: 'clock-freeze', class: 'primary', 'aria-pressed': 'false' }, 'Freeze');
  const error = messageBox();
  const info = messageBox('info');
  const adv = [[60, '+1 minute'], [3600, '+1 hour'], [86400, '+24 hours']].map(([s, text]) => {
    const b = h('button', { type: 'button', class: 'advance', dataset: { advance: s } }, text);
    on(b, 'click', () => advance({ seconds: s }, text));
    return b;
  });
  const amount = h('input', { id: 'clock-amount', type: 'number', min: '0', step: 'any', value: '30', required: true });
  const unit = select([['1', 'seconds'], ['60', 'minutes'], ['3600', 'hours'], ['86400', 'days']], { id: 'clock-unit', value: '60' });
  const custom = h('form', { id: 'clock-custom', class: 'inline-form', 'aria-label': 'Advance by a custom amount', novalidate: true },
    field('Amount', amount), field('Unit', unit),
    h('button', { type: 'submit', id: 'clock-advance-custom' }, 'Advance'));
  const reset = h('button', { type: 'button', id: 'clock-reset', class: 'danger' }, 'Reset emulator…');

  root.append(
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title-clock' }, 'Clock')),
    h('section', { class: 'panel clock-panel', 'aria-label': 'Virtual time' },
      h('p', { class: 'muted' }, 'Virtual time'),
      now,
      h('div', { class: 'clock-line' }, stateText, freeze),
      timers),
    h('section', { class: 'panel', 'aria-labelledby': 'advance-title' },
      h('h2', { id: 'advance-title' }, 'Advance'),
      h('p', { class: 'muted' }, 'Due statuses fire, customer-service windows close, and the chat ticks and countdowns follow.'),
      h('div', { class: 'button-row' }, adv),
      custom, error, info),
    h('section', { class: 'panel', 'aria-labelledby': 'reset-title' },
      h('h2', { id: 'reset-title' }, 'Reset'),
      h('p', { class: 'muted' }, 'Every account and Region back to the seed; the clock back to wall time; pending statuses, events and deliveries dropped. Fault rules and SNS subscriptions stay.'),
      reset));

  function render() {
    const c = state.clock;
    const t = virtualNow();
    now.textContent = fmtDateTime(t);
    now.setAttribute('datetime', new Date(t).toISOString());
    now.dataset.nowMs = String(Math.floor(t));
    const frozen = !!(c && c.frozen);
    stateText.textContent = frozen ? 'Frozen' : 'Running';
    stateText.dataset.frozen = String(frozen);
    freeze.textContent = frozen ? 'Resume' : 'Freeze';
    freeze.setAttribute('aria-pressed', String(frozen));
    freeze.dataset.frozen = String(frozen);
    clear(timers);
    const raw = (c && c.raw) || {};
    timers.append(
      h('dt', null, 'Pending timers'), h('dd', null, String(raw.pendingTimers ?? '—')),
      h('dt', null, 'Running timers'), h('dd', null, String(raw.runningTimers ?? '—')),
      h('dt', null, 'Next due'), h('dd', null, raw.nextDueMs ? fmtDateTime(raw.nextDueMs) : '—'));
  }

  async function refresh() {
    try {
      const c = await api('/clock');
      if (alive) setClock(c);
    } catch (e) {
      if (alive) error.show(errorText(e));
    }
  }

  async function advance(body, text) {
    error.clear();
    info.clear();
    try {
      const c = await api('/clock/advance', { method: 'POST', body });
      setClock(c);
      info.show(`Advanced ${text}.`);
    } catch (e) {
      error.show(`Could not advance: ${errorText(e)}`);
    }
  }

  on(freeze, 'click', async () => {
    error.clear();
    info.clear();
    const frozen = !!(state.clock && state.clock.frozen);
    try {
      const c = await api('/clock', { method: 'POST', body: { frozen: !frozen } });
      if (c && typeof c.nowMs === 'number') setClock(c);
      else await refresh();
    } catch (e) {
      error.show(`Could not ${frozen ? 'resume' : 'freeze'} the clock: ${errorText(e)}`);
    }
  });

  on(custom, 'submit', (e) => {
    e.preventDefault();
    const n = Number(amount.value);
    if (amount.value === '' || !Number.isFinite(n) || n <= 0) {
      error.show('Enter a positive amount.');
      return;
    }
    const ms = Math.round(n * Number(unit.value) * 1000);
    advance({ ms }, `${n} ${unit.options[unit.selectedIndex].text}`);
  });

  on(reset, 'click', () => {
    const top = document.getElementById('reset-button');
    if (top) top.click();
  });

  const stop = onClock(render);
  const stopPoll = poll(refresh, 2000);
  render();
  refresh();
  return {
    tick: render,
    onStream(name) {
      if (name === 'changed' || name === 'resync') refresh();
      else render();
    },
    unmount() {
      alive = false;
      stop();
      stopPoll();
    },
  };
}

// =============================================================================================
// Numbers

export function mountNumbers(root) {
  let alive = true;
  const rows = new Map(); // phoneNumberId → {sig, row}
  const statuses = new Map(); // phoneNumberId → {text, cls} (kept across re-renders)
  const error = messageBox();
  const tbody = h('tbody', { id: 'numbers-body' });
  const empty = h('p', { class: 'empty', hidden: true }, 'No phone numbers in this account and Region.');
  const refreshBtn = h('button', { type: 'button', id: 'numbers-refresh' }, 'Refresh');
  root.append(
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title-numbers' }, 'Numbers'), refreshBtn),
    h('p', { class: 'muted' }, 'Changes apply at once (quality changes publish a phone_number_quality_update event).'),
    error, empty,
    h('div', { class: 'table-wrap' }, h('table', { class: 'data-table', id: 'numbers-table' },
      h('thead', null, h('tr', null, ['Number', 'WABA', 'Quality rating', 'Portfolio messaging limit', 'Throughput (msg/s)', ''].map((t) => h('th', { scope: 'col' }, t)))),
      tbody)));

  const load = refresher(async () => {
    try {
      const data = await api('/wabas', { scoped: true });
      if (!alive) return;
      error.clear();
      const active = document.activeElement;
      if (active && tbody.contains(active) && (active.tagName === 'INPUT' || active.tagName === 'SELECT')) return; // don't pull the rug while editing
      const els = [];
      for (const w of (data && data.wabas) || []) {
        for (const p of w.phoneNumbers || []) {
          const sig = JSON.stringify([w.wabaId, w.name, p]);
          let entry = rows.get(p.phoneNumberId);
          if (!entry || entry.sig !== sig) {
            entry = { sig, row: numberRow(w, p) };
            rows.set(p.phoneNumberId, entry);
          }
          els.push(entry.row);
        }
      }
      reconcile(tbody, els);
      empty.hidden = els.length > 0;
    } catch (e) {
      if (alive) error.show(`Could not load the numbers: ${errorText(e)}`);
    }
  });

  function numberRow(w, p) {
    const id = p.phoneNumberId;
    const quality = select(QUALITIES, { class: 'quality-select', 'aria-label': `Quality rating of ${p.displayPhoneNumber}` });
    quality.value = p.qualityRating;
    if (quality.value !== p.qualityRating) {
      quality.append(h('option', { value: p.qualityRating }, p.qualityRating));
      quality.value = p.qualityRating;
    }
    const tier = select(TIERS, { class: 'tier-select', 'aria-label': `Messaging limit of the business portfolio of ${p.displayPhoneNumber}`, title: `Business portfolio ${p.businessPortfolioId}: shared by all its numbers` });
    tier.value = p.messagingLimitTier;
    if (tier.value !== p.messagingLimitTier && p.messagingLimitTier) {
      tier.append(h('option', { value: p.messagingLimitTier }, p.messagingLimitTier));
      tier.value = p.messagingLimitTier;
    }
    const tput = h('input', { type: 'number', class: 'throughput-input', min: '1', max: '1000', step: '1', value: String(p.throughputPerSecond ?? ''), 'aria-label': `Throughput per second of ${p.displayPhoneNumber}` });
    const save = h('button', { type: 'button', class: 'small number-save' }, 'Save');
    const status = h('span', { class: 'row-status', role: 'status' }, '');
    const setStatus = (text, cls = '') => {
      statuses.set(id, { text, cls });
      const el = rows.get(id) ? rows.get(id).row.querySelector('.row-status') : status;
      for (const target of new Set([status, el])) {
        target.textContent = text;
        target.className = `row-status ${cls}`.trim();
      }
    };
    const kept = statuses.get(id);
    if (kept) {
      status.textContent = kept.text;
      status.className = `row-status ${kept.cls}`.trim();
    }
    const doSave = async () => {
      const t = Number(tput.value);
      if (!Number.isInteger(t) || t < 1 || t > 1000) {
        setStatus('Throughput must be a whole number from 1 to 1000.', 'error');
        return;
      }
      setStatus('Saving…');
      try {
        await api(`/phone-numbers/${encodeURIComponent(id)}`, {
          method: 'PUT', scoped: true,
          body: { qualityRating: quality.value, messagingLimitTier: tier.value, throughputPerSecond: t },
        });
        setStatus('Saved', 'ok');
        setTimeout(() => {
          if (statuses.get(id) && statuses.get(id).text === 'Saved') setStatus('');
        }, 2500);
        load();
      } catch (e) {
        setStatus(errorText(e), 'error');
      }
    };
    on(quality, 'change', doSave);
    on(tier, 'change', doSave);
    on(tput, 'change', doSave);
    on(tput, 'keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        doSave();
      }
    });
    on(save, 'click', doSave);
    const row = h('tr', { class: 'number-row', dataset: { phoneNumberId: id, quality: p.qualityRating } },
      h('td', null, h('strong', null, p.displayPhoneNumber || p.phoneNumber), h('div', null, p.displayPhoneNumberName || ''), h('div', { class: 'mono muted small-text wrap-anywhere' }, id)),
      h('td', null, w.name || w.wabaId, h('div', { class: 'mono muted small-text wrap-anywhere' }, w.wabaId)),
      h('td', null, quality),
      h('td', null, tier),
      h('td', null, tput),
      h('td', null, save, status));
    return row;
  }

  on(refreshBtn, 'click', () => load());
  load();
  return {
    onStream(name, data) {
      if (name === 'resync' || (name === 'events' && ((data && data.events) || []).some((e) => e.kind === 'phone_number_quality_update'))) load();
    },
    unmount() {
      alive = false;
      load.cancel();
    },
  };
}

// =============================================================================================
// Requests

export function mountRequests(root) {
  let alive = true;
  const error = messageBox();
  const tbody = h('tbody', { id: 'requests-body' });
  const count = h('span', { class: 'muted', id: 'requests-count', role: 'status' }, '');
  const clearBtn = h('button', { type: 'button', id: 'requests-clear', class: 'danger' }, 'Clear');
  const refreshBtn = h('button', { type: 'button', id: 'requests-refresh' }, 'Refresh');
  const empty = h('p', { class: 'empty', hidden: true }, 'No requests logged yet.');
  root.append(
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title-requests' }, 'Requests'), h('div', { class: 'button-row' }, count, refreshBtn, clearBtn)),
    h('p', { class: 'muted' }, 'The last 200 AWS API requests, newest first. Refreshes every 2 seconds.'),
    error, empty,
    h('div', { class: 'table-wrap' }, h('table', { class: 'data-table', id: 'requests-table' },
      h('thead', null, h('tr', null, ['Time', 'Operation', 'Status', 'Error type', 'Latency', 'Account · Region', 'Request id'].map((t) => h('th', { scope: 'col' }, t)))),
      tbody)));

  const load = refresher(async () => {
    try {
      const data = await api('/requests', { query: { limit: 200 } });
      if (!alive) return;
      error.clear();
      const list = ((data && data.requests) || []).slice().reverse();
      clear(tbody);
      for (const r of list) {
        const ok = typeof r.status === 'number' && r.status < 400;
        tbody.append(h('tr', { class: `request-row ${ok ? '' : 'request-failed'}`, dataset: { status: r.status ?? '', operation: r.operation || '', error: r.error || null } },
          h('td', { class: 'nowrap' }, typeof r.timeMs === 'number' ? fmtDateTime(r.timeMs) : (r.time || '—')),
          h('td', null, r.operation || `${r.method || ''} ${r.path || ''}`.trim() || '—'),
          h('td', null, h('span', { class: chipClass('http', ok ? 'ok' : 'err') }, r.status ?? '—')),
          h('td', null, r.error || '—', r.fault != null ? h('span', { class: 'muted' }, ` (fault rule ${r.fault})`) : null),
          h('td', { class: 'num nowrap' }, typeof r.latencyMs === 'number' ? `${r.latencyMs.toFixed(r.latencyMs < 10 ? 2 : 0)} ms` : '—'),
          h('td', { class: 'nowrap' }, `${r.account || ''} · ${r.region || ''}`),
          h('td', { class: 'mono small-text wrap-anywhere' }, r.requestId || '')));
      }
      empty.hidden = list.length > 0;
      count.textContent = `${list.length} request${list.length === 1 ? '' : 's'}`;
    } catch (e) {
      if (alive) error.show(`Could not load the request log: ${errorText(e)}`);
    }
  });

  on(refreshBtn, 'click', () => load());
  on(clearBtn, 'click', async () => {
    try {
      await api('/requests', { method: 'DELETE' });
      load();
    } catch (e) {
      error.show(`Could not clear the log: ${errorText(e)}`);
    }
  });
  const stop = poll(load, 2000);
  load();
  return {
    unmount() {
      alive = false;
      stop();
      load.cancel();
    },
  };
}

// =============================================================================================
// Faults

export function mountFaults(root) {
  let alive = true;
  const error = messageBox();
  const formError = messageBox();
  const ops = state.operations.length ? state.operations : ['SendWhatsAppMessage'];
  const opSel = select([['', 'Any operation'], ...ops], { id: 'fault-operation', value: ops.includes('SendWhatsAppMessage') ? 'SendWhatsAppMessage' : '' });
  const num = (id, attrs = {}) => h('input', { id, type: 'number', min: '1', step: '1', inputmode: 'numeric', ...attrs });
  const first = num('fault-first', { placeholder: 'every match' });
  const everyNth = num('fault-every-nth', { placeholder: '—' });
  const probability = h('input', { id: 'fault-probability', type: 'number', min: '0', max: '1', step: 'any', placeholder: '1' });
  const maxFirings = num('fault-max-firings', { placeholder: 'no limit' });
  const errType = select(ERROR_TYPES, { id: 'fault-error-type' });
  const message = h('input', { id: 'fault-message', type: 'text', placeholder: 'Injected by the console', autocomplete: 'off' });
  const form = h('form', { id: 'fault-form', class: 'card form-grid', 'aria-labelledby': 'fault-form-title', novalidate: true },
    h('h2', { id: 'fault-form-title' }, 'Add a rule'),
    field('Operation', opSel),
    field('First N calls', first, 'Fires on the first N matching calls.'),
    field('Every Nth call', everyNth),
    field('Probability (0–1)', probability),
    field('Max firings', maxFirings),
    field('Error type', errType),
    field('Message', message),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'fault-add' }, 'Add rule')),
    formError);
  const clearAll = h('button', { type: 'button', id: 'faults-clear', class: 'danger' }, 'Clear all');
  const tbody = h('tbody', { id: 'faults-body' });
  const empty = h('p', { class: 'empty', hidden: true }, 'No fault rules. Requests are served normally.');
  root.append(
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title-faults' }, 'Faults'), clearAll),
    error, empty,
    h('div', { class: 'table-wrap' }, h('table', { class: 'data-table', id: 'faults-table' },
      h('thead', null, h('tr', null, ['Id', 'Operation', 'When', 'Outcome', 'Matched', 'Fired', ''].map((t) => h('th', { scope: 'col' }, t)))),
      tbody)),
    form);

  const KNOWN = new Set(['id', 'operation', 'first', 'everyNth', 'probability', 'maxFirings', 'error', 'matched', 'fired', 'metaError', 'latencyMs', 'dropConnection']);

  const load = refresher(async () => {
    try {
      const data = await api('/faults');
      if (!alive) return;
      const rules = (data && data.rules) || [];
      bus.dispatchEvent(new CustomEvent('faults', { detail: rules.length }));
      error.clear();
      clear(tbody);
      for (const r of rules) {
        const when = [];
        if (r.first != null) when.push(`first ${r.first}`);
        if (r.everyNth != null) when.push(`every ${r.everyNth}th`);
        if (r.probability != null) when.push(`p=${r.probability}`);
        if (r.maxFirings != null) when.push(`max ${r.maxFirings}`);
        for (const [k, v] of Object.entries(r)) if (!KNOWN.has(k)) when.push(`${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`);
        const outcome = [];
        if (r.error) outcome.push(`${r.error.type || 'error'}${r.error.message ? `: ${r.error.message}` : ''}`);
        if (r.metaError) outcome.push(`Meta error ${JSON.stringify(r.metaError)}`);
        if (r.latencyMs) outcome.push(`+${r.latencyMs} ms`);
        if (r.dropConnection) outcome.push('drop connection');
        const remove = h('button', { type: 'button', class: 'small danger fault-remove', 'aria-label': `Remove rule ${r.id}` }, 'Remove');
        on(remove, 'click', async () => {
          remove.disabled = true;
          try {
            await api(`/faults/${encodeURIComponent(r.id)}`, { method: 'DELETE' });
          } catch (e) {
            error.show(`Could not remove rule ${r.id}: ${errorText(e)}`);
          }
          load();
        });
        tbody.append(h('tr', { class: 'fault-row', dataset: { ruleId: r.id, matched: r.matched ?? 0, fired: r.fired ?? 0 } },
          h('td', { class: 'num' }, String(r.id)),
          h('td', null, r.operation || 'any'),
          h('td', { class: 'wrap-anywhere' }, when.join(', ') || 'every call'),
          h('td', { class: 'wrap-anywhere' }, outcome.join('; ') || '—'),
          h('td', { class: 'num fault-matched' }, String(r.matched ?? 0)),
          h('td', { class: 'num fault-fired' }, String(r.fired ?? 0)),
          h('td', null, remove)));
      }
      empty.hidden = rules.length > 0;
    } catch (e) {
      if (alive) error.show(`Could not load the fault rules: ${errorText(e)}`);
    }
  });

  on(form, 'submit', async (e) => {
    e.preventDefault();
    formError.clear();
    const rule = {};
    if (opSel.value) rule.operation = opSel.value;
    for (const [input, key, isInt] of [[first, 'first', true], [everyNth, 'everyNth', true], [maxFirings, 'maxFirings', true], [probability, 'probability', false]]) {
      if (input.value === '') continue;
      const v = Number(input.value);
      if (!Number.isFinite(v) || (isInt && (!Number.isInteger(v) || v < 1)) || (!isInt && (v < 0 || v > 1))) {
        formError.show(isInt ? `${key} must be a whole number ≥ 1.` : 'probability must be a number from 0 to 1.');
        input.focus();
        return;
      }
      rule[key] = v;
    }
    rule.error = { type: errType.value };
    if (message.value.trim()) rule.error.message = message.value.trim();
    try {
      await api('/faults', { method: 'POST', body: rule });
      load();
    } catch (err) {
      formError.show(errorText(err));
    }
  });

  on(clearAll, 'click', async () => {
    try {
      await api('/faults', { method: 'DELETE' });
      load();
    } catch (e) {
      error.show(`Could not clear the rules: ${errorText(e)}`);
    }
  });

  const stop = poll(load, 2000);
  load();
  return {
    unmount() {
      alive = false;
      stop();
      load.cancel();
    },
  };
}

// =============================================================================================
// Quotas

export function mountQuotas(root) {
  let alive = true;
  const error = messageBox();
  const toggle = h('input', { id: 'quotas-enabled', type: 'checkbox', role: 'switch' });
  const summaryBox = h('dl', { class: 'kv', id: 'quotas-summary' });
  const thead = h('thead');
  const tbody = h('tbody', { id: 'quotas-body' });
  const raw = h('pre', { class: 'json', id: 'quotas-json', hidden: true });
  const refreshBtn = h('button', { type: 'button', id: 'quotas-refresh' }, 'Refresh');
  root.append(
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title-quotas' }, 'Quotas'), refreshBtn),
    h('div', { class: 'card switch-line' }, h('div', { class: 'checkbox-field' }, toggle, h('label', { for: 'quotas-enabled' }, 'Enforce API rate limits (ThrottledRequestException when exceeded)'))),
    error, h('div', { class: 'card' }, summaryBox),
    h('div', { class: 'table-wrap' }, h('table', { class: 'data-table', id: 'quotas-table' }, thead, tbody)),
    raw);

  const fmt = (v) => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

  function render(data) {
    toggle.checked = !!data.enabled;
    clear(summaryBox);
    for (const [k, v] of Object.entries(data)) {
      if (k === 'operations' || k === 'enabled') continue;
      summaryBox.append(h('dt', null, k), h('dd', { dataset: { key: k } }, fmt(v)));
    }
    let ops = data.operations;
    if (ops && !Array.isArray(ops) && typeof ops === 'object') ops = Object.entries(ops).map(([operation, v]) => ({ operation, ...(typeof v === 'object' ? v : { value: v }) }));
    clear(thead);
    clear(tbody);
    if (!Array.isArray(ops)) {
      raw.hidden = false;
      raw.textContent = pretty(data);
      return;
    }
    raw.hidden = true;
    const cols = ['operation'];
    for (const o of ops) for (const k of Object.keys(o)) if (!cols.includes(k)) cols.push(k);
    thead.append(h('tr', null, cols.map((c) => h('th', { scope: 'col', class: ops.some((o) => typeof o[c] === 'number') ? 'num' : null }, c))));
    for (const o of ops) {
      tbody.append(h('tr', { class: 'quota-row', dataset: { operation: o.operation || o.name || '' } },
        cols.map((c) => h('td', { class: typeof o[c] === 'number' ? 'num' : null }, fmt(o[c])))));
    }
  }

  const load = refresher(async () => {
    try {
      const data = await api('/quotas');
      if (!alive) return;
      error.clear();
      render(data || {});
    } catch (e) {
      if (alive) error.show(`Could not load the quotas: ${errorText(e)}`);
    }
  });

  on(toggle, 'change', async () => {
    const want = toggle.checked;
    toggle.disabled = true;
    try {
      const data = await api('/quotas', { method: 'PUT', body: { enabled: want } });
      error.clear();
      if (data) render(data);
      else load();
    } catch (e) {
      toggle.checked = !want;
      error.show(`Could not ${want ? 'enable' : 'disable'} the quotas: ${errorText(e)}`);
    } finally {
      toggle.disabled = false;
    }
  });
  on(refreshBtn, 'click', () => load());
  const stop = poll(load, 5000);
  load();
  return {
    unmount() {
      alive = false;
      stop();
      load.cancel();
    },
  };
}
