// The live stream: one long fetch of /_emulator/stream (Server-Sent Events) read with a
// TextDecoder, so the token header can be sent. Reconnects 1 s after it ends or fails.

import { authHeaders, authRequired, buildUrl, scopeParams, setClock, state } from './core.js';

let controller = null;
let generation = 0;
let statusFn = () => {};
let messageFn = () => {};

export function onStreamStatus(fn) {
  statusFn = fn;
}

export function onStreamMessage(fn) {
  messageFn = fn;
}

export function stopStream() {
  generation += 1;
  if (controller) controller.abort();
  controller = null;
}

/** (Re)starts the stream for the current scope. */
export function startStream() {
  stopStream();
  const gen = generation;
  run(gen);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run(gen) {
  while (gen === generation) {
    controller = new AbortController();
    try {
      const res = await fetch(buildUrl('/stream', scopeParams()), {
        headers: { ...authHeaders(), accept: 'text/event-stream' },
        signal: controller.signal,
        cache: 'no-store',
      });
      if (res.status === 401) {
        authRequired();
        return;
      }
      if (!res.ok || !res.body) throw new Error(`stream: HTTP ${res.status}`);
      statusFn(true);
      await read(res.body.getReader(), gen);
    } catch (e) {
      if (gen !== generation) return;
      if (!(e && e.name === 'AbortError')) console.debug('stream ended', e);
    }
    if (gen !== generation) return;
    statusFn(false);
    await sleep(1000);
  }
}

async function read(reader, gen) {
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (gen !== generation) {
      reader.cancel().catch(() => {});
      return;
    }
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    buf = buf.replace(/\r\n/g, '\n');
    let idx;
    while ((idx = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      handleBlock(block);
    }
  }
}

function handleBlock(block) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const key = colon < 0 ? line : line.slice(0, colon);
    let val = colon < 0 ? '' : line.slice(colon + 1);
    if (val.startsWith(' ')) val = val.slice(1);
    if (key === 'event') name = val;
    else if (key === 'data') data.push(val);
  }
  if (!data.length) return;
  let payload;
  try {
    payload = JSON.parse(data.join('\n'));
  } catch {
    return;
  }
  if (payload && payload.clock) setClock(payload.clock);
  if (name === 'hello' || name === 'resync') {
    if (typeof payload.seq === 'number') state.lastSeq = payload.seq;
  } else if (name === 'events' && Array.isArray(payload.events)) {
    for (const e of payload.events) {
      if (typeof e.seq === 'number' && (state.lastSeq === null || e.seq > state.lastSeq)) state.lastSeq = e.seq;
    }
  }
  messageFn(name, payload);
}
