// The list: newest first, pages by cursor as the user scrolls, live rows from the stream.

import { el, getJson, shortTime, size, statusClass } from './dom.js';

const PAGE = 100;

export class List {
  constructor({ tbody, more, live, error, onOpen }) {
    Object.assign(this, { tbody, more, live, error, onOpen });
    this.filter = '';
    this.next = null;
    this.loading = false;
    this.paused = false;
    this.held = [];
    this.rows = new Map();
    this.source = null;
    this.selected = null;
  }

  /** Starts over with `filter`: first page, then the stream. */
  async reload(filter = this.filter) {
    this.filter = filter;
    this.rows.clear();
    this.tbody.replaceChildren();
    this.next = null;
    this.held = [];
    const ok = await this.page();
    if (ok) this.follow();
  }

  /** Loads the page after the cursor; false when the filter is wrong. */
  async page() {
    if (this.loading) return true;
    this.loading = true;
    const q = new URLSearchParams({ filter: this.filter, limit: PAGE });
    if (this.next) q.set('before', this.next);
    try {
      const page = await getJson(`/api/events?${q}`);
      this.error.hidden = true;
      for (const row of page.events) this.put(row, false);
      this.next = page.next;
      this.more.textContent = this.next ? 'scroll for more' : `${this.rows.size} event(s)`;
      return true;
    } catch (e) {
      this.error.textContent = e.message;
      this.error.hidden = false;
      return false;
    } finally {
      this.loading = false;
    }
  }

  /** Follows the stream of commits for the current filter. */
  follow() {
    this.source?.close();
    const q = new URLSearchParams({ filter: this.filter });
    const source = new EventSource(`/api/stream?${q}`);
    this.source = source;
    source.onopen = () => { this.live.textContent = 'live'; };
    source.onerror = () => { this.live.textContent = 'reconnecting…'; };
    const take = (kind) => (msg) => {
      const row = JSON.parse(msg.data);
      if (this.paused) this.held.push([kind, row]);
      else this.apply(kind, row);
    };
    source.addEventListener('event', take('event'));
    source.addEventListener('update', take('update'));
    source.addEventListener('reload', () => this.reload());
  }

  apply(kind, row) {
    if (kind === 'event' || this.rows.has(row.id)) this.put(row, kind === 'event');
    if (this.selected === row.id) this.onOpen(row.id, true);
  }

  setPaused(paused) {
    this.paused = paused;
    if (!paused) for (const [kind, row] of this.held.splice(0)) this.apply(kind, row);
  }

  /** Adds or replaces a row; a new one goes on top. */
  put(row, onTop) {
    const tr = this.render(row);
    const old = this.rows.get(row.id);
    if (old) old.replaceWith(tr);
    else if (onTop) this.tbody.prepend(tr);
    else this.tbody.append(tr);
    this.rows.set(row.id, tr);
  }

  render(e) {
    const marks = e.derived_from != null ? '✎' : e.replayed ? '↻' : '';
    const path = e.query ? `${e.path}?${e.query}` : e.path;
    const kind = e.event_type ? `${e.provider} ${e.event_type}` : e.provider;
    const status = e.status ?? e.outcome ?? '-';
    const sig = e.signature === 'valid' || e.signature === 'invalid'
      ? el('span', { class: `badge sig-${e.signature}`, title: `signature ${e.signature}` }, e.signature === 'valid' ? '✓' : '✗')
      : null;
    const dup = e.duplicate_of != null ? el('span', { class: 'badge', title: `a provider retry of #${e.duplicate_of}` }, 'retry') : null;
    const tr = el('tr', { 'data-id': e.id, class: this.selected === e.id ? 'selected' : '', onclick: () => this.open(e.id) },
      el('td', { class: 'dim' }, shortTime(e.received_at)),
      el('td', { class: 'num' }, `#${e.id}`, el('span', { class: 'mark' }, marks)),
      el('td', {}, e.method),
      el('td', { class: 'path' }, path),
      el('td', {}, kind, sig, dup),
      el('td', { class: `num ${statusClass(e.status, e.outcome)}` }, String(status)),
      el('td', { class: 'num dim' }, e.duration_ms != null ? `${e.duration_ms} ms` : ''),
      el('td', { class: 'num dim' }, size(e.body_size)));
    return tr;
  }

  open(id) {
    this.tbody.querySelector('tr.selected')?.classList.remove('selected');
    this.rows.get(id)?.classList.add('selected');
    this.selected = id;
    this.onOpen(id, false);
  }
}
