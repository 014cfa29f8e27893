// One Event: summary and notes, the request (headers; body as a JSON tree, raw text or hex),
// each Delivery with its answer, a diff of two, and the actions (replay, edit, re-sign, curl).

import { el, getJson, postJson, shortTime, statusClass, bodyBytes } from './dom.js';

/** Renders Event `id` into `pane`; `open(id)` opens another. */
export async function showDetail(pane, id, open) {
  let record;
  try {
    record = await getJson(`/api/events/${id}`);
  } catch (e) {
    pane.replaceChildren(el('p', { class: 'error' }, e.message));
    return;
  }
  pane.hidden = false;
  pane.replaceChildren(
    el('h2', {}, `Event #${record.id} `, el('span', { class: 'dim' }, `${record.method} ${record.path}${record.query ? `?${record.query}` : ''}`)),
    summary(record, open),
    actions(record, open),
    request(record),
    deliveries(record));
}

function dl(pairs) {
  return el('dl', {}, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function summary(r, open) {
  const provider = [r.provider, r.event_type, r.provider_event_id && `(${r.provider_event_id})`].filter(Boolean).join(' ');
  const derived = r.derived_from != null
    ? el('button', { class: 'link', onclick: () => open(r.derived_from) }, `#${r.derived_from}`) : null;
  return el('section', { class: 'summary' },
    el('h3', {}, 'Summary'),
    r.summary ? el('p', { class: 'explain' }, r.summary) : null,
    dl([['received', shortTime(r.received_at)], ['uid', r.uid], ['via', r.ingress], ['from', r.remote_addr],
      ['provider', provider], ['signature', el('span', { class: `sig-${r.signature}` }, r.signature)],
      ['edited from', derived], ['size', `${r.body_size} B`], ['sha256', r.body_sha256]]),
    r.notes.length ? el('ul', { class: 'notes' }, r.notes.map((n) => el('li', {}, linked(n, open)))) : null);
}

/** A note's text with each `#42` a link to that Event. */
function linked(text, open) {
  return text.split(/(#\d+)/).map((part) => (/^#\d+$/.test(part)
    ? el('button', { class: 'link', onclick: () => open(Number(part.slice(1))) }, part)
    : part));
}

function actions(r, open) {
  const out = el('pre', { class: 'result', hidden: true });
  const to = el('input', { placeholder: 'another URL (default: the last Target)', class: 'to' });
  const resign = el('input', { type: 'checkbox' });
  const say = (text, bad = false) => { out.hidden = false; out.className = bad ? 'result error' : 'result'; out.textContent = text; };
  const send = async (extra = {}) => {
    say('sending…');
    try {
      const done = await postJson(`/api/events/${r.id}/replay`, { to: to.value || null, resign: resign.checked, ...extra });
      const answer = done.status ?? done.outcome;
      say(`Delivery #${done.delivery_id} of #${done.event_id} → ${done.url}: ${answer}${done.error ? ` (${done.error})` : ''}`);
      open(done.event_id);
    } catch (e) { say(e.message, true); }
  };
  const editor = el('textarea', { class: 'editor', hidden: true, spellcheck: 'false' });
  editor.value = r.raw ?? '';
  const sendEdit = el('button', { hidden: true, onclick: () => send({ raw: editor.value }) }, 'send the edit');
  const curl = async () => {
    const res = await fetch(`/api/events/${r.id}/curl`);
    const text = await res.text();
    say(text);
    navigator.clipboard?.writeText(text).catch(() => {});
  };
  return el('section', { class: 'actions' },
    el('button', { id: 'replay', onclick: () => send() }, 'replay'),
    to,
    el('label', {}, resign, ' re-sign'),
    el('button', {
      disabled: r.raw == null, title: r.raw == null ? 'the body is binary' : '',
      onclick: () => { editor.hidden = !editor.hidden; sendEdit.hidden = editor.hidden; },
    }, 'edit…'),
    el('button', { onclick: curl }, 'copy as curl'),
    el('a', { href: `/api/events/${r.id}/body`, download: '' }, 'download body'),
    editor, sendEdit, out);
}

function headerTable(headers) {
  return el('table', { class: 'headers' }, headers.map(([n, v, enc]) =>
    el('tr', {}, el('th', {}, n), el('td', {}, enc === 'base64' ? `${v} (base64)` : v))));
}

function request(r) {
  const views = el('div', { class: 'body' });
  const text = r.body_decoded?.text ?? r.body;
  let parsed;
  try { parsed = text != null ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
  const show = (name) => {
    for (const b of tabs.children) b.classList.toggle('on', b.textContent === name);
    if (name === 'tree') views.replaceChildren(tree(parsed, null, 0));
    else if (name === 'raw') views.replaceChildren(el('pre', {}, text ?? '(binary: see hex)'));
    else views.replaceChildren(el('pre', {}, hex(bodyBytes(r))));
  };
  const names = parsed !== undefined ? ['tree', 'raw', 'hex'] : ['raw', 'hex'];
  const tabs = el('div', { class: 'tabs' }, names.map((n) => el('button', { onclick: () => show(n) }, n)));
  show(names[0]);
  const note = r.body_decoded
    ? el('p', { class: 'dim' }, r.body_decoded.error ? `could not decode: ${r.body_decoded.error}` : `${r.body_decoded.coding}-compressed; shown decoded`)
    : null;
  return el('section', {}, el('h3', {}, 'Request'), headerTable(r.headers), note, tabs, views);
}

/** A collapsible JSON tree: objects and arrays as <details>, values as text. */
function tree(value, key, depth) {
  const label = key === null ? [] : [el('span', { class: 'key' }, key), ': '];
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    const brackets = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
    return el('details', { open: depth < 3 },
      el('summary', {}, ...label, el('span', { class: 'dim' }, brackets)),
      el('div', { class: 'children' }, entries.map(([k, v]) => tree(v, k, depth + 1))));
  }
  return el('div', { class: 'leaf' }, ...label, el('span', { class: `v-${value === null ? 'null' : typeof value}` }, JSON.stringify(value)));
}

function hex(bytes) {
  const lines = [];
  for (let i = 0; i < Math.min(bytes.length, 64 * 1024); i += 16) {
    const row = Array.from(bytes.slice(i, i + 16));
    const h = row.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const a = row.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${i.toString(16).padStart(8, '0')}  ${h.padEnd(47)}  ${a}`);
  }
  return lines.join('\n');
}

function deliveries(r) {
  const list = r.deliveries.map((d) => el('details', { class: 'delivery', 'data-kind': d.kind },
    el('summary', {},
      `#${d.id} ${d.kind} `, el('span', { class: statusClass(d.status, d.outcome) }, String(d.status ?? d.outcome)),
      el('span', { class: 'dim' }, ` ${d.duration_ms} ms → ${d.target}`)),
    d.error ? el('p', { class: 'error' }, d.error) : null,
    headerTable(d.headers),
    el('pre', {}, d.body ?? (d.body_base64 ? `(binary, ${d.body_base64.length} base64 chars)` : '(no answer)'))));
  const pick = (i) => el('select', {}, r.deliveries.map((d, j) => el('option', { value: d.id, selected: j === i }, `#${d.id} ${d.kind}`)));
  const a = pick(0);
  const b = pick(r.deliveries.length - 1);
  const out = el('pre', { class: 'diff' });
  const diff = async () => {
    try {
      const res = await getJson(`/api/events/${r.id}/diff?a=${a.value}&b=${b.value}`);
      out.replaceChildren(...res.lines.map((l) => el('div', { class: l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : '' }, l)));
    } catch (e) { out.textContent = e.message; }
  };
  return el('section', {},
    el('h3', {}, `Deliveries (${r.deliveries.length})`),
    r.deliveries.length ? list : el('p', { class: 'dim' }, 'none yet: replay sends one'),
    r.deliveries.length > 1 ? el('p', {}, 'diff ', a, ' ', b, ' ', el('button', { onclick: diff }, 'compare')) : null,
    out);
}
