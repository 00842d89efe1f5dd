// Events page (the event log, live) and SNS page (subscribers, deliveries, redrive).

import {
  api, clear, copyText, errorText, field, fmtDateTime, h, messageBox, on, poll, pretty, refresher,
  select, state,
} from './core.js';

const KINDS = ['inbound', 'status', 'call', 'message_template_status_update', 'message_template_quality_update', 'phone_number_quality_update'];
const FETCH_LIMIT = 1000;
const SHOW_MAX = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function loadNumbers() {
  const data = await api('/wabas', { scoped: true });
  const out = [];
  for (const w of (data && data.wabas) || []) {
    for (const n of w.phoneNumbers || []) out.push({ ...n, wabaId: w.wabaId, wabaName: w.name, eventDestinations: w.eventDestinations || [] });
  }
  return { wabas: (data && data.wabas) || [], numbers: out };
}

// =============================================================================================
// Events

export function mountEvents(root, route) {
  let alive = true;
  let events = []; // newest first
  let cursor = null;
  const expanded = new Set();
  const rows = new Map(); // seq → {row, detail}
  let numbers = [];

  const kindSel = select([['', 'All kinds'], ...KINDS], { id: 'events-kind' });
  const phoneSel = select([['', 'All numbers']], { id: 'events-phone' });
  const idInput = h('input', { id: 'events-id', type: 'search', placeholder: 'wamid.… or messageId', autocomplete: 'off', spellcheck: 'false' });
  const refreshBtn = h('button', { type: 'button', id: 'events-refresh' }, 'Refresh');
  const count = h('span', { class: 'muted', id: 'events-count', role: 'status' }, '');
  const error = messageBox();
  const pre = route.query;
  if (pre.get('kind')) kindSel.value = pre.get('kind');
  if (pre.get('id')) idInput.value = pre.get('id');

  const filters = h('form', { class: 'filters', id: 'events-filters', 'aria-label': 'Event filters' },
    field('Kind', kindSel), field('Phone number', phoneSel), field('messageId / wamid', idInput),
    h('div', { class: 'filter-actions' }, refreshBtn, count));
  on(filters, 'submit', (e) => {
    e.preventDefault();
    reload();
  });

  const tbody = h('tbody', { id: 'events-body' });
  const empty = h('p', { class: 'empty', hidden: true }, 'No events match. Events appear when customers write in, messages change status, templates are reviewed or a number’s quality changes.');
  const table = h('div', { class: 'table-wrap' },
    h('table', { class: 'data-table events-table', id: 'events-table' },
      h('caption', { class: 'visually-hidden' }, 'Event log, newest first. Expand a row for the AWS envelope.'),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Expand')),
        h('th', { scope: 'col' }, 'Seq'),
        h('th', { scope: 'col' }, 'Time'),
        h('th', { scope: 'col' }, 'Kind'),
        h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col' }, 'Phone number'),
        h('th', { scope: 'col' }, 'messageId / wamid'))),
      tbody));

  root.append(
    h('div', { class: 'page-head' },
      h('h1', { id: 'page-title-events' }, 'Events'),
      h('a', { href: '#/sns', class: 'page-link' }, 'SNS subscribers and deliveries →')),
    filters, error, empty, table);

  on(kindSel, 'change', reload);
  on(phoneSel, 'change', reload);
  let debounce = null;
  on(idInput, 'input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(reload, 300);
  });
  on(refreshBtn, 'click', reload);

  loadNumbers().then(({ numbers: list }) => {
    if (!alive) return;
    numbers = list;
    const keep = phoneSel.value || pre.get('phoneNumberId') || '';
    for (const n of list) phoneSel.append(h('option', { value: n.phoneNumberId }, `${n.displayPhoneNumber || n.phoneNumberId} · ${n.displayPhoneNumberName || ''}`));
    phoneSel.value = keep;
    if (keep && phoneSel.value === keep && keep !== '') reload();
    else renderRows();
  }).catch(() => {});

  function query() {
    const q = { limit: FETCH_LIMIT };
    if (kindSel.value) q.kind = kindSel.value;
    if (phoneSel.value) q.phoneNumberId = phoneSel.value;
    const text = idInput.value.trim();
    let local = '';
    if (text) {
      if (text.startsWith('wamid.')) q.wamid = text;
      else if (UUID.test(text)) q.messageId = text;
      else local = text.toLowerCase();
    }
    return { q, local, exact: !!(q.wamid || q.messageId) };
  }

  let gen = 0;
  const loadAll = refresher(async () => {
    const my = ++gen;
    const { q, exact } = query();
    const last = state.lastSeq;
    if (!exact && typeof last === 'number' && last > FETCH_LIMIT) q.after = last - FETCH_LIMIT;
    try {
      const data = await api('/events', { scoped: true, query: q });
      if (!alive || my !== gen) return;
      const list = (data && data.events) || [];
      events = list.slice().reverse();
      const max = list.reduce((m, e) => Math.max(m, e.seq), 0);
      cursor = list.length >= FETCH_LIMIT ? max : Math.max(max, typeof last === 'number' ? last : 0);
      error.clear();
      renderRows();
    } catch (e) {
      if (alive && my === gen) error.show(`Could not load the events: ${errorText(e)}`);
    }
  });

  const loadNew = refresher(async () => {
    if (cursor === null) return loadAll();
    const my = gen;
    const { q } = query();
    q.after = cursor;
    const last = state.lastSeq;
    try {
      const data = await api('/events', { scoped: true, query: q });
      if (!alive || my !== gen) return;
      const list = (data && data.events) || [];
      const have = new Set(events.map((e) => e.seq));
      const fresh = list.filter((e) => !have.has(e.seq)).reverse();
      events = fresh.concat(events).slice(0, SHOW_MAX * 2);
      const max = list.reduce((m, e) => Math.max(m, e.seq), cursor);
      cursor = list.length >= FETCH_LIMIT ? max : Math.max(max, typeof last === 'number' ? last : 0);
      error.clear();
      if (fresh.length) renderRows();
    } catch (e) {
      if (alive && my === gen) error.show(`Could not load the events: ${errorText(e)}`);
    }
  });

  function reload() {
    clearTimeout(firstLoad);
    cursor = null;
    loadAll();
  }

  function phoneLabel(id) {
    if (!id) return '—';
    const n = numbers.find((x) => x.phoneNumberId === id);
    return n ? (n.displayPhoneNumber || id) : id;
  }

  function renderRows() {
    const { local } = query();
    let list = events;
    if (local) list = list.filter((e) => `${e.messageId || ''} ${e.wamid || ''}`.toLowerCase().includes(local));
    list = list.slice(0, SHOW_MAX);
    const els = [];
    const seen = new Set();
    for (const e of list) {
      seen.add(e.seq);
      let r = rows.get(e.seq);
      if (!r) {
        r = buildRow(e);
        rows.set(e.seq, r);
      }
      els.push(r.row, r.detail);
    }
    for (const k of [...rows.keys()]) if (!seen.has(k)) rows.delete(k);
    const keep = new Set(els);
    for (const c of [...tbody.children]) if (!keep.has(c)) c.remove();
    let ref = tbody.firstChild;
    for (const el of els) {
      if (el === ref) ref = ref.nextSibling;
      else tbody.insertBefore(el, ref);
    }
    empty.hidden = list.length > 0;
    count.textContent = `${list.length} event${list.length === 1 ? '' : 's'}${list.length >= SHOW_MAX ? ' (newest shown)' : ''}`;
  }

  function buildRow(e) {
    const detailId = `event-detail-${e.seq}`;
    const toggle = h('button', { type: 'button', class: 'icon-button event-toggle', 'aria-expanded': 'false', 'aria-controls': detailId, 'aria-label': `Show event ${e.seq}` }, '▸');
    const row = h('tr', { class: 'event-row', dataset: { kind: e.kind, seq: e.seq, status: e.status || null } },
      h('td', null, toggle),
      h('td', { class: 'num' }, String(e.seq)),
      h('td', { class: 'nowrap' }, fmtDateTime(e.timeMs)),
      h('td', null, h('span', { class: `kind-chip kind-${String(e.kind).replace(/[^a-z_]/gi, '')}` }, e.kind)),
      h('td', null, e.status ? h('span', { class: `status-chip status-${String(e.status).replace(/[^a-z_]/gi, '')}` }, e.status) : '—'),
      h('td', { class: 'nowrap' }, phoneLabel(e.phoneNumberId)),
      h('td', { class: 'mono wrap-anywhere' }, e.messageId || e.wamid || '—', e.messageId && e.wamid ? h('div', { class: 'muted' }, e.wamid) : null));
    const cell = h('td', { colspan: '7' });
    const detail = h('tr', { class: 'event-detail', id: detailId, dataset: { seq: e.seq }, hidden: true }, cell);
    const setOpen = (open) => {
      detail.hidden = !open;
      toggle.setAttribute('aria-expanded', String(open));
      toggle.textContent = open ? '▾' : '▸';
      row.classList.toggle('expanded', open);
      if (open) {
        expanded.add(e.seq);
        if (!cell.firstChild) cell.append(eventDetail(e));
      } else {
        expanded.delete(e.seq);
      }
    };
    on(toggle, 'click', (ev) => {
      ev.stopPropagation();
      setOpen(detail.hidden);
    });
    on(row, 'click', (ev) => {
      if (window.getSelection && String(window.getSelection()).length) return;
      if (ev.target.closest('a,button,input,select')) return;
      setOpen(detail.hidden);
    });
    if (expanded.has(e.seq)) setOpen(true);
    return { row, detail };
  }

  function eventDetail(e) {
    const envelope = e.envelope || {};
    let entry = null;
    let entryError = null;
    if (typeof envelope.whatsAppWebhookEntry === 'string') {
      try {
        entry = JSON.parse(envelope.whatsAppWebhookEntry);
      } catch (err) {
        entryError = `Not JSON: ${errorText(err)}`;
      }
    } else if (envelope.whatsAppWebhookEntry !== undefined) {
      entry = envelope.whatsAppWebhookEntry;
    }
    const envText = pretty(envelope);
    const copyEnv = h('button', { type: 'button', class: 'small event-copy' }, 'Copy envelope');
    on(copyEnv, 'click', () => copyText(envText, copyEnv));
    const parts = [
      h('dl', { class: 'kv' },
        h('dt', null, 'Field'), h('dd', null, e.field || '—'),
        h('dt', null, 'WABA'), h('dd', { class: 'mono' }, e.wabaId || '—'),
        h('dt', null, 'Phone number id'), h('dd', { class: 'mono' }, e.phoneNumberId || '—'),
        h('dt', null, 'Destination'), h('dd', { class: 'mono wrap-anywhere' }, e.destination || '—'),
        h('dt', null, 'Account / Region'), h('dd', null, `${e.account || ''} · ${e.region || ''}`)),
      h('div', { class: 'detail-head' }, h('h3', null, 'AWS envelope'), copyEnv),
      h('pre', { class: 'json event-envelope', tabindex: '0' }, envText),
    ];
    if (entry !== null || entryError) {
      const entryText = entryError || pretty(entry);
      const copyEntry = h('button', { type: 'button', class: 'small event-copy-entry' }, 'Copy entry');
      on(copyEntry, 'click', () => copyText(entryText, copyEntry));
      parts.push(h('div', { class: 'detail-head' }, h('h3', null, 'whatsAppWebhookEntry (decoded)'), copyEntry),
        h('pre', { class: 'json event-entry', tabindex: '0' }, entryText));
    }
    return h('div', { class: 'event-detail-body' }, parts);
  }

  function onStream(name, data) {
    if (name === 'hello' || name === 'resync') return reload();
    if (name === 'events') {
      const list = (data && data.events) || [];
      // every seq below what we have seen: the log restarted (reset)
      if (cursor !== null && list.length && list.every((e) => e.seq < cursor)) return reload();
      loadNew();
    }
  }

  const stopPoll = poll(() => {
    if (!state.live) loadNew();
  }, 3000);

  // Newest events need the log's last seq (the stream's hello brings it): wait a moment for it.
  let firstLoad = null;
  if (state.lastSeq === null) firstLoad = setTimeout(loadAll, 1500);
  else loadAll();
  return {
    onStream,
    update(r) {
      void r;
      return true;
    },
    unmount() {
      alive = false;
      stopPoll();
      loadAll.cancel();
      loadNew.cancel();
      clearTimeout(debounce);
      clearTimeout(firstLoad);
    },
  };
}

// =============================================================================================
// SNS

export function mountSns(root) {
  let alive = true;
  let subs = [];

  const subsError = messageBox();
  const subsBody = h('tbody', { id: 'sns-subscriptions-body' });
  const subsEmpty = h('p', { class: 'empty', hidden: true }, 'No HTTP subscribers. Add one below: every event of a WABA’s event destination (an SNS topic) is POSTed to it, signed like SNS.');

  const topicInput = h('input', { id: 'sns-topic', type: 'text', required: true, list: 'sns-topics', placeholder: 'arn:aws:sns:us-east-1:…:topic', autocomplete: 'off', spellcheck: 'false' });
  const topics = h('datalist', { id: 'sns-topics' });
  const endpointInput = h('input', { id: 'sns-endpoint', type: 'url', required: true, placeholder: 'http://127.0.0.1:8080/sns', autocomplete: 'off', spellcheck: 'false' });
  const rawInput = h('input', { id: 'sns-raw', type: 'checkbox' });
  const sigSel = select([['1', '1 (SHA1withRSA)'], ['2', '2 (SHA256withRSA)']], { id: 'sns-signature' });
  const formError = messageBox();
  const formInfo = messageBox('info');
  const form = h('form', { id: 'sns-form', class: 'card form-grid', 'aria-labelledby': 'sns-form-title', novalidate: true },
    h('h3', { id: 'sns-form-title' }, 'Add an HTTP subscriber'),
    field('Topic ARN', topicInput), topics,
    field('Endpoint URL', endpointInput),
    h('div', { class: 'field checkbox-field' }, rawInput, h('label', { for: 'sns-raw' }, 'Raw message delivery')),
    field('Signature version', sigSel),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'sns-subscribe' }, 'Subscribe')),
    formError, formInfo);

  const stateSel = select([['', 'All states'], 'pending', 'delivered', 'failed'], { id: 'sns-state' });
  const redrive = h('button', { type: 'button', id: 'sns-redrive' }, 'Redrive failed');
  const refresh = h('button', { type: 'button', id: 'sns-refresh' }, 'Refresh');
  const delError = messageBox();
  const delInfo = messageBox('info');
  const delBody = h('tbody', { id: 'sns-deliveries-body' });
  const delEmpty = h('p', { class: 'empty', hidden: true }, 'No deliveries.');

  root.append(
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title-sns' }, 'SNS'), h('a', { href: '#/events', class: 'page-link' }, '← Events')),
    h('section', { class: 'panel', 'aria-labelledby': 'sns-subs-title' },
      h('h2', { id: 'sns-subs-title' }, 'Subscriptions'),
      subsError, subsEmpty,
      h('div', { class: 'table-wrap' }, h('table', { class: 'data-table', id: 'sns-subscriptions' },
        h('thead', null, h('tr', null,
          ['Topic', 'Endpoint', 'Raw', 'Signature', 'Status', 'Subscription ARN'].map((t) => h('th', { scope: 'col' }, t)),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        subsBody)),
      form),
    h('section', { class: 'panel', 'aria-labelledby': 'sns-del-title' },
      h('h2', { id: 'sns-del-title' }, 'Deliveries'),
      h('div', { class: 'filters' }, field('State', stateSel), h('div', { class: 'filter-actions' }, refresh, redrive)),
      delError, delInfo, delEmpty,
      h('div', { class: 'table-wrap' }, h('table', { class: 'data-table', id: 'sns-deliveries' },
        h('thead', null, h('tr', null,
          ['Id', 'Event', 'Target', 'State', 'Attempts', 'Last status', 'Last error', 'Next attempt', 'SNS MessageId'].map((t) => h('th', { scope: 'col' }, t)))),
        delBody))));

  loadNumbers().then(({ wabas }) => {
    if (!alive) return;
    const seen = new Set();
    for (const w of wabas) {
      for (const arn of w.eventDestinations || []) {
        if (seen.has(arn)) continue;
        seen.add(arn);
        topics.append(h('option', { value: arn }, `${w.name || w.wabaId}`));
        if (!topicInput.value) topicInput.value = arn;
      }
    }
  }).catch(() => {});

  const loadSubs = refresher(async () => {
    try {
      const data = await api('/sns/subscriptions');
      if (!alive) return;
      subs = (data && data.subscriptions) || [];
      subsError.clear();
      clear(subsBody);
      for (const s of subs) {
        const remove = h('button', { type: 'button', class: 'small danger sns-remove', 'aria-label': `Remove subscriber ${s.endpoint}` }, 'Remove');
        on(remove, 'click', async () => {
          remove.disabled = true;
          try {
            await api('/sns/subscriptions', { method: 'DELETE', query: { subscriptionArn: s.subscriptionArn } });
            loadSubs();
          } catch (e) {
            subsError.show(`Could not remove the subscriber: ${errorText(e)}`);
            remove.disabled = false;
          }
        });
        const confirmed = s.status || (s.confirmed === true ? 'Confirmed' : s.confirmed === false ? 'PendingConfirmation' : '—');
        subsBody.append(h('tr', { class: 'sns-subscription', dataset: { arn: s.subscriptionArn, status: confirmed } },
          h('td', { class: 'mono wrap-anywhere' }, s.topicArn || '—'),
          h('td', { class: 'mono wrap-anywhere' }, s.endpoint || '—'),
          h('td', null, s.rawMessageDelivery ? 'yes' : 'no'),
          h('td', null, s.signatureVersion || '1'),
          h('td', null, h('span', { class: `status-chip status-${String(confirmed).toLowerCase().replace(/[^a-z]/g, '')}` }, confirmed)),
          h('td', { class: 'mono wrap-anywhere small-text' }, s.subscriptionArn || ''),
          h('td', null, remove)));
      }
      subsEmpty.hidden = subs.length > 0;
    } catch (e) {
      if (alive) subsError.show(`Could not load the subscriptions: ${errorText(e)}`);
    }
  });

  const loadDeliveries = refresher(async () => {
    try {
      const q = {};
      if (stateSel.value) q.state = stateSel.value;
      const data = await api('/sns/deliveries', { query: q });
      if (!alive) return;
      const list = ((data && data.deliveries) || []).slice().reverse();
      delError.clear();
      clear(delBody);
      for (const d of list.slice(0, 500)) {
        const sub = subs.find((s) => s.subscriptionArn === d.subscriptionArn);
        const target = d.endpoint || (sub && sub.endpoint) || d.subscriptionArn || d.target || '—';
        delBody.append(h('tr', { class: 'sns-delivery', dataset: { state: d.state, id: d.id } },
          h('td', { class: 'num' }, String(d.id ?? '')),
          h('td', null, d.eventSeq !== undefined ? h('a', { href: `#/events` }, `#${d.eventSeq}`) : '—'),
          h('td', { class: 'mono wrap-anywhere' }, target),
          h('td', null, h('span', { class: `status-chip status-${String(d.state).replace(/[^a-z]/gi, '')}` }, d.state || '—')),
          h('td', { class: 'num' }, String(d.attempts ?? '')),
          h('td', null, d.lastStatus != null ? String(d.lastStatus) : '—'),
          h('td', { class: 'wrap-anywhere' }, d.lastError || '—'),
          h('td', { class: 'nowrap' }, d.nextAttemptMs ? fmtDateTime(d.nextAttemptMs) : '—'),
          h('td', { class: 'mono wrap-anywhere small-text' }, d.snsMessageId || d.messageId || '—')));
      }
      delEmpty.hidden = list.length > 0;
    } catch (e) {
      if (alive) delError.show(`Could not load the deliveries: ${errorText(e)}`);
    }
  });

  on(form, 'submit', async (e) => {
    e.preventDefault();
    formError.clear();
    formInfo.clear();
    const topicArn = topicInput.value.trim();
    const endpoint = endpointInput.value.trim();
    if (!topicArn.startsWith('arn:')) return formError.show('Enter the topic ARN (arn:aws:sns:…).');
    let proto = '';
    try {
      proto = new URL(endpoint).protocol;
    } catch { /* handled below */ }
    if (proto !== 'http:' && proto !== 'https:') return formError.show('The endpoint must be an http:// or https:// URL.');
    try {
      const out = await api('/sns/subscriptions', { method: 'POST', body: { topicArn, endpoint, rawMessageDelivery: rawInput.checked, signatureVersion: sigSel.value } });
      if (out && out.confirmationError) formError.show(`Subscribed, but the confirmation could not be delivered: ${out.confirmationError}`);
      else formInfo.show('Subscribed. The SubscriptionConfirmation was sent to the endpoint.');
      endpointInput.value = '';
      loadSubs();
    } catch (err) {
      formError.show(errorText(err));
    }
  });

  on(stateSel, 'change', () => loadDeliveries());
  on(refresh, 'click', () => {
    loadSubs();
    loadDeliveries();
  });
  on(redrive, 'click', async () => {
    delError.clear();
    delInfo.clear();
    redrive.disabled = true;
    try {
      const out = await api('/sns/deliveries/redrive', { method: 'POST', body: {} });
      delInfo.show(`${(out && out.redriven) || 0} failed deliveries sent again.`);
      loadDeliveries();
    } catch (e) {
      delError.show(`Redrive failed: ${errorText(e)}`);
    } finally {
      redrive.disabled = false;
    }
  });

  const stopPoll = poll(() => {
    loadSubs();
    loadDeliveries();
  }, 2000);
  loadSubs();
  loadDeliveries();

  return {
    onStream() {
      loadDeliveries();
    },
    unmount() {
      alive = false;
      stopPoll();
      loadSubs.cancel();
      loadDeliveries.cancel();
    },
  };
}
