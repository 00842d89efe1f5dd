// render.js: chat bubbles "as the customer sees them in WhatsApp".
//
// Pure DOM rendering for the eum-social console. Every piece of message content is
// untrusted: the DOM is built with createElement / textContent / append only, and URLs
// become links only when they parse as absolute http(s) URLs.
//
// The console plays the CUSTOMER: inbound items (the customer's own messages) are
// drawn on the right in green, outbound items (the business) on the left.

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/** Creates an element with an optional class list and children (strings become text nodes). */
function h(tag, cls, ...kids) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  appendKids(e, kids);
  return e;
}

function appendKids(parent, kids) {
  for (const k of kids) {
    if (k == null || k === false || k === '') continue;
    if (Array.isArray(k)) appendKids(parent, k);
    else if (k instanceof Node) parent.append(k);
    else parent.append(String(k));
  }
  return parent;
}

function button(cls, ...kids) {
  const b = h('button', cls, ...kids);
  b.type = 'button';
  return b;
}

function icon(ch) {
  // ⧉ is missing from many fonts: it stays in the text but is drawn by CSS.
  const s = h('span', ch === '⧉' ? 'bubble-icon bubble-icon-copy' : 'bubble-icon', ch);
  s.setAttribute('aria-hidden', 'true');
  return s;
}

/** Any value as display text (objects as JSON). */
function toStr(v) {
  if (v == null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function obj(v) {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

function arr(v) {
  return Array.isArray(v) ? v : [];
}

function lc(v) {
  return toStr(v).toLowerCase();
}

function uc(v) {
  return toStr(v).toUpperCase();
}

function has(v) {
  return v != null && v !== '';
}

const JSON_MAX = 20000;

function prettyJson(v) {
  let s;
  try {
    s = JSON.stringify(v, null, 2);
  } catch {
    s = String(v);
  }
  if (s === undefined) s = String(v);
  if (s.length > JSON_MAX) s = s.slice(0, JSON_MAX) + '\n… (truncated)';
  return s;
}

function jsonBlock(v) {
  return h('pre', 'bubble-json', prettyJson(v));
}

function muted(...kids) {
  return h('div', 'bubble-muted', ...kids);
}

/** First line of a text, at most `max` characters (code points), with an ellipsis when cut. */
function clip(text, max = 80) {
  const line = toStr(text).split(/\r\n|\r|\n/).find((l) => l.trim() !== '') ?? '';
  const cps = Array.from(line.trim());
  if (cps.length <= max) return cps.join('');
  return cps.slice(0, max - 1).join('') + '…';
}

function pad2(n) {
  return String(n).padStart(2, '0');
}

function itemTimeMs(item, msg) {
  const t = Number(item.timeMs);
  if (Number.isFinite(t) && t > 0) return t;
  const s = Number(msg.timestamp);
  if (Number.isFinite(s) && s > 0) return s * 1000;
  return null;
}

function copyText(text) {
  try {
    const p = navigator.clipboard && navigator.clipboard.writeText(toStr(text));
    if (p && typeof p.catch === 'function') p.catch(() => {});
  } catch {
    /* clipboard unavailable: ignore */
  }
}

/** Briefly marks a button as "copied" (visual feedback only). */
function flashCopied(btn) {
  btn.classList.add('bubble-copied');
  const note = h('span', 'bubble-copied-note', 'Copied');
  note.setAttribute('role', 'status');
  btn.append(note);
  setTimeout(() => {
    btn.classList.remove('bubble-copied');
    note.remove();
  }, 1500);
}

function tap(ctx, action) {
  if (ctx && typeof ctx.onTap === 'function') {
    try {
      ctx.onTap(action);
    } catch (e) {
      console.error('onTap failed', e);
    }
  }
}

let uidCounter = 0;
function uid(prefix) {
  uidCounter += 1;
  return `${prefix}-${uidCounter}`;
}

// ---------------------------------------------------------------------------
// safeLink
// ---------------------------------------------------------------------------

/** Parses an absolute http(s) URL; returns the normalised href or null. */
function httpHref(url) {
  const u = toStr(url).trim();
  if (!u) return null;
  try {
    const p = new URL(u);
    if (p.protocol === 'http:' || p.protocol === 'https:') return p.href;
  } catch {
    /* not a URL */
  }
  return null;
}

/**
 * A link for an untrusted URL: an <a target=_blank rel="noopener noreferrer"> only when the
 * URL is an absolute http(s) URL; otherwise an inert <span> that shows the URL as text.
 */
export function safeLink(url, label) {
  const u = toStr(url).trim();
  const text = has(label) ? toStr(label) : u;
  const href = httpHref(u);
  if (href) {
    const a = h('a', 'bubble-link', text);
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.referrerPolicy = 'no-referrer';
    a.title = u;
    return a;
  }
  const s = h('span', 'bubble-link-inert', text);
  if (text !== u && u) s.append(' ', h('span', 'bubble-link-url', u));
  s.title = u ? `Not a web link: ${u}` : 'No link';
  return s;
}

// ---------------------------------------------------------------------------
// formatText: WhatsApp formatting
// ---------------------------------------------------------------------------

const MARKS = { '*': 'strong', _: 'em', '~': 's' };
const WORD_RE = /[\p{L}\p{N}]/u;
const SPACE_RE = /\s/u;
const MAX_NEST = 6;

function isWord(atom) {
  return !!atom && atom.c != null && WORD_RE.test(atom.c);
}

function isSpace(atom) {
  return !!atom && atom.c != null && SPACE_RE.test(atom.c);
}

/** Trims trailing punctuation (and unbalanced closing brackets) off a URL found in text. */
function trimUrl(u) {
  let end = u.length;
  const count = (s, ch) => s.split(ch).length - 1;
  while (end > 0) {
    const ch = u[end - 1];
    const sub = u.slice(0, end);
    if ('.,;:!?\'"*_~'.includes(ch)) {
      end -= 1;
    } else if (ch === ')' && count(sub, '(') < count(sub, ')')) {
      end -= 1;
    } else if (ch === ']' && count(sub, '[') < count(sub, ']')) {
      end -= 1;
    } else if (ch === '}' && count(sub, '{') < count(sub, '}')) {
      end -= 1;
    } else {
      break;
    }
  }
  return u.slice(0, end);
}

/**
 * Splits one text run into atoms: single characters ({c}) and protected nodes ({node}) for
 * inline code spans and URLs (no emphasis is parsed inside them).
 */
function atomize(s) {
  const atoms = [];
  const re = /`([^`\n]+)`|\bhttps?:\/\/[^\s<>"`]+/giu;
  let last = 0;
  let m;
  const pushChars = (t) => {
    for (const c of t) atoms.push({ c });
  };
  while ((m = re.exec(s))) {
    if (m[1] != null) {
      pushChars(s.slice(last, m.index));
      atoms.push({ node: h('code', 'fmt-code', m[1]) });
      last = re.lastIndex;
    } else {
      const url = trimUrl(m[0]);
      if (url.length <= 'https://'.length || !httpHref(url)) {
        // Not a usable URL: leave it as text (so emphasis still works around it).
        continue;
      }
      pushChars(s.slice(last, m.index));
      atoms.push({ node: safeLink(url, url) });
      last = m.index + url.length;
      re.lastIndex = last;
    }
  }
  pushChars(s.slice(last));
  return atoms;
}

function canOpen(atoms, i, mark) {
  const prev = atoms[i - 1];
  const next = atoms[i + 1];
  if (!next) return false;
  if (prev && isWord(prev)) return false;
  if (isSpace(next)) return false;
  if (next.c === mark) return false;
  return true;
}

function findClose(atoms, i, to, mark) {
  for (let j = i + 2; j < to; j += 1) {
    const a = atoms[j];
    if (a.c !== mark) continue;
    const prev = atoms[j - 1];
    const next = atoms[j + 1];
    if (isSpace(prev)) continue;
    if (next && isWord(next)) continue;
    return j;
  }
  return -1;
}

function parseEmphasis(atoms, from, to, active, parent) {
  let buf = '';
  const flush = () => {
    if (buf) {
      parent.append(buf);
      buf = '';
    }
  };
  let i = from;
  while (i < to) {
    const a = atoms[i];
    if (a.node) {
      flush();
      parent.append(a.node);
      i += 1;
      continue;
    }
    const c = a.c;
    if (MARKS[c] && !active.includes(c) && active.length < MAX_NEST && canOpen(atoms, i, c)) {
      const j = findClose(atoms, i, to, c);
      if (j > 0) {
        flush();
        const e = document.createElement(MARKS[c]);
        parseEmphasis(atoms, i + 1, j, active + c, e);
        parent.append(e);
        i = j + 1;
        continue;
      }
    }
    buf += c;
    i += 1;
  }
  flush();
}

function appendInline(parent, s) {
  if (!s) return;
  const atoms = atomize(s);
  parseEmphasis(atoms, 0, atoms.length, '', parent);
}

function appendPieces(parent, pieces) {
  for (const p of pieces) {
    if (p.k === 'c') parent.append(h('code', 'mono', p.s));
    else appendInline(parent, p.s);
  }
}

const BLOCK_RES = [
  ['ul', /^[*-] +/],
  ['ol', /^(\d{1,3})\. +/],
  ['quote', /^> /],
];

/**
 * WhatsApp formatting of a text: *bold*, _italic_, ~strike~, ```mono``` (may span lines),
 * `inline code`, "* "/"- " bullets, "1. " numbered items, "> " quotes, line breaks, and
 * http(s) URLs as safe links. Returns a DocumentFragment (never parses HTML).
 */
export function formatText(text) {
  const frag = document.createDocumentFragment();
  const s = toStr(text);
  if (!s) return frag;

  // 1. Lines made of pieces: text runs and ``` blocks (a ``` block may span lines).
  const lines = [[]];
  const pushText = (t) => {
    t.split(/\r\n|\r|\n/).forEach((part, idx) => {
      if (idx > 0) lines.push([]);
      if (part) lines[lines.length - 1].push({ k: 't', s: part });
    });
  };
  const re = /```([\s\S]+?)```/g;
  let last = 0;
  let m;
  while ((m = re.exec(s))) {
    pushText(s.slice(last, m.index));
    lines[lines.length - 1].push({ k: 'c', s: m[1] });
    last = re.lastIndex;
  }
  pushText(s.slice(last));

  // 2. Classify lines (bullets, numbered, quotes) and emit, grouping consecutive blocks.
  let prevKind = null;
  let container = null;
  for (const line of lines) {
    let kind = 'p';
    let pieces = line;
    let number = null;
    const first = line[0];
    if (first && first.k === 't') {
      for (const [k, rx] of BLOCK_RES) {
        const mm = rx.exec(first.s);
        if (!mm) continue;
        const rest = first.s.slice(mm[0].length);
        if (!rest && line.length === 1 && k !== 'quote') continue;
        kind = k;
        number = mm[1] ? Number(mm[1]) : null;
        pieces = rest ? [{ k: 't', s: rest }, ...line.slice(1)] : line.slice(1);
        break;
      }
    }
    if (kind === 'p') {
      if (prevKind === 'p') frag.append(document.createElement('br'));
      appendPieces(frag, pieces);
      container = null;
    } else {
      if (kind !== prevKind || !container) {
        container =
          kind === 'ul' ? h('ul', 'fmt-list') : kind === 'ol' ? h('ol', 'fmt-list fmt-olist') : h('blockquote', 'fmt-quote');
        frag.append(container);
      } else if (kind === 'quote') {
        container.append(document.createElement('br'));
      }
      if (kind === 'quote') {
        appendPieces(container, pieces);
      } else {
        const li = document.createElement('li');
        if (number != null && Number.isFinite(number)) li.value = number;
        appendPieces(li, pieces);
        container.append(li);
      }
    }
    prevKind = kind;
  }
  return frag;
}

function textBlock(text, extraCls) {
  return h('div', extraCls ? `bubble-text ${extraCls}` : 'bubble-text', formatText(text));
}

// ---------------------------------------------------------------------------
// statusTicks
// ---------------------------------------------------------------------------

function lastError(item) {
  const sts = arr(item.statuses);
  for (let i = sts.length - 1; i >= 0; i -= 1) {
    const st = obj(sts[i]);
    const e = st.error || arr(st.errors)[0];
    if (e) return obj(e);
  }
  if (item.error) return obj(item.error);
  if (Array.isArray(item.errors) && item.errors[0]) return obj(item.errors[0]);
  return null;
}

function statusTime(item, status) {
  const sts = arr(item.statuses);
  for (let i = sts.length - 1; i >= 0; i -= 1) {
    const st = obj(sts[i]);
    if (lc(st.status) === status && Number.isFinite(Number(st.timeMs))) return Number(st.timeMs);
  }
  return null;
}

const TICKS = {
  accepted: ['tick-pending', '🕓', 'Pending (accepted, not sent yet)'],
  sent: ['tick-sent', '✓', 'Sent'],
  delivered: ['tick-delivered', '✓✓', 'Delivered'],
  read: ['tick-read', '✓✓', 'Read'],
};

/** The status marker of an outbound (business) item: 🕓 / ✓ / ✓✓ / blue ✓✓ / ⚠ Failed … */
export function statusTicks(item) {
  const it = obj(item);
  const status = lc(it.status);
  const e = h('span', 'tick');
  e.dataset.status = status;
  if (it.direction === 'inbound') {
    e.classList.add('tick-none');
    return e;
  }
  if (status === 'failed') {
    e.classList.add('tick-failed');
    const err = lastError(it) || {};
    const code = has(err.code) ? toStr(err.code) : '';
    const title = toStr(err.title);
    let label = 'Failed';
    if (code) label += ` ${code}`;
    if (title) label += ` · ${title}`;
    e.append(icon('⚠'), h('span', 'tick-failed-text', label));
    const details = [toStr(err.message), toStr(obj(err.error_data).details)].filter(
      (x, i, all) => x && all.indexOf(x) === i,
    );
    e.title = details.length ? details.join(' — ') : label;
    e.setAttribute('role', 'status');
    return e;
  }
  const t = TICKS[status];
  if (t) {
    e.classList.add(t[0]);
    e.textContent = t[1];
    const at = statusTime(it, status);
    const when = at ? ` ${fmtClock(at)}` : '';
    e.title = `${t[2]}${when}`;
    e.setAttribute('aria-label', t[2]);
    e.setAttribute('role', 'img');
  } else {
    e.classList.add('tick-unknown');
    e.textContent = status || '?';
    e.title = status ? `Status: ${status}` : 'No status yet';
  }
  return e;
}

function fmtClock(ms) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '';
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

// ---------------------------------------------------------------------------
// summary
// ---------------------------------------------------------------------------

function withCaption(label, caption) {
  const c = clip(caption, 200);
  return c ? `${label} · ${c}` : label;
}

function contactName(c) {
  const n = obj(obj(c).name);
  return toStr(n.formatted_name) || [n.first_name, n.middle_name, n.last_name].map(toStr).filter(Boolean).join(' ');
}

/** One-line preview of an item for conversation lists (≤ 80 characters). */
export function summary(item) {
  const it = obj(item);
  const msg = obj(it.message);
  const type = lc(it.type || msg.type);
  const inbound = it.direction === 'inbound';
  let s;
  switch (type) {
    case 'text':
      s = typeof msg.text === 'string' ? msg.text : obj(msg.text).body;
      s = toStr(s);
      break;
    case 'image':
      s = withCaption('📷 Photo', obj(msg.image).caption);
      break;
    case 'video':
      s = withCaption('🎥 Video', obj(msg.video).caption);
      break;
    case 'audio':
      s = obj(msg.audio).voice ? '🎤 Voice message' : '🎵 Audio';
      break;
    case 'document': {
      const d = obj(msg.document);
      s = `📄 ${toStr(d.filename) || 'Document'}`;
      break;
    }
    case 'sticker':
      s = 'Sticker';
      break;
    case 'location': {
      const l = obj(msg.location);
      const name = toStr(l.name) || toStr(l.address);
      s = name ? `📍 Location · ${name}` : '📍 Location';
      break;
    }
    case 'contacts': {
      const cs = arr(msg.contacts);
      const name = cs.length ? contactName(cs[0]) : '';
      s = name ? `👤 Contact · ${name}${cs.length > 1 ? ` +${cs.length - 1}` : ''}` : '👤 Contact';
      break;
    }
    case 'template':
      s = `Template: ${toStr(obj(msg.template).name) || toStr(obj(it.template).name) || '?'}`;
      break;
    case 'interactive': {
      const ia = obj(msg.interactive);
      if (inbound || ia.button_reply || ia.list_reply || ia.nfm_reply) {
        if (ia.button_reply) s = toStr(obj(ia.button_reply).title);
        else if (ia.list_reply) s = toStr(obj(ia.list_reply).title);
        else if (ia.nfm_reply) s = `📋 ${toStr(obj(ia.nfm_reply).body) || 'Flow response'}`;
        else s = 'Interactive reply';
      } else {
        const hd = obj(ia.header);
        s = toStr(obj(ia.body).text) || (lc(hd.type) === 'text' ? toStr(hd.text) : '') || 'Interactive message';
      }
      break;
    }
    case 'button':
      s = toStr(obj(msg.button).text) || toStr(obj(msg.button).payload) || 'Button';
      break;
    case 'reaction': {
      const emoji = toStr(obj(msg.reaction).emoji);
      s = emoji ? `Reacted ${emoji}` : 'Removed a reaction';
      break;
    }
    case 'order':
      s = '🛒 Order';
      break;
    default:
      s = type ? `Unsupported message (${type})` : 'Message';
  }
  return clip(s, 80);
}

// ---------------------------------------------------------------------------
// Media, location, contacts
// ---------------------------------------------------------------------------

const MEDIA = {
  image: ['🖼', 'Image'],
  video: ['🎥', 'Video'],
  audio: ['🎵', 'Audio'],
  document: ['📄', 'Document'],
  sticker: ['💟', 'Sticker'],
};

/** Only local object URLs (blob:/data:) or http(s) are used as media sources. */
function mediaSrcOk(url) {
  if (typeof url !== 'string' || !url) return false;
  try {
    const p = new URL(url, document.baseURI);
    return ['blob:', 'data:', 'http:', 'https:'].includes(p.protocol);
  } catch {
    return false;
  }
}

function resolveMedia(ctx, id) {
  if (!ctx || typeof ctx.mediaUrl !== 'function') return Promise.resolve(null);
  return Promise.resolve()
    .then(() => ctx.mediaUrl(id))
    .catch(() => null);
}

function mediaLabel(kind, m) {
  const [ic, label] = MEDIA[kind] || ['📎', 'Media'];
  if (kind === 'audio' && m.voice) return ['🎤', 'Voice message'];
  return [ic, label];
}

/**
 * A media block for `{id}` (fetched through ctx.mediaUrl) or `{link}` (never fetched: shown
 * as a card with the URL).
 */
function renderMedia(kind, media, ctx) {
  const m = obj(media);
  const [ic, label] = mediaLabel(kind, m);
  const wrap = h('div', `bubble-media bubble-media-${kind}`);
  const id = has(m.id) ? toStr(m.id) : '';
  const filename = toStr(m.filename);
  const mime = toStr(m.mime_type || m.mimeType);

  if (kind === 'document') {
    const card = h(
      'div',
      'bubble-doc',
      h('span', 'bubble-doc-icon', ic),
      h(
        'div',
        'bubble-doc-info',
        h('span', 'bubble-doc-name', filename || 'Document'),
        mime ? h('span', 'bubble-doc-mime', mime) : null,
      ),
    );
    wrap.append(card);
    if (id) {
      const slot = h('span', 'bubble-doc-action bubble-media-pending', 'Loading…');
      card.append(slot);
      resolveMedia(ctx, id).then((url) => {
        slot.classList.remove('bubble-media-pending');
        if (!mediaSrcOk(url)) {
          slot.classList.add('bubble-media-missing');
          slot.textContent = 'File unavailable';
          return;
        }
        const a = h('a', 'bubble-doc-download', '⬇ Download');
        a.href = url;
        a.download = filename || 'document';
        a.title = `Download ${filename || 'document'}`;
        slot.replaceWith(a);
      });
    } else if (has(m.link)) {
      card.classList.add('bubble-media-link');
      card.append(h('span', 'bubble-doc-action', safeLink(m.link)));
    } else {
      card.append(h('span', 'bubble-doc-action bubble-media-missing', 'No file'));
    }
    return wrap;
  }

  if (id) {
    const ph = h('div', 'bubble-media-placeholder bubble-media-pending', h('span', 'bubble-media-kind', `${ic} ${label}`), h('span', 'bubble-media-note', 'Loading…'));
    wrap.append(ph);
    resolveMedia(ctx, id).then((url) => {
      if (!mediaSrcOk(url)) {
        ph.classList.remove('bubble-media-pending');
        ph.classList.add('bubble-media-missing');
        ph.lastChild.textContent = 'Media unavailable';
        return;
      }
      let el;
      if (kind === 'image' || kind === 'sticker') {
        el = document.createElement('img');
        el.className = kind === 'sticker' ? 'bubble-sticker-img' : 'bubble-img';
        el.alt = toStr(m.caption) || label;
        el.decoding = 'async';
        el.src = url;
      } else if (kind === 'video') {
        el = document.createElement('video');
        el.className = 'bubble-video';
        el.controls = true;
        el.preload = 'metadata';
        el.src = url;
      } else if (kind === 'audio') {
        el = document.createElement('audio');
        el.className = 'bubble-audio';
        el.controls = true;
        el.preload = 'metadata';
        el.src = url;
      } else {
        el = safeLink(url, label);
      }
      ph.replaceWith(el);
    });
  } else if (has(m.link)) {
    wrap.append(
      h('div', 'bubble-media-placeholder bubble-media-link', h('span', 'bubble-media-kind', `${ic} ${label}`), h('span', 'bubble-media-url', safeLink(m.link))),
    );
  } else {
    wrap.append(h('div', 'bubble-media-placeholder bubble-media-missing', h('span', 'bubble-media-kind', `${ic} ${label}`), h('span', 'bubble-media-note', 'No media')));
  }
  return wrap;
}

function coord(v) {
  const n = Number(v);
  if (v == null || v === '' || !Number.isFinite(n)) return '?';
  return n.toFixed(6);
}

function renderLocation(loc) {
  const l = obj(loc);
  const name = toStr(l.name);
  const address = toStr(l.address);
  return h(
    'div',
    'bubble-location',
    h('span', 'bubble-location-pin', '📍'),
    h(
      'div',
      'bubble-location-info',
      name ? h('strong', 'bubble-location-name', name) : null,
      address ? h('div', 'bubble-location-address', address) : null,
      h('div', 'bubble-location-coords', `${coord(l.latitude)}, ${coord(l.longitude)}`),
      has(l.url) ? h('div', 'bubble-location-url', safeLink(l.url)) : null,
    ),
  );
}

function typed(value, type) {
  const t = toStr(type);
  return t ? `${toStr(value)} (${t})` : toStr(value);
}

function renderContact(c) {
  const ct = obj(c);
  const org = obj(ct.org);
  const card = h('div', 'bubble-contact');
  card.append(h('div', 'bubble-contact-head', h('span', 'bubble-contact-avatar', '👤'), h('strong', 'bubble-contact-name', contactName(ct) || 'Contact')));
  const orgLine = [org.company, org.department, org.title].map(toStr).filter(Boolean).join(' · ');
  if (orgLine) card.append(h('div', 'bubble-contact-org', orgLine));
  const list = h('ul', 'bubble-contact-list');
  for (const p of arr(ct.phones)) {
    const ph = obj(p);
    const li = h('li', 'bubble-contact-phone', '📞 ', typed(ph.phone || ph.wa_id, ph.type));
    if (ph.wa_id) li.title = `WhatsApp ID ${toStr(ph.wa_id)}`;
    list.append(li);
  }
  for (const e of arr(ct.emails)) {
    const em = obj(e);
    list.append(h('li', 'bubble-contact-email', '✉ ', typed(em.email, em.type)));
  }
  for (const u of arr(ct.urls)) {
    const ur = obj(u);
    list.append(h('li', 'bubble-contact-url', '🔗 ', safeLink(ur.url), ur.type ? ` (${toStr(ur.type)})` : ''));
  }
  for (const a of arr(ct.addresses)) {
    const ad = obj(a);
    const line = toStr(ad.street) || [ad.city, ad.state, ad.zip, ad.country].map(toStr).filter(Boolean).join(', ');
    const full = [line, toStr(ad.street) ? [ad.city, ad.zip, ad.country].map(toStr).filter(Boolean).join(', ') : '']
      .filter(Boolean)
      .join(', ');
    if (full) list.append(h('li', 'bubble-contact-address', '🏠 ', typed(full, ad.type)));
  }
  if (has(ct.birthday)) list.append(h('li', 'bubble-contact-birthday', '🎂 ', toStr(ct.birthday)));
  if (list.childNodes.length) card.append(list);
  return card;
}

// ---------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------

const PLACEHOLDER_RE = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

function paramText(p) {
  const pr = obj(p);
  const t = lc(pr.type);
  if (t === 'text' || (!t && has(pr.text))) return toStr(pr.text);
  if (t === 'currency') {
    const c = obj(pr.currency);
    if (has(c.fallback_value)) return toStr(c.fallback_value);
    const n = Number(c.amount_1000);
    return Number.isFinite(n) ? `${(n / 1000).toFixed(2)} ${toStr(c.code)}`.trim() : toStr(c.code);
  }
  if (t === 'date_time') {
    const d = obj(pr.date_time);
    return has(d.fallback_value) ? toStr(d.fallback_value) : toStr(pr.date_time);
  }
  if (t === 'payload') return toStr(pr.payload);
  if (t === 'coupon_code') return toStr(pr.coupon_code);
  if (t && pr[t] != null) {
    const v = pr[t];
    return typeof v === 'object' ? `[${t}]` : toStr(v);
  }
  return toStr(p);
}

/** Substitutes {{1}} / {{name}} placeholders with the send's parameters. */
function substitute(text, params) {
  const s = toStr(text);
  const ps = arr(params);
  const names = [];
  for (const m of s.matchAll(PLACEHOLDER_RE)) {
    if (!/^\d+$/.test(m[1]) && !names.includes(m[1])) names.push(m[1]);
  }
  const anyNamed = ps.some((p) => has(obj(p).parameter_name));
  return s.replace(PLACEHOLDER_RE, (whole, key) => {
    let p = ps.find((x) => obj(x).parameter_name === key);
    if (p === undefined) {
      if (/^\d+$/.test(key)) p = ps[Number(key) - 1];
      else if (!anyNamed) p = ps[names.indexOf(key)];
    }
    return p === undefined || p === null ? whole : paramText(p);
  });
}

function sendComp(sendComps, type) {
  return sendComps.find((c) => lc(obj(c).type) === type);
}

function sendButton(sendComps, index) {
  return sendComps.find((c) => {
    const co = obj(c);
    return lc(co.type) === 'button' && has(co.index) && String(co.index).trim() === String(index);
  });
}

function tplButton(kind, ic, label, sub) {
  const b = button('tpl-button', icon(ic), h('span', 'tpl-button-label', label));
  b.dataset.kind = kind;
  if (has(sub)) b.append(h('span', 'tpl-button-sub', sub));
  return b;
}

function flowDetailsPanel(info) {
  const panel = h('div', 'flow-details');
  panel.id = uid('flow-details');
  panel.hidden = true;
  const dl = h('dl', 'flow-details-list');
  const row = (k, v) => {
    if (!has(v)) return;
    dl.append(h('dt', null, k), h('dd', null, toStr(v)));
  };
  row('Flow ID', info.flowId);
  row('Flow name', info.flowName);
  row('Mode', info.mode);
  row('Action', info.action);
  row('First screen', info.screen);
  row('Flow token', info.token);
  row('Message version', info.version);
  panel.append(dl);
  if (info.data !== undefined) panel.append(h('div', 'flow-details-label', 'Data'), jsonBlock(info.data));
  if (has(info.flowId)) {
    const href = new URL(`/_emulator/flows/${encodeURIComponent(toStr(info.flowId))}/assets/flow.json`, document.baseURI).href;
    panel.append(h('div', 'flow-details-link', safeLink(href, 'Flow JSON')));
  }
  return panel;
}

function wireToggle(btn, panel) {
  btn.setAttribute('aria-expanded', 'false');
  btn.setAttribute('aria-controls', panel.id);
  btn.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    btn.setAttribute('aria-expanded', String(!panel.hidden));
  });
}

const AUTH_BODY = '*{{1}}* is your verification code.';

function renderTplHeader(comp, send, opts) {
  const fmt = uc(comp.format || 'TEXT');
  const params = arr(obj(send).parameters);
  if (fmt === 'TEXT') {
    return h('div', 'tpl-header', formatText(substitute(comp.text, params)));
  }
  if (fmt === 'LOCATION') {
    const p = params.find((x) => lc(obj(x).type) === 'location');
    if (p) return h('div', 'tpl-header tpl-header-location', renderLocation(obj(p).location));
    return h('div', 'tpl-header', h('div', 'bubble-media-placeholder tpl-header-media', h('span', 'bubble-media-kind', '📍 Location')));
  }
  const kind = lc(fmt);
  if (MEDIA[kind]) {
    const p = params.find((x) => lc(obj(x).type) === kind);
    const media = p ? obj(obj(p)[kind]) : null;
    if (media && (has(media.id) || has(media.link))) {
      return h('div', 'tpl-header tpl-header-media-wrap', renderMedia(kind, media, opts.ctx));
    }
    const [ic, label] = MEDIA[kind];
    return h(
      'div',
      'tpl-header',
      h('div', 'bubble-media-placeholder tpl-header-media', h('span', 'bubble-media-kind', `${ic} ${label}`), opts.preview ? h('span', 'bubble-media-note', 'Sample media') : null),
    );
  }
  return muted(`Header (${fmt})`);
}

function otpCode(sendComps, sendBtn, opts) {
  const p = arr(obj(sendBtn).parameters)[0];
  if (p) return paramText(p);
  const body = arr(obj(sendComp(sendComps, 'body')).parameters)[0];
  if (body) return paramText(body);
  return opts.preview ? '123456' : '';
}

/** The copy-code / autofill button of an authentication template (OTP). */
function otpButton(otpType, text, sendComps, sendBtn, opts) {
  const code = otpCode(sendComps, sendBtn, opts);
  const label = text || (otpType === 'COPY_CODE' || !otpType ? 'Copy code' : 'Autofill');
  const el = tplButton('otp', '⧉', label, code);
  el.dataset.otpType = lc(otpType);
  el.title = code ? `Copy ${code}` : 'Copy code';
  if (!opts.preview) el.addEventListener('click', () => {
    copyText(code);
    flashCopied(el);
  });
  return el;
}

/** Meta stores an OTP button as a URL button to WhatsApp's OTP handler: its otp_type, or null. */
function otpTypeOfUrl(url) {
  const m = /^https:\/\/www\.whatsapp\.com\/otp\/code\/\?otp_type=([A-Z_]+)/.exec(toStr(url));
  return m ? m[1] : null;
}

function renderTplButtons(buttons, sendComps, opts) {
  const box = h('div', 'bubble-buttons tpl-buttons');
  const { ctx, item, preview } = opts;
  const wamid = toStr(obj(item).wamid);
  const panels = [];
  buttons.forEach((raw, i) => {
    const b = obj(raw);
    const type = uc(b.type);
    const sb = sendButton(sendComps, i);
    const sp = arr(obj(sb).parameters);
    const text = toStr(b.text);
    let el;
    switch (type) {
      case 'QUICK_REPLY': {
        el = tplButton('quick_reply', '↩', text || 'Reply');
        const pp = sp.find((p) => lc(obj(p).type) === 'payload' || has(obj(p).payload));
        const payload = pp ? toStr(obj(pp).payload) : text;
        if (!preview) el.addEventListener('click', () => tap(ctx, { kind: 'quick_reply', payload, text, contextWamid: wamid }));
        break;
      }
      case 'URL': {
        const otpType = otpTypeOfUrl(b.url);
        if (otpType) {
          el = otpButton(otpType, text, sendComps, sb, opts);
          break;
        }
        const ex = arr(b.example).length ? arr(b.example)[0] : b.example;
        let url;
        if (preview && has(ex) && httpHref(ex) && /\{\{/.test(toStr(b.url))) url = toStr(ex);
        else if (preview) url = substitute(b.url, has(ex) ? [{ type: 'text', text: toStr(ex) }] : []);
        else {
          const tp = sp.find((p) => has(obj(p).text) || lc(obj(p).type) === 'text');
          url = substitute(b.url, tp ? [tp] : []);
        }
        el = safeLink(url, text || url);
        el.classList.add('tpl-button');
        el.dataset.kind = 'url';
        el.prepend(icon('↗'));
        break;
      }
      case 'PHONE_NUMBER': {
        const num = toStr(b.phone_number);
        el = tplButton('phone_number', '📞', text || 'Call', num);
        el.title = num ? `Call ${num} (click copies the number)` : 'Call';
        if (!preview && num) el.addEventListener('click', () => {
          copyText(num);
          flashCopied(el);
        });
        break;
      }
      case 'COPY_CODE': {
        let code = '';
        const cp = sp.find((p) => lc(obj(p).type) === 'coupon_code' || has(obj(p).coupon_code));
        if (cp) code = toStr(obj(cp).coupon_code);
        else if (sp[0]) code = paramText(sp[0]);
        else if (preview) code = toStr(Array.isArray(b.example) ? b.example[0] : b.example);
        el = tplButton('copy_code', '⧉', text || 'Copy offer code', code);
        el.title = code ? `Copy ${code}` : 'Copy code';
        if (!preview) el.addEventListener('click', () => {
          copyText(code);
          flashCopied(el);
        });
        break;
      }
      case 'OTP':
        el = otpButton(uc(b.otp_type), text, sendComps, sb, opts);
        break;
      case 'FLOW': {
        const flowId = toStr(b.flow_id);
        el = tplButton('flow', '▤', text || 'Open', flowId ? `flow ${flowId}` : toStr(b.flow_name));
        const act = sp.find((p) => lc(obj(p).type) === 'action');
        const action = obj(obj(act).action);
        const panel = flowDetailsPanel({
          flowId,
          flowName: b.flow_name,
          action: b.flow_action,
          screen: b.navigate_screen || obj(action.flow_action_data).screen,
          token: action.flow_token,
          data: act ? action.flow_action_data : undefined,
        });
        wireToggle(el, panel);
        panels.push(panel);
        break;
      }
      default: {
        const ics = { CATALOG: '▦', MPM: '▦', VOICE_CALL: '📞', SPM: '▦' };
        el = tplButton('other', ics[type] || '•', text || lc(type) || 'Button');
        el.dataset.buttonType = lc(type);
      }
    }
    if (preview && el.tagName === 'BUTTON') el.disabled = true;
    box.append(el);
  });
  for (const p of panels) box.append(p);
  return box;
}

/** Renders a template from its definition and the send's components. */
function buildTemplate(def, send, opts) {
  const d = obj(def);
  const comps = arr(d.components);
  const sendComps = arr(obj(send).components);
  const auth = uc(d.category) === 'AUTHENTICATION';
  const content = [];
  let buttons = null;
  for (const raw of comps) {
    const c = obj(raw);
    const t = uc(c.type);
    if (t === 'HEADER') {
      content.push(renderTplHeader(c, sendComp(sendComps, 'header'), opts));
    } else if (t === 'BODY') {
      let text = toStr(c.text);
      if (!text && auth) {
        text = AUTH_BODY;
        if (c.add_security_recommendation) text += ' For your security, do not share this code.';
      }
      let params = arr(obj(sendComp(sendComps, 'body')).parameters);
      if (opts.preview && !params.length && auth) params = [{ type: 'text', text: '123456' }];
      content.push(textBlock(substitute(text, params), 'tpl-body'));
    } else if (t === 'FOOTER') {
      let text = toStr(c.text);
      if (!text && has(c.code_expiration_minutes)) text = `This code expires in ${toStr(c.code_expiration_minutes)} minutes.`;
      if (text) content.push(h('div', 'tpl-footer', text));
    } else if (t === 'BUTTONS') {
      const bs = arr(c.buttons);
      if (bs.length) buttons = renderTplButtons(bs, sendComps, opts);
    } else if (t === 'CAROUSEL') {
      const cards = arr(c.cards);
      const box = h('div', 'tpl-carousel', muted(`Carousel · ${cards.length} card${cards.length === 1 ? '' : 's'}`));
      cards.forEach((card, i) => {
        const body = arr(obj(card).components).find((x) => uc(obj(x).type) === 'BODY');
        box.append(h('div', 'tpl-carousel-card', h('span', 'tpl-carousel-index', `${i + 1}. `), toStr(obj(body).text) || 'Card'));
      });
      content.push(box);
    } else if (t === 'LIMITED_TIME_OFFER') {
      const lto = obj(c.limited_time_offer);
      content.push(h('div', 'tpl-lto', '⏱ ', toStr(lto.text) || 'Limited-time offer'));
    } else {
      content.push(muted(`${t || 'Unknown'} component`));
    }
  }
  return { content, buttons };
}

/** A template whose definition is unknown: its name and the raw send parameters. */
function buildUnknownTemplate(send) {
  const s = obj(send);
  const name = toStr(s.name) || '?';
  const lang = toStr(obj(s.language).code || s.language);
  const content = [h('div', 'tpl-unknown-name', '📋 Template: ', h('strong', null, name), lang ? ` (${lang})` : '')];
  content.push(muted('Template definition not found in this WABA'));
  const list = h('ul', 'tpl-raw');
  for (const raw of arr(s.components)) {
    const c = obj(raw);
    const head = lc(c.type) === 'button' ? `button ${toStr(c.index)} (${toStr(c.sub_type)})` : lc(c.type) || 'component';
    const ps = arr(c.parameters);
    if (!ps.length) {
      list.append(h('li', null, h('span', 'tpl-raw-key', head), ': (no parameters)'));
      continue;
    }
    ps.forEach((p, i) => {
      const po = obj(p);
      const key = has(po.parameter_name) ? `{{${toStr(po.parameter_name)}}}` : `{{${i + 1}}}`;
      const t = lc(po.type);
      let val;
      if (MEDIA[t]) {
        const m = obj(po[t]);
        val = has(m.id) ? `${t} id ${toStr(m.id)}` : has(m.link) ? safeLink(m.link) : t;
      } else if (t === 'location') {
        const l = obj(po.location);
        val = `📍 ${coord(l.latitude)}, ${coord(l.longitude)} ${toStr(l.name)}`.trim();
      } else if (t === 'action') {
        val = toStr(po.action);
      } else {
        val = paramText(po);
      }
      list.append(h('li', null, h('span', 'tpl-raw-key', `${head} ${key}`), ' = ', h('span', 'tpl-raw-value', val)));
    });
  }
  if (list.childNodes.length) content.push(list);
  return { content, buttons: null };
}

/** Synthetic send components built from a definition's `example` values. */
function exampleSend(def) {
  const components = [];
  for (const raw of arr(obj(def).components)) {
    const c = obj(raw);
    const t = uc(c.type);
    const ex = obj(c.example);
    if (t === 'HEADER') {
      let params = [];
      if (arr(ex.header_text_named_params).length) {
        params = ex.header_text_named_params.map((p) => ({ type: 'text', text: toStr(obj(p).example), parameter_name: toStr(obj(p).param_name) }));
      } else if (ex.header_text != null) {
        params = (Array.isArray(ex.header_text) ? ex.header_text : [ex.header_text]).map((v) => ({ type: 'text', text: toStr(v) }));
      }
      components.push({ type: 'header', parameters: params });
    } else if (t === 'BODY') {
      let params = [];
      if (arr(ex.body_text_named_params).length) {
        params = ex.body_text_named_params.map((p) => ({ type: 'text', text: toStr(obj(p).example), parameter_name: toStr(obj(p).param_name) }));
      } else if (Array.isArray(ex.body_text)) {
        const first = Array.isArray(ex.body_text[0]) ? ex.body_text[0] : ex.body_text;
        params = first.map((v) => ({ type: 'text', text: toStr(v) }));
      }
      components.push({ type: 'body', parameters: params });
    }
  }
  return { components };
}

/** The template's rendering (as the customer would see it) with its example values. */
export function renderTemplatePreview(definition) {
  let def = obj(definition);
  // Lenient: accept a /_emulator/templates entry ({name, category, definition:{…}}) too.
  if (!Array.isArray(def.components) && def.definition && typeof def.definition === 'object') {
    def = { name: def.name, language: def.language, category: def.category, ...obj(def.definition) };
  }
  const root = h('div', 'tpl-preview bubble-out');
  root.dataset.templateName = toStr(def.name);
  const col = h('div', 'bubble-col');
  const body = h('div', 'bubble-body');
  const { content, buttons } = buildTemplate(def, exampleSend(def), { ctx: {}, item: {}, preview: true });
  appendKids(body, content);
  if (!content.length) body.append(muted('Empty template'));
  col.append(body);
  if (buttons) col.append(buttons);
  root.append(col);
  return root;
}

// ---------------------------------------------------------------------------
// Interactive messages
// ---------------------------------------------------------------------------

function actionButton(cls, kind, ic, label) {
  const b = button(`bubble-action ${cls}`, icon(ic), h('span', 'bubble-action-label', label));
  b.dataset.kind = kind;
  return b;
}

function openListSheet(ia, item, ctx, opener) {
  if (opener._sheet && opener._sheet.isConnected) return;
  const action = obj(ia.action);
  const wamid = toStr(item.wamid);
  const label = toStr(action.button) || 'Options';
  const dlg = document.createElement('dialog');
  dlg.className = 'list-sheet';
  const titleId = uid('list-sheet-title');
  dlg.setAttribute('aria-labelledby', titleId);
  const title = h('h2', 'list-sheet-title', label);
  title.id = titleId;
  const close = button('list-close', '✕');
  close.setAttribute('aria-label', 'Close');
  close.title = 'Close (Esc)';
  dlg.append(h('div', 'list-sheet-head', title, close));
  const scroller = h('div', 'list-sheet-body');
  const done = () => {
    if (dlg.open && typeof dlg.close === 'function') dlg.close();
    finish();
  };
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    dlg.remove();
    opener._sheet = null;
    if (opener.isConnected) opener.focus();
  };
  for (const s of arr(action.sections)) {
    const sec = obj(s);
    const section = h('section', 'list-section');
    if (has(sec.title)) section.append(h('h3', 'list-section-title', toStr(sec.title)));
    for (const r of arr(sec.rows)) {
      const row = obj(r);
      const rb = button('list-row', h('span', 'list-row-title', toStr(row.title)));
      if (has(row.description)) rb.append(h('span', 'list-row-desc', toStr(row.description)));
      rb.dataset.id = toStr(row.id);
      rb.addEventListener('click', () => {
        done();
        tap(ctx, { kind: 'list_reply', id: row.id, title: row.title, description: row.description, contextWamid: wamid });
      });
      section.append(rb);
    }
    scroller.append(section);
  }
  if (!scroller.childNodes.length) scroller.append(muted('No rows'));
  dlg.append(scroller);
  close.addEventListener('click', done);
  dlg.addEventListener('close', finish);
  dlg.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      done();
    }
  });
  dlg.addEventListener('click', (e) => {
    if (e.target === dlg) done(); // click on the backdrop
  });
  document.body.append(dlg);
  opener._sheet = dlg;
  if (typeof dlg.showModal === 'function') {
    try {
      dlg.showModal();
    } catch {
      dlg.setAttribute('open', '');
    }
  } else {
    dlg.setAttribute('open', '');
  }
  const firstRow = dlg.querySelector('.list-row');
  (firstRow || close).focus();
}

function renderInteractiveHeader(hd, ctx) {
  const hh = obj(hd);
  const t = lc(hh.type);
  if (!t) return null;
  if (t === 'text') return h('div', 'bubble-ia-header', toStr(hh.text));
  if (MEDIA[t]) return h('div', 'bubble-ia-header-media', renderMedia(t, hh[t], ctx));
  return muted(`Header (${t})`);
}

function renderOutboundInteractive(item, msg, ctx, body, col) {
  const ia = obj(msg.interactive);
  const t = lc(ia.type);
  const action = obj(ia.action);
  const wamid = toStr(item.wamid);
  const head = renderInteractiveHeader(ia.header, ctx);
  if (head) body.append(head);
  if (has(obj(ia.body).text)) body.append(textBlock(obj(ia.body).text, 'bubble-ia-body'));
  if (has(obj(ia.footer).text)) body.append(h('div', 'bubble-footer', toStr(obj(ia.footer).text)));
  const below = h('div', 'bubble-buttons');
  switch (t) {
    case 'button': {
      for (const raw of arr(action.buttons)) {
        const b = obj(raw);
        const reply = obj(b.reply);
        const btn = actionButton('reply-button', 'button_reply', '↩', toStr(reply.title) || toStr(reply.id) || 'Reply');
        btn.dataset.id = toStr(reply.id);
        btn.addEventListener('click', () => tap(ctx, { kind: 'button_reply', id: reply.id, title: reply.title, contextWamid: wamid }));
        below.append(btn);
      }
      break;
    }
    case 'list': {
      const btn = actionButton('list-open', 'list', '☰', toStr(action.button) || 'Options');
      btn.setAttribute('aria-haspopup', 'dialog');
      btn.addEventListener('click', () => openListSheet(ia, item, ctx, btn));
      below.append(btn);
      break;
    }
    case 'cta_url': {
      const p = obj(action.parameters);
      const url = toStr(p.url);
      const link = safeLink(url, toStr(p.display_text) || url);
      link.classList.add('bubble-action', 'cta-url');
      link.dataset.kind = 'cta_url';
      link.prepend(icon('↗'));
      below.append(link);
      break;
    }
    case 'flow': {
      const p = obj(action.parameters);
      const payload = obj(p.flow_action_payload);
      const btn = actionButton('flow-open', 'flow', '▤', toStr(p.flow_cta) || 'Open flow');
      const panel = flowDetailsPanel({
        flowId: p.flow_id,
        flowName: p.flow_name,
        mode: p.mode || 'published',
        action: p.flow_action || 'navigate',
        screen: payload.screen,
        token: p.flow_token,
        version: p.flow_message_version,
        data: payload.data,
      });
      wireToggle(btn, panel);
      below.append(btn, panel);
      break;
    }
    case 'location_request_message': {
      const btn = actionButton('location-request', 'send_location', '📍', 'Send location');
      btn.addEventListener('click', () => tap(ctx, { kind: 'send_location', contextWamid: wamid }));
      below.append(btn);
      break;
    }
    default: {
      const name = has(action.name) ? ` · ${toStr(action.name)}` : '';
      body.append(muted(`Interactive ${t || 'message'}${name}`));
      if (Object.keys(action).length) body.append(jsonBlock(action));
    }
  }
  if (below.childNodes.length) col.append(below);
}

function renderInboundInteractive(msg, body) {
  const ia = obj(msg.interactive);
  if (ia.button_reply) {
    body.append(h('div', 'bubble-text bubble-reply-title', toStr(obj(ia.button_reply).title)));
  } else if (ia.list_reply) {
    const lr = obj(ia.list_reply);
    body.append(h('div', 'bubble-text bubble-reply-title', toStr(lr.title)));
    if (has(lr.description)) body.append(h('div', 'bubble-reply-desc', toStr(lr.description)));
  } else if (ia.nfm_reply) {
    const n = obj(ia.nfm_reply);
    body.append(h('div', 'bubble-text bubble-reply-title', '📋 ', toStr(n.body) || 'Flow response'));
    let data = n.response_json;
    if (typeof data === 'string') {
      try {
        data = JSON.parse(data);
      } catch {
        /* show as is */
      }
    }
    if (data !== undefined) body.append(jsonBlock(data));
  } else {
    body.append(muted(`Interactive reply (${lc(ia.type) || 'unknown'})`), jsonBlock(ia));
  }
}

// ---------------------------------------------------------------------------
// renderBubble
// ---------------------------------------------------------------------------

function renderQuote(qid, ctx) {
  const q = ctx.quoted && typeof ctx.quoted === 'object' ? ctx.quoted : null;
  const jump = typeof ctx.onJump === 'function' ? ctx.onJump : null;
  const box = jump ? button('bubble-quote') : h('div', 'bubble-quote');
  box.dataset.quotedWamid = qid;
  if (q) {
    const mine = q.direction === 'inbound';
    box.classList.add(mine ? 'bubble-quote-customer' : 'bubble-quote-business');
    box.append(h('span', 'bubble-quote-author', mine ? 'You' : toStr(ctx.businessName) || 'Business'), h('span', 'bubble-quote-text', summary(q)));
  } else {
    box.classList.add('bubble-quote-missing');
    box.append(h('span', 'bubble-quote-text', 'Original message not loaded'));
  }
  if (jump) {
    box.title = 'Show the original message';
    box.addEventListener('click', () => jump(qid));
  }
  return box;
}

function renderReactions(list) {
  const rs = arr(list).filter((r) => r && has(r.emoji));
  if (!rs.length) return null;
  const pill = h('div', 'reactions');
  const groups = new Map();
  for (const r of rs) {
    const e = toStr(r.emoji);
    if (!groups.has(e)) groups.set(e, []);
    groups.get(e).push(r.by === 'customer' ? 'You' : 'Business');
  }
  for (const [emoji, by] of groups) {
    const s = h('span', 'reaction', emoji);
    s.dataset.by = by.join(',');
    if (by.length > 1) s.append(h('span', 'reaction-count', String(by.length)));
    s.title = `${by.join(', ')}: ${emoji}`;
    pill.append(s);
  }
  pill.setAttribute('aria-label', `Reactions: ${[...groups.keys()].join(' ')}`);
  return pill;
}

/** One chat row for an ITEM. */
export function renderBubble(item, ctx) {
  const it = obj(item);
  const c = obj(ctx);
  const msg = obj(it.message);
  const inbound = it.direction === 'inbound';
  const type = toStr(it.type || msg.type || 'unknown');
  const ltype = type.toLowerCase();

  const root = h('div', `bubble ${inbound ? 'bubble-in' : 'bubble-out'}`);
  root.dataset.wamid = toStr(it.wamid);
  root.dataset.type = type;
  root.dataset.direction = inbound ? 'inbound' : 'outbound';
  if (!inbound && has(it.status)) root.dataset.status = lc(it.status);
  const ms = itemTimeMs(it, msg);

  if (ltype === 'reaction') {
    root.classList.add('bubble-system');
    const r = obj(msg.reaction);
    const emoji = toStr(r.emoji);
    const who = inbound ? 'You' : toStr(c.businessName) || 'Business';
    const line = h('div', 'bubble-system-line', emoji ? `${who} reacted ${emoji}` : `${who} removed a reaction`);
    if (ms) line.title = new Date(ms).toLocaleString();
    root.append(line);
    return root;
  }

  const col = h('div', 'bubble-col');
  const body = h('div', 'bubble-body');
  col.append(body);
  root.append(col);

  // Reply context / forwarded label.
  const context = obj(msg.context);
  const qid = toStr(inbound ? context.id || context.message_id : context.message_id || context.id);
  if (qid) body.append(renderQuote(qid, c));
  if (context.forwarded || context.frequently_forwarded) {
    body.append(h('div', 'bubble-forwarded', context.frequently_forwarded ? '↪↪ Forwarded many times' : '↪ Forwarded'));
  }

  try {
    renderContent(ltype, type, it, msg, c, body, col, inbound);
  } catch (e) {
    console.error('render failed', e);
    body.append(muted(`Could not render this ${type} message`), jsonBlock(msg));
  }
  if (ltype === 'sticker') root.classList.add('bubble-sticker');

  // Time + ticks (bottom-right).
  const meta = h('div', 'bubble-meta');
  const time = h('time', 'bubble-time', ms ? fmtClock(ms) : '--:--');
  if (ms) {
    const d = new Date(ms);
    time.dateTime = d.toISOString();
    time.title = d.toLocaleString();
  }
  meta.append(time);
  let failed = null;
  if (!inbound) {
    const ticks = statusTicks(it);
    if (ticks.classList.contains('tick-failed')) {
      failed = ticks;
      const warn = h('span', 'bubble-meta-warn', '⚠');
      warn.setAttribute('aria-hidden', 'true');
      meta.append(warn);
    } else {
      meta.append(ticks);
    }
  }
  // When the bubble ends with text, the time floats over the end of the last line.
  const lastChild = body.lastElementChild;
  if (lastChild && lastChild.classList.contains('bubble-text')) {
    const spacer = h('span', 'bubble-meta-spacer');
    spacer.setAttribute('aria-hidden', 'true');
    lastChild.append(spacer);
    meta.classList.add('bubble-meta-overlay');
  }
  body.append(meta);

  const reactions = renderReactions(c.reactions);
  if (reactions) col.append(reactions);
  if (failed) col.append(failed);
  return root;
}

function renderContent(ltype, type, it, msg, ctx, body, col, inbound) {
  switch (ltype) {
    case 'text': {
      const t = typeof msg.text === 'string' ? msg.text : obj(msg.text).body;
      body.append(textBlock(t));
      return;
    }
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const m = obj(msg[ltype]);
      body.append(renderMedia(ltype, m, ctx));
      if (has(m.caption) && ltype !== 'sticker') body.append(textBlock(m.caption, 'bubble-caption'));
      return;
    }
    case 'location':
      body.append(renderLocation(msg.location));
      return;
    case 'contacts': {
      const cs = arr(msg.contacts);
      if (!cs.length) body.append(muted('No contacts'));
      for (const ct of cs) body.append(renderContact(ct));
      return;
    }
    case 'template': {
      const send = obj(msg.template);
      const def = it.template && typeof it.template === 'object' ? it.template : null;
      const { content, buttons } = def
        ? buildTemplate(def, send, { ctx, item: it, preview: false })
        : buildUnknownTemplate(send);
      body.classList.add('tpl-body-wrap');
      appendKids(body, content);
      if (buttons) col.append(buttons);
      return;
    }
    case 'interactive':
      if (inbound) renderInboundInteractive(msg, body);
      else renderOutboundInteractive(it, msg, ctx, body, col);
      return;
    case 'button': {
      const b = obj(msg.button);
      body.append(h('div', 'bubble-text bubble-reply-title', toStr(b.text) || toStr(b.payload)));
      return;
    }
    default: {
      body.append(muted(`Unsupported message type ${type}`));
      const errs = arr(msg.errors);
      if (errs.length) body.append(muted(toStr(obj(errs[0]).title) || toStr(obj(errs[0]).message)));
      body.append(jsonBlock(it.message ?? it));
    }
  }
}
