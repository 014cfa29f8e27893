// Small DOM and API helpers. Webhook data only ever becomes text (textContent / text nodes),
// never markup: `el` has no way to set innerHTML.

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** The per-process token state-changing calls carry. */
const TOKEN = document.querySelector('meta[name="hooktap-token"]')?.content ?? '';

/** GET a JSON API path; throws an Error with the server's message. */
export async function getJson(path) {
  const res = await fetch(path, { credentials: 'same-origin' });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(body.error ?? res.statusText), { body, status: res.status });
  return body;
}

/** POST JSON with the token; throws like getJson. */
export async function postJson(path, value) {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-hooktap-token': TOKEN },
    body: JSON.stringify(value),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(body.error ?? res.statusText), { body, status: res.status });
  return body;
}

/** Local time of day (or date and time when not today) for an RFC 3339 stamp. */
export function shortTime(stamp) {
  const d = new Date(stamp);
  if (Number.isNaN(d.getTime())) return stamp;
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { hour12: false }) : d.toLocaleString([], { hour12: false });
}

/** Sizes as `show` writes them. */
export function size(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** The CSS class of a status (2xx green … 5xx and failures red). */
export function statusClass(status, outcome) {
  if (status >= 200 && status < 300) return 's2';
  if (status >= 300 && status < 400) return 's3';
  if (status >= 400 && status < 500) return 's4';
  if (status) return 's5';
  return outcome === 'pending' || !outcome ? 'dim' : 's5';
}

/** The body's bytes from a record (`body` text or `body_base64`). */
export function bodyBytes(record) {
  if (record.body_base64 != null) return Uint8Array.from(atob(record.body_base64), (c) => c.charCodeAt(0));
  return new TextEncoder().encode(record.body ?? '');
}
