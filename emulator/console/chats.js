// Chats page: WABAs and numbers, a number's conversations, one conversation's thread (paged),
// and the composer that writes in as the customer.

import {
  api, authHeaders, authRequired, buildUrl, clear, digits, errorText, field, fmtDay, fmtShort,
  fmtLeft, h, messageBox, on, onClock, reconcile, refresher, scopeParams, setClock, state,
  windowChipText, windowState,
} from './core.js';
import { renderBubble, summary } from './render.js';

const PAGE_SIZE = 50;
const MAX_REFRESH = 500;
const MAX_UPLOAD = 16 * 1024 * 1024;
const REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];
const FILE_KINDS = [
  ['image', 'Photo', 'image/*'],
  ['document', 'Document', ''],
  ['audio', 'Audio', 'audio/*'],
  ['video', 'Video', 'video/*'],
];

function safeSummary(item) {
  if (!item) return '';
  try {
    return String(summary(item) ?? '');
  } catch {
    return item.type || 'message';
  }
}

const href = (...parts) => `#/chats/${parts.map((p) => encodeURIComponent(p)).join('/')}`;

export function mount(root, route) {
  let alive = true;
  let phone = route.parts[0] || null;
  let customer = route.parts[1] || null;
  let wabas = null; // list from /wabas
  let conversations = [];
  const convEls = new Map(); // customer → {el, sig}
  let chips = []; // [{el, win}]
  const cleanups = [];

  // ------------------------------------------------------------------ layout
  const title = h('h1', { id: 'page-title-chats', class: 'visually-hidden' }, 'Chats');
  const numbersBox = h('div', { class: 'numbers', id: 'numbers' });
  const numbersError = messageBox();
  const convError = messageBox();
  const convList = h('ul', { class: 'conversation-list', id: 'conversation-list', 'aria-label': 'Conversations' });
  const convEmpty = h('p', { class: 'empty', hidden: true }, 'No conversations yet. Start one above: the customer writes in first.');
  const convRefresh = h('button', { type: 'button', class: 'icon-button', id: 'conversations-refresh', 'aria-label': 'Refresh conversations' }, '⟳');
  on(convRefresh, 'click', () => refreshConversations());

  const newCustomer = h('input', { id: 'new-customer', type: 'tel', inputmode: 'tel', required: true, placeholder: '14255550150', autocomplete: 'off' });
  const newProfile = h('input', { id: 'new-profile', type: 'text', placeholder: 'Diego', autocomplete: 'off' });
  const newText = h('input', { id: 'new-text', type: 'text', placeholder: 'Hi', autocomplete: 'off' });
  const newError = messageBox();
  newError.id = 'new-conversation-error';
  const newForm = h('form', { id: 'new-conversation', class: 'new-conversation', 'aria-labelledby': 'new-conversation-title', novalidate: true },
    h('h2', { id: 'new-conversation-title', class: 'section-title' }, 'New conversation'),
    h('div', { class: 'field-row' },
      field('Customer number', newCustomer),
      field('Profile name', newProfile)),
    field('First message', newText),
    h('button', { type: 'submit', class: 'primary', id: 'new-conversation-submit' }, 'Customer writes in'),
    newError);
  on(newForm, 'submit', onNewConversation);

  const sidebar = h('aside', { class: 'chat-sidebar', 'aria-label': 'Numbers and conversations' },
    title,
    h('h2', { class: 'section-title' }, 'Phone numbers'),
    numbersError, numbersBox,
    newForm,
    h('div', { class: 'section-head' }, h('h2', { class: 'section-title' }, 'Conversations'), convRefresh),
    convError, convEmpty, convList);

  const threadBox = h('section', { id: 'thread', class: 'thread', 'aria-label': 'Conversation' });
  const chatsEl = h('div', { class: 'chats' }, sidebar, threadBox);
  root.append(chatsEl);

  // ------------------------------------------------------------------ numbers
  async function loadWabas() {
    try {
      const data = await api('/wabas', { scoped: true });
      if (!alive) return;
      wabas = (data && data.wabas) || [];
      numbersError.clear();
      renderNumbers();
      if (!phone) {
        const first = wabas.flatMap((w) => w.phoneNumbers || [])[0];
        if (first) location.replace(href(first.phoneNumberId));
      } else {
        renderThreadHeader();
      }
    } catch (e) {
      if (alive) numbersError.show(`Could not load the numbers: ${errorText(e)}`);
    }
  }

  function renderNumbers() {
    clear(numbersBox);
    if (!wabas || !wabas.length) {
      numbersBox.append(h('p', { class: 'empty' }, 'No WhatsApp Business Accounts in this account and Region.'));
      return;
    }
    for (const w of wabas) {
      const list = h('ul', { class: 'number-list' });
      for (const n of w.phoneNumbers || []) {
        const a = h('a', {
          class: 'number-item',
          href: href(n.phoneNumberId),
          dataset: { phoneNumberId: n.phoneNumberId },
          'aria-current': n.phoneNumberId === phone ? 'true' : null,
        },
        h('span', { class: 'number-display' }, n.displayPhoneNumber || n.phoneNumber || n.phoneNumberId),
        h('span', { class: 'number-name' }, n.displayPhoneNumberName || ''));
        list.append(h('li', null, a));
      }
      numbersBox.append(h('div', { class: 'waba', dataset: { wabaId: w.wabaId } },
        h('div', { class: 'waba-name' }, w.name || w.wabaId, h('span', { class: 'waba-id' }, w.wabaId)),
        list));
    }
  }

  function currentNumber() {
    if (!wabas) return null;
    for (const w of wabas) for (const n of w.phoneNumbers || []) if (n.phoneNumberId === phone) return n;
    return null;
  }

  // ------------------------------------------------------------------ conversations
  const refreshConversations = refresher(async () => {
    if (!phone) return;
    const forPhone = phone;
    try {
      const data = await api('/conversations', { scoped: true, query: { phoneNumberId: forPhone } });
      if (!alive || forPhone !== phone) return;
      conversations = (data && data.conversations) || [];
      convError.clear();
      renderConversations();
    } catch (e) {
      if (alive && forPhone === phone) convError.show(`Could not load the conversations: ${errorText(e)}`);
    }
  });

  function renderConversations() {
    const els = [];
    const seen = new Set();
    for (const c of conversations) {
      seen.add(c.customer);
      const sig = JSON.stringify([c.profileName, c.lastTimeMs, c.unread, c.messages, c.window, c.lastMessage && c.lastMessage.wamid,
        c.lastMessage && c.lastMessage.status, c.customer === customer]);
      let entry = convEls.get(c.customer);
      if (!entry || entry.sig !== sig) {
        const el = entry ? entry.el : h('li', null);
        clear(el).append(conversationRow(c));
        entry = { el, sig, conv: c };
        convEls.set(c.customer, entry);
      }
      entry.conv = c;
      els.push(entry.el);
    }
    for (const k of [...convEls.keys()]) if (!seen.has(k)) convEls.delete(k);
    reconcile(convList, els);
    convEmpty.hidden = conversations.length > 0;
    collectChips();
  }

  function conversationRow(c) {
    const name = c.profileName || `+${c.customer}`;
    const win = windowState(c.window);
    const chip = h('span', { class: 'window-chip', dataset: { open: String(win.open) } }, windowChipText(c.window));
    chip.win = c.window;
    const row = h('a', {
      class: 'conversation-row',
      href: href(phone, c.customer),
      dataset: { customer: c.customer, unread: String(c.unread || 0) },
      'aria-current': c.customer === customer ? 'true' : null,
    },
    h('span', { class: 'avatar', 'aria-hidden': 'true' }, initial(name)),
    h('span', { class: 'conv-main' },
      h('span', { class: 'conv-top' },
        h('span', { class: 'conv-name' }, name),
        h('span', { class: 'conv-time' }, fmtShort(c.lastTimeMs))),
      c.profileName ? h('span', { class: 'conv-number' }, `+${c.customer}`) : null,
      h('span', { class: 'conv-bottom' },
        h('span', { class: 'conv-summary' }, safeSummary(c.lastMessage)),
        c.unread > 0 ? h('span', { class: 'unread-badge', 'aria-label': `${c.unread} unread` }, String(c.unread)) : null),
      h('span', { class: 'conv-meta' }, chip)));
    return row;
  }

  function collectChips() {
    chips = [...chatsEl.querySelectorAll('.window-chip')].filter((el) => el.win !== undefined);
  }

  async function onNewConversation(e) {
    e.preventDefault();
    newError.clear();
    const from = digits(newCustomer.value);
    if (!phone) {
      newError.show('Choose a phone number first.');
      return;
    }
    if (from.length < 6 || from.length > 15) {
      newError.show('Enter the customer number with country code, digits only (e.g. 14255550150).');
      newCustomer.focus();
      return;
    }
    const body = { phoneNumberId: phone, from, type: 'text', text: { body: newText.value.trim() || 'Hi' } };
    if (newProfile.value.trim()) body.profileName = newProfile.value.trim();
    try {
      await api('/inbound', { method: 'POST', scoped: true, body });
      newCustomer.value = '';
      newProfile.value = '';
      newText.value = '';
      refreshConversations();
      location.hash = href(phone, from);
    } catch (err) {
      newError.show(errorText(err));
    }
  }

  // ------------------------------------------------------------------ thread
  let thread = null; // {phone, customer, items, hasMore, window, profileName, total}
  let threadGen = 0;
  let replyTo = null;
  let locationContext = null;
  const rowCache = new Map(); // wamid → {el, sig}
  const dayCache = new Map();
  const mediaCache = new Map();
  const objectUrls = [];
  let stick = true;
  let loadingOlder = false;

  const t = {}; // thread elements

  function buildThread() {
    clear(threadBox);
    rowCache.clear();
    dayCache.clear();
    replyTo = null;
    if (!phone || !customer) {
      threadBox.append(h('div', { class: 'thread-empty' },
        h('p', null, phone ? 'Choose a conversation, or start a new one: the customer writes in first.' : 'Choose a phone number.')));
      return;
    }
    t.back = h('a', { id: 'thread-back', class: 'icon-button back-button', href: href(phone), 'aria-label': 'Back to conversations' }, '←');
    t.avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' }, initial(customer));
    t.name = h('h2', { class: 'thread-name', id: 'thread-name' }, `+${customer}`);
    t.sub = h('span', { class: 'thread-sub', id: 'thread-sub' }, '');
    t.windowState = h('span', { id: 'window-state', class: 'window-state', dataset: { open: 'false' }, role: 'status' }, '');
    t.jump = h('button', { type: 'button', id: 'jump-expiry', class: 'small' }, 'Jump to window expiry');
    on(t.jump, 'click', jumpToExpiry);
    t.refresh = h('button', { type: 'button', class: 'icon-button', id: 'thread-refresh', 'aria-label': 'Refresh the conversation' }, '⟳');
    on(t.refresh, 'click', () => refreshThread());
    const header = h('header', { class: 'thread-header' },
      t.back, t.avatar,
      h('div', { class: 'thread-title' }, t.name, t.sub),
      h('div', { class: 'thread-window' }, t.windowState, t.jump), t.refresh);

    t.older = h('button', { type: 'button', id: 'load-older', class: 'small load-older', hidden: true }, 'Load older messages');
    on(t.older, 'click', () => loadOlder());
    t.list = h('div', { id: 'thread-list', class: 'thread-list' });
    t.status = h('p', { class: 'thread-status', id: 'thread-status', role: 'status' }, 'Loading…');
    t.scroll = h('div', { id: 'thread-scroll', class: 'thread-scroll', role: 'log', 'aria-label': 'Messages', tabindex: '0' },
      t.older, t.status, t.list);
    on(t.scroll, 'scroll', () => {
      stick = t.scroll.scrollHeight - t.scroll.scrollTop - t.scroll.clientHeight < 48;
      if (t.scroll.scrollTop < 60 && thread && thread.hasMore && !loadingOlder) loadOlder();
    }, { passive: true });
    if (typeof ResizeObserver === 'function') {
      const ro = new ResizeObserver(() => {
        if (stick && t.scroll) t.scroll.scrollTop = t.scroll.scrollHeight;
      });
      ro.observe(t.list);
      cleanups.push(() => ro.disconnect());
    }

    t.error = messageBox();
    t.error.id = 'composer-error';
    t.info = messageBox('info');
    t.info.id = 'composer-info';
    t.replyChip = h('div', { id: 'reply-chip', class: 'reply-chip', hidden: true });

    // attach menu + file inputs
    t.attach = h('button', { type: 'button', id: 'attach-button', class: 'icon-button', 'aria-label': 'Attach', 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': 'attach-menu' }, '📎');
    t.menu = h('div', { id: 'attach-menu', class: 'menu attach-menu', role: 'menu', 'aria-label': 'Attach', hidden: true });
    t.files = {};
    const fileInputs = [];
    for (const [kind, label, accept] of FILE_KINDS) {
      const input = h('input', { type: 'file', id: `file-${kind}`, class: 'visually-hidden', tabindex: '-1', accept: accept || null, 'aria-label': `${label} to send`, dataset: { kind } });
      on(input, 'change', () => {
        const f = input.files && input.files[0];
        if (f) sendFile(kind, f).finally(() => { input.value = ''; });
      });
      t.files[kind] = input;
      fileInputs.push(input);
      const item = h('button', { type: 'button', role: 'menuitem', class: 'attach-option', dataset: { kind } }, label);
      on(item, 'click', () => {
        closeMenus();
        input.click();
      });
      t.menu.append(item);
    }
    for (const [kind, label, fn] of [['location', 'Location', () => openLocation(null)], ['contact', 'Contact', openContact]]) {
      const item = h('button', { type: 'button', role: 'menuitem', class: 'attach-option', dataset: { kind } }, label);
      on(item, 'click', () => {
        closeMenus();
        fn();
      });
      t.menu.append(item);
    }
    t.menu.append(h('p', { class: 'menu-hint' }, 'A photo, video or document takes the text in the message box as its caption. Max 16 MiB.'));
    on(t.attach, 'click', (e) => {
      e.stopPropagation();
      if (t.menu.hidden) openMenu(t.menu, t.attach);
      else closeMenus();
    });
    on(t.menu, 'keydown', menuKeys);

    t.text = h('textarea', { id: 'composer-text', rows: '1', placeholder: 'Message as the customer', 'aria-label': 'Message as the customer', autocomplete: 'off' });
    on(t.text, 'keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        sendText();
      } else if (e.key === 'Escape' && replyTo) {
        setReply(null);
      }
    });
    on(t.text, 'input', autoGrow);
    t.send = h('button', { type: 'button', id: 'composer-send', class: 'primary send-button' }, 'Send');
    on(t.send, 'click', sendText);
    const composer = h('div', { class: 'composer', id: 'composer' },
      t.error, t.info, t.replyChip,
      h('div', { class: 'composer-row' },
        h('div', { class: 'attach-wrap' }, t.attach, t.menu),
        t.text, t.send),
      fileInputs);

    buildDialogs();
    threadBox.append(header, t.scroll, composer, t.locDialog, t.contactDialog);
  }

  function autoGrow() {
    t.text.style.height = 'auto';
    t.text.style.height = `${Math.min(t.text.scrollHeight, 160)}px`;
  }

  // -------- dialogs (location, contact)
  function buildDialogs() {
    t.locLat = h('input', { id: 'location-latitude', type: 'number', step: 'any', min: '-90', max: '90', required: true, value: '47.6062' });
    t.locLng = h('input', { id: 'location-longitude', type: 'number', step: 'any', min: '-180', max: '180', required: true, value: '-122.3321' });
    t.locName = h('input', { id: 'location-name', type: 'text', placeholder: 'Pike Place Market' });
    t.locAddr = h('input', { id: 'location-address', type: 'text', placeholder: '85 Pike St, Seattle, WA' });
    t.locError = messageBox();
    const locCancel = h('button', { type: 'button', class: 'ghost' }, 'Cancel');
    t.locForm = h('form', { id: 'location-form', class: 'sheet-form', novalidate: true },
      h('h2', { id: 'location-title' }, 'Send a location'),
      h('div', { class: 'field-row' }, field('Latitude', t.locLat), field('Longitude', t.locLng)),
      field('Name', t.locName), field('Address', t.locAddr),
      t.locError,
      h('div', { class: 'actions' }, locCancel, h('button', { type: 'submit', class: 'primary', id: 'location-send' }, 'Send location')));
    t.locDialog = h('dialog', { id: 'location-dialog', class: 'sheet', 'aria-labelledby': 'location-title' }, t.locForm);
    on(locCancel, 'click', () => t.locDialog.close());
    on(t.locForm, 'submit', async (e) => {
      e.preventDefault();
      const lat = Number(t.locLat.value);
      const lng = Number(t.locLng.value);
      if (t.locLat.value === '' || !Number.isFinite(lat) || lat < -90 || lat > 90) return t.locError.show('Latitude must be a number from -90 to 90.');
      if (t.locLng.value === '' || !Number.isFinite(lng) || lng < -180 || lng > 180) return t.locError.show('Longitude must be a number from -180 to 180.');
      const loc = { latitude: lat, longitude: lng };
      if (t.locName.value.trim()) loc.name = t.locName.value.trim();
      if (t.locAddr.value.trim()) loc.address = t.locAddr.value.trim();
      const ctxId = locationContext || (replyTo && replyTo.wamid);
      const ok = await sendInbound({ type: 'location', location: loc }, ctxId, t.locError);
      if (ok) {
        t.locDialog.close();
        setReply(null);
      }
    });
    on(t.locDialog, 'close', () => {
      locationContext = null;
      t.locError.clear();
      if (t.attach && t.attach.isConnected) t.text.focus();
    });

    t.cName = h('input', { id: 'contact-name', type: 'text', required: true, placeholder: 'Ana Silva', autocomplete: 'off' });
    t.cPhone = h('input', { id: 'contact-phone', type: 'tel', required: true, placeholder: '+1 425 555 0199', autocomplete: 'off' });
    t.cError = messageBox();
    const cCancel = h('button', { type: 'button', class: 'ghost' }, 'Cancel');
    t.cForm = h('form', { id: 'contact-form', class: 'sheet-form', novalidate: true },
      h('h2', { id: 'contact-title' }, 'Send a contact'),
      field('Name', t.cName), field('Phone', t.cPhone),
      t.cError,
      h('div', { class: 'actions' }, cCancel, h('button', { type: 'submit', class: 'primary', id: 'contact-send' }, 'Send contact')));
    t.contactDialog = h('dialog', { id: 'contact-dialog', class: 'sheet', 'aria-labelledby': 'contact-title' }, t.cForm);
    on(cCancel, 'click', () => t.contactDialog.close());
    on(t.cForm, 'submit', async (e) => {
      e.preventDefault();
      const name = t.cName.value.trim();
      const ph = t.cPhone.value.trim();
      if (!name) return t.cError.show('Enter the contact name.');
      if (digits(ph).length < 3) return t.cError.show('Enter the contact phone number.');
      const contact = {
        name: { formatted_name: name, first_name: name.split(/\s+/)[0] },
        phones: [{ phone: ph, type: 'CELL' }],
      };
      const rest = name.split(/\s+/).slice(1).join(' ');
      if (rest) contact.name.last_name = rest;
      const ok = await sendInbound({ type: 'contacts', contacts: [contact] }, replyTo && replyTo.wamid, t.cError);
      if (ok) {
        t.contactDialog.close();
        t.cName.value = '';
        t.cPhone.value = '';
        setReply(null);
      }
    });
    on(t.contactDialog, 'close', () => {
      t.cError.clear();
      if (t.attach && t.attach.isConnected) t.text.focus();
    });
  }

  function openLocation(contextWamid) {
    locationContext = contextWamid || null;
    t.locError.clear();
    if (!t.locDialog.open) t.locDialog.showModal();
    t.locLat.focus();
  }

  function openContact() {
    t.cError.clear();
    if (!t.contactDialog.open) t.contactDialog.showModal();
    t.cName.focus();
  }

  // -------- menus (attach, react)
  let openMenuEl = null;
  let openMenuButton = null;
  function openMenu(menu, button) {
    closeMenus();
    menu.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    openMenuEl = menu;
    openMenuButton = button;
    const first = menu.querySelector('button');
    if (first) first.focus();
  }
  function closeMenus(refocus = false) {
    if (openMenuEl) {
      openMenuEl.hidden = true;
      if (openMenuEl.dataset.transient) openMenuEl.remove();
    }
    if (openMenuButton) {
      openMenuButton.setAttribute('aria-expanded', 'false');
      if (refocus) openMenuButton.focus();
    }
    openMenuEl = null;
    openMenuButton = null;
  }
  function menuKeys(e) {
    const items = [...e.currentTarget.querySelectorAll('button')];
    const i = items.indexOf(document.activeElement);
    if (e.key === 'ArrowDown' || e.key === 'ArrowRight') {
      e.preventDefault();
      items[(i + 1) % items.length].focus();
    } else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') {
      e.preventDefault();
      items[(i - 1 + items.length) % items.length].focus();
    } else if (e.key === 'Home') {
      e.preventDefault();
      items[0].focus();
    } else if (e.key === 'End') {
      e.preventDefault();
      items[items.length - 1].focus();
    }
  }
  const onDocClick = (e) => {
    if (openMenuEl && !openMenuEl.contains(e.target) && e.target !== openMenuButton) closeMenus();
  };
  const onDocKey = (e) => {
    if (e.key === 'Escape' && openMenuEl) {
      e.preventDefault();
      closeMenus(true);
    }
  };
  document.addEventListener('click', onDocClick);
  document.addEventListener('keydown', onDocKey);
  cleanups.push(() => {
    document.removeEventListener('click', onDocClick);
    document.removeEventListener('keydown', onDocKey);
  });

  function openReactMenu(item, button, mine) {
    const menu = h('div', { class: 'menu react-menu', role: 'menu', 'aria-label': 'React with', dataset: { transient: '1' } });
    for (const emoji of REACTIONS) {
      const b = h('button', { type: 'button', role: 'menuitem', class: 'react-option', dataset: { emoji }, 'aria-label': `React ${emoji}`, 'aria-pressed': mine === emoji ? 'true' : null }, emoji);
      on(b, 'click', () => {
        closeMenus(true);
        sendInbound({ type: 'reaction', reaction: { message_id: item.wamid, emoji } }, null);
      });
      menu.append(b);
    }
    if (mine) {
      const b = h('button', { type: 'button', role: 'menuitem', class: 'react-option react-remove', dataset: { emoji: '' } }, 'Remove');
      on(b, 'click', () => {
        closeMenus(true);
        sendInbound({ type: 'reaction', reaction: { message_id: item.wamid, emoji: '' } }, null);
      });
      menu.append(b);
    }
    on(menu, 'keydown', menuKeys);
    button.parentElement.append(menu);
    openMenu(menu, button);
  }

  // -------- reply chip
  function setReply(item) {
    replyTo = item;
    if (!t.replyChip) return;
    clear(t.replyChip);
    if (!item) {
      t.replyChip.hidden = true;
      return;
    }
    const who = item.direction === 'outbound' ? (currentNumber() && currentNumber().displayPhoneNumberName) || 'Business' : 'You (customer)';
    const cancel = h('button', { type: 'button', class: 'icon-button', id: 'reply-cancel', 'aria-label': 'Cancel reply' }, '✕');
    on(cancel, 'click', () => {
      setReply(null);
      t.text.focus();
    });
    t.replyChip.append(
      h('div', { class: 'reply-chip-body' },
        h('span', { class: 'reply-chip-who' }, `Replying to ${who}`),
        h('span', { class: 'reply-chip-text' }, safeSummary(item))),
      cancel);
    t.replyChip.dataset.wamid = item.wamid;
    t.replyChip.hidden = false;
    t.text.focus();
  }

  // -------- loading
  async function fetchPage(before, limit) {
    const q = { limit };
    if (before) q.before = before;
    return api(`/conversations/${encodeURIComponent(phone)}/${encodeURIComponent(customer)}`, { scoped: true, query: q });
  }

  function applyMeta(data) {
    thread.window = data.window || null;
    if (data.profileName !== undefined) thread.profileName = data.profileName;
    thread.total = data.total;
  }

  async function openThread() {
    const gen = ++threadGen;
    thread = { phone, customer, items: [], hasMore: false, window: null, profileName: null, total: 0 };
    stick = true;
    buildThread();
    if (!customer) return;
    renderThreadHeader();
    try {
      const data = await fetchPage(null, PAGE_SIZE);
      if (!alive || gen !== threadGen) return;
      applyMeta(data);
      thread.items = data.items || [];
      thread.hasMore = !!data.hasMore;
      t.status.hidden = true;
      renderThreadHeader();
      renderItems();
      t.scroll.scrollTop = t.scroll.scrollHeight;
    } catch (e) {
      if (!alive || gen !== threadGen) return;
      t.status.textContent = `Could not load the conversation: ${errorText(e)}`;
      t.status.classList.add('error');
    }
  }

  const refreshThread = refresher(async () => {
    if (!thread || !customer || !t.list) return;
    const gen = threadGen;
    const loaded = thread.items.length;
    const limit = Math.min(Math.max(loaded, PAGE_SIZE), MAX_REFRESH);
    let data;
    try {
      data = await fetchPage(null, limit);
    } catch (e) {
      if (alive && gen === threadGen && t.status) {
        t.status.hidden = false;
        t.status.textContent = `Could not refresh the conversation: ${errorText(e)}`;
        t.status.classList.add('error');
      }
      return;
    }
    if (!alive || gen !== threadGen) return;
    applyMeta(data);
    const fresh = data.items || [];
    const ours = thread.items;
    if (fresh.length && ours.length) {
      const idx = ours.findIndex((it) => it.wamid === fresh[0].wamid);
      if (idx >= 0) {
        thread.items = ours.slice(0, idx).concat(fresh);
      } else {
        thread.items = fresh;
        thread.hasMore = !!data.hasMore;
      }
    } else {
      thread.items = fresh;
      thread.hasMore = !!data.hasMore;
    }
    t.status.hidden = true;
    t.status.classList.remove('error');
    renderThreadHeader();
    renderItems();
    if (stick) t.scroll.scrollTop = t.scroll.scrollHeight;
  });

  async function loadOlder() {
    if (!thread || !thread.hasMore || loadingOlder || !thread.items.length) return false;
    loadingOlder = true;
    const gen = threadGen;
    t.older.disabled = true;
    t.older.textContent = 'Loading…';
    try {
      const data = await fetchPage(thread.items[0].wamid, PAGE_SIZE);
      if (!alive || gen !== threadGen) return false;
      const anchor = captureAnchor();
      const have = new Set(thread.items.map((i) => i.wamid));
      const older = (data.items || []).filter((i) => !have.has(i.wamid));
      thread.items = older.concat(thread.items);
      thread.hasMore = !!data.hasMore && older.length > 0;
      renderItems();
      restoreAnchor(anchor);
      return older.length > 0;
    } catch (e) {
      if (alive && gen === threadGen) t.error.show(`Could not load older messages: ${errorText(e)}`);
      return false;
    } finally {
      loadingOlder = false;
      if (t.older) {
        t.older.disabled = false;
        t.older.textContent = 'Load older messages';
      }
    }
  }

  function captureAnchor() {
    const top = t.scroll.scrollTop;
    for (const el of t.list.querySelectorAll('.msg-row')) {
      if (el.offsetTop + el.offsetHeight > top) return { el, delta: el.offsetTop - top };
    }
    return null;
  }

  function restoreAnchor(a) {
    if (a && a.el.isConnected) t.scroll.scrollTop = a.el.offsetTop - a.delta;
  }

  // -------- rendering
  function renderThreadHeader() {
    if (!t.name || !thread) return;
    const profile = thread.profileName || (convEls.get(customer) && convEls.get(customer).conv.profileName) || null;
    t.name.textContent = profile || `+${customer}`;
    t.avatar.textContent = initial(profile || customer);
    const n = currentNumber();
    t.sub.textContent = `${profile ? `+${customer} · ` : ''}with ${n ? (n.displayPhoneNumberName || n.displayPhoneNumber) : phone}`;
    updateWindow();
  }

  function updateWindow() {
    if (!t.windowState || !thread) return;
    const s = windowState(thread.window);
    t.windowState.dataset.open = String(s.open);
    t.windowState.textContent = s.open ? `open · ${fmtLeft(s.left)} left` : 'closed — free-form sends will fail with 131047';
    t.jump.disabled = !s.open;
  }

  function aggregateReactions(items) {
    const map = new Map();
    for (const it of items) {
      if ((it.type || (it.message && it.message.type)) !== 'reaction') continue;
      const r = it.message && it.message.reaction;
      if (!r || !r.message_id) continue;
      const by = it.direction === 'inbound' ? 'customer' : 'business';
      let m = map.get(r.message_id);
      if (!m) {
        m = new Map();
        map.set(r.message_id, m);
      }
      if (!r.emoji) m.delete(by);
      else m.set(by, r.emoji);
    }
    return map;
  }

  function quotedId(it) {
    const c = it.message && it.message.context;
    if (!c) return null;
    return it.direction === 'outbound' ? (c.message_id || c.id || null) : (c.id || c.message_id || null);
  }

  function renderItems() {
    const items = thread.items;
    const reactions = aggregateReactions(items);
    const display = items.filter((it) => (it.type || (it.message && it.message.type)) !== 'reaction');
    const byWamid = new Map(display.map((it) => [it.wamid, it]));
    const els = [];
    const seen = new Set();
    let lastDay = null;
    for (const it of display) {
      const day = fmtDay(it.timeMs);
      if (day !== lastDay) {
        lastDay = day;
        let sep = dayCache.get(day);
        if (!sep) {
          sep = h('div', { class: 'day-separator', dataset: { day } }, h('span', null, day));
          dayCache.set(day, sep);
        }
        els.push(sep);
      }
      const rs = reactions.get(it.wamid);
      const list = rs ? [...rs].map(([by, emoji]) => ({ emoji, by })) : [];
      const qid = quotedId(it);
      const quoted = qid ? byWamid.get(qid) || null : null;
      const sig = JSON.stringify([it.status, it.statuses ? it.statuses.length : 0, it.read, list, quoted ? quoted.wamid : null,
        quoted ? quoted.status : null, it.template ? it.template.status : null]);
      seen.add(it.wamid);
      let entry = rowCache.get(it.wamid);
      if (!entry || entry.sig !== sig) {
        const el = messageRow(it, { reactions: list, quoted }, entry && entry.el);
        entry = { el, sig };
        rowCache.set(it.wamid, entry);
      }
      els.push(entry.el);
    }
    for (const k of [...rowCache.keys()]) if (!seen.has(k)) rowCache.delete(k);
    reconcile(t.list, els);
    t.older.hidden = !thread.hasMore;
    if (!display.length) {
      t.status.hidden = false;
      t.status.textContent = 'No messages.';
    }
  }

  function messageRow(it, { reactions, quoted }, old) {
    const ctx = {
      mediaUrl,
      onTap,
      reactions,
      quoted,
      onJump: jumpTo,
      businessName: (currentNumber() && currentNumber().displayPhoneNumberName) || 'Business',
    };
    let bubble;
    try {
      bubble = renderBubble(it, ctx);
    } catch (e) {
      console.warn('renderBubble failed', e);
      bubble = h('div', { class: 'bubble bubble-fallback', dataset: { wamid: it.wamid } }, safeSummary(it) || it.type || 'message');
    }
    const reply = h('button', { type: 'button', class: 'bubble-reply', 'aria-label': 'Reply to this message', title: 'Reply' }, '↩');
    on(reply, 'click', () => setReply(it));
    const mine = reactions.find((r) => r.by === 'customer');
    const react = h('button', { type: 'button', class: 'bubble-react', 'aria-label': 'React to this message', title: 'React', 'aria-haspopup': 'menu', 'aria-expanded': 'false' }, '☺');
    on(react, 'click', (e) => {
      e.stopPropagation();
      if (openMenuButton === react) closeMenus();
      else openReactMenu(it, react, mine && mine.emoji);
    });
    const row = old || h('div', null);
    row.className = `msg-row ${it.direction === 'outbound' ? 'outbound' : 'inbound'}`;
    row.dataset.wamid = it.wamid;
    row.dataset.direction = it.direction;
    row.dataset.type = it.type || '';
    clear(row).append(bubble, h('div', { class: 'bubble-actions' }, reply, react));
    return row;
  }

  function mediaUrl(id) {
    if (!id) return Promise.resolve(null);
    const key = `${phone}|${id}`;
    if (!mediaCache.has(key)) mediaCache.set(key, fetchMedia(id, phone));
    return mediaCache.get(key);
  }

  async function fetchMedia(id, forPhone) {
    try {
      const res = await fetch(buildUrl(`/media/${encodeURIComponent(id)}`, { phoneNumberId: forPhone, ...scopeParams() }), { headers: authHeaders(), cache: 'no-store' });
      if (res.status === 401) {
        authRequired();
        return null;
      }
      if (!res.ok) return null;
      const blob = await res.blob();
      if (!alive) return null;
      const url = URL.createObjectURL(blob);
      objectUrls.push(url);
      return url;
    } catch {
      return null;
    }
  }

  function onTap(action) {
    if (!action || !action.kind) return;
    const ctxId = action.contextWamid || null;
    switch (action.kind) {
      case 'button_reply':
        sendInbound({ type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: action.id, title: action.title } } }, ctxId);
        break;
      case 'list_reply': {
        const row = { id: action.id, title: action.title };
        if (action.description) row.description = action.description;
        sendInbound({ type: 'interactive', interactive: { type: 'list_reply', list_reply: row } }, ctxId);
        break;
      }
      case 'quick_reply':
        sendInbound({ type: 'button', button: { payload: action.payload, text: action.text } }, ctxId);
        break;
      case 'send_location':
        openLocation(ctxId);
        break;
      default:
        console.warn('unknown action', action);
    }
  }

  async function jumpTo(wamid) {
    for (let i = 0; i < 20; i++) {
      const row = t.list && t.list.querySelector(`.msg-row[data-wamid="${CSS.escape(wamid)}"]`);
      if (row) {
        stick = false;
        row.scrollIntoView({ block: 'center', behavior: 'smooth' });
        row.classList.remove('flash');
        void row.offsetWidth;
        row.classList.add('flash');
        const target = row.querySelector('.bubble-reply');
        if (target) target.focus({ preventScroll: true });
        return;
      }
      if (!thread || !thread.hasMore) break;
      if (!(await loadOlder())) break;
    }
    t.info.show('That message is not in this conversation any more.');
    setTimeout(() => t.info && t.info.clear(), 3000);
  }

  // -------- sending
  async function sendInbound(payload, contextWamid, errorBox) {
    const box = errorBox || t.error;
    box.clear();
    if (box !== t.error) t.error.clear();
    const body = { phoneNumberId: phone, from: customer, ...payload };
    if (thread && thread.profileName) body.profileName = thread.profileName;
    if (contextWamid) body.context = { id: contextWamid };
    try {
      await api('/inbound', { method: 'POST', scoped: true, body });
      stick = true;
      refreshThread();
      refreshConversations();
      return true;
    } catch (e) {
      box.show(errorText(e));
      return false;
    }
  }

  let sending = false;
  async function sendText() {
    const text = t.text.value;
    if (!text.trim()) {
      t.text.focus();
      return;
    }
    if (sending) return;
    sending = true;
    t.send.disabled = true;
    const ok = await sendInbound({ type: 'text', text: { body: text } }, replyTo && replyTo.wamid);
    sending = false;
    if (t.send) t.send.disabled = false;
    if (ok) {
      t.text.value = '';
      autoGrow();
      setReply(null);
    }
    if (t.text) t.text.focus();
  }

  async function sendFile(kind, file) {
    t.error.clear();
    if (file.size > MAX_UPLOAD) {
      t.error.show(`“${file.name}” is ${(file.size / 1048576).toFixed(1)} MiB: files up to 16 MiB can be sent. Choose a smaller file.`);
      return;
    }
    t.info.show(`Uploading ${file.name}…`);
    let base64;
    try {
      base64 = await readBase64(file);
    } catch (e) {
      t.info.clear();
      t.error.show(`Could not read ${file.name}: ${errorText(e)}`);
      return;
    }
    const obj = {};
    const caption = t.text.value.trim();
    if (caption && kind !== 'audio') obj.caption = caption;
    if (kind === 'document') obj.filename = file.name;
    const ok = await sendInbound({ type: kind, [kind]: obj, file: { base64, mimeType: file.type || 'application/octet-stream' } }, replyTo && replyTo.wamid);
    if (t.info) t.info.clear();
    if (ok) {
      if (obj.caption) {
        t.text.value = '';
        autoGrow();
      }
      setReply(null);
    }
  }

  async function jumpToExpiry() {
    const s = windowState(thread && thread.window);
    if (!s.open) return;
    t.error.clear();
    t.jump.disabled = true;
    try {
      const clock = await api('/clock/advance', { method: 'POST', body: { ms: Math.ceil(s.left) + 1000 } });
      if (clock) setClock(clock);
      refreshThread();
      refreshConversations();
    } catch (e) {
      t.error.show(`Could not advance the clock: ${errorText(e)}`);
    } finally {
      updateWindow();
    }
  }

  // ------------------------------------------------------------------ lifecycle
  function selectNumberUi() {
    for (const a of numbersBox.querySelectorAll('.number-item')) {
      if (a.dataset.phoneNumberId === phone) a.setAttribute('aria-current', 'true');
      else a.removeAttribute('aria-current');
    }
  }

  function selectConversationUi() {
    chatsEl.classList.toggle('show-thread', !!customer);
    for (const [c, entry] of convEls) {
      const a = entry.el.querySelector('.conversation-row');
      if (!a) continue;
      if (c === customer) a.setAttribute('aria-current', 'true');
      else a.removeAttribute('aria-current');
    }
  }

  function update(r) {
    const p = r.parts[0] || null;
    const c = r.parts[1] || null;
    if (p !== phone) {
      phone = p;
      customer = c;
      conversations = [];
      convEls.clear();
      clear(convList);
      selectNumberUi();
      if (!phone && wabas) {
        const first = wabas.flatMap((w) => w.phoneNumbers || [])[0];
        if (first) location.replace(href(first.phoneNumberId));
      }
      refreshConversations();
      openThread();
    } else if (c !== customer) {
      customer = c;
      openThread();
    }
    selectConversationUi();
    return true;
  }

  let wabasLoadedAt = 0;
  function onStream(name, data) {
    if (name === 'events') {
      const evs = (data && data.events) || [];
      const mine = evs.some((e) => !e.phoneNumberId || e.phoneNumberId === phone);
      if (!mine) return;
    }
    // Numbers change rarely; a busy emulator may resync every second.
    if (name === 'hello' || (name === 'resync' && Date.now() - wabasLoadedAt > 5000)) {
      wabasLoadedAt = Date.now();
      loadWabas();
    }
    refreshConversations();
    if (customer) refreshThread();
  }

  let lastPoll = Date.now();
  function tick() {
    for (const chip of chips) {
      if (!chip.isConnected) continue;
      const s = windowState(chip.win);
      chip.dataset.open = String(s.open);
      chip.textContent = windowChipText(chip.win);
    }
    updateWindow();
    if (!state.live && Date.now() - lastPoll > 3000) {
      lastPoll = Date.now();
      refreshConversations();
      if (customer) refreshThread();
    }
  }

  cleanups.push(onClock((clock, jumped) => {
    tick();
    if (jumped) {
      refreshConversations();
      if (customer) refreshThread();
    }
  }));

  function unmount() {
    alive = false;
    refreshConversations.cancel();
    refreshThread.cancel();
    for (const fn of cleanups) fn();
    for (const u of objectUrls) URL.revokeObjectURL(u);
    if (t.locDialog && t.locDialog.open) t.locDialog.close();
    if (t.contactDialog && t.contactDialog.open) t.contactDialog.close();
  }

  // start
  loadWabas();
  if (phone) refreshConversations();
  openThread();
  selectConversationUi();

  return { update, onStream, tick, unmount };
}

function initial(name) {
  const s = String(name || '?').replace(/^\+/, '').trim();
  const ch = [...s][0] || '?';
  return ch.toUpperCase();
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.addEventListener('load', () => {
      const s = String(r.result || '');
      const comma = s.indexOf(',');
      resolve(comma >= 0 ? s.slice(comma + 1) : s);
    });
    r.addEventListener('error', () => reject(r.error || new Error('read failed')));
    r.readAsDataURL(file);
  });
}
