// The page: the list on the left, the detail on the right, the filter box and exports on top.

import { List } from './list.js';
import { showDetail } from './detail.js';

const $ = (id) => document.getElementById(id);
const pane = $('detail');

const list = new List({
  tbody: $('rows'),
  more: $('more'),
  live: $('live'),
  error: $('filter-error'),
  onOpen: (id, refresh) => {
    if (refresh && pane.dataset.id !== String(id)) return;
    pane.dataset.id = String(id);
    if (!refresh) history.replaceState(null, '', `#${id}`);
    showDetail(pane, id, (other) => list.open(other));
  },
});

function exports() {
  for (const format of ['har', 'ndjson']) {
    const q = new URLSearchParams({ format, filter: list.filter });
    $(`export-${format}`).href = `/api/export?${q}`;
  }
}

$('filter-form').addEventListener('submit', (e) => {
  e.preventDefault();
  list.reload($('filter').value).then(exports);
});
$('pause').addEventListener('change', (e) => list.setPaused(e.target.checked));
$('list-pane').addEventListener('scroll', (e) => {
  const s = e.target;
  if (list.next && s.scrollTop + s.clientHeight > s.scrollHeight - 200) list.page();
});

// A link to one Event: http://127.0.0.1:8788/#42
list.reload('').then(() => {
  const id = Number(location.hash.slice(1));
  if (Number.isInteger(id) && id > 0) list.open(id);
});
