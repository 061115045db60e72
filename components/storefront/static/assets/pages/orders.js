// The person's orders, newest first, a page at a time.

import { put, h, money, when, statusBadge } from '../dom.js';
import { get, query } from '../api.js';

export async function render({ main, query: params, flash, isCurrent }) {
  document.title = 'Your orders · Souk';
  const page = Math.max(1, Number.parseInt(params.get('page') || '1', 10) || 1);
  put(main, h('h1', { tabindex: -1 }, 'Your orders'), flash(), h('p', { class: 'loading', role: 'status' }, 'Loading your orders…'));
  const found = await get(`/orders${query({ page, page_size: 20 })}`);
  if (!isCurrent()) return;
  if (!found.items.length) {
    put(main, h('h1', { tabindex: -1 }, 'Your orders'), h('p', { class: 'panel' }, 'No orders yet. ', h('a', { href: '/' }, 'Browse the catalog'), '.'));
    return;
  }
  const rows = found.items.map((o) => h('tr', { 'data-order-id': o.id },
    h('td', {}, h('a', { href: `/orders/${encodeURIComponent(o.id)}` }, `Order ${o.id.slice(-8)}`)),
    h('td', {}, when(o.created_at)),
    h('td', {}, o.items.reduce((n, i) => n + i.quantity, 0)),
    h('td', { class: 'num' }, money(o.quote.total)),
    h('td', {}, statusBadge(o.status))));
  const pages = Math.max(1, Math.ceil(found.total / found.page_size));
  put(main, h('h1', { tabindex: -1 }, 'Your orders'), flash(),
    h('div', { class: 'table-wrap' }, h('table', { id: 'orders' },
      h('thead', {}, h('tr', {}, ['Order', 'Placed', 'Items', 'Total', 'Status'].map((t) => h('th', { scope: 'col', class: t === 'Total' ? 'num' : '' }, t)))),
      h('tbody', {}, rows))),
    pages > 1 ? h('nav', { class: 'pager', 'aria-label': 'Pages' },
      page > 1 ? h('a', { class: 'button secondary', href: `/orders?page=${page - 1}` }, 'Previous') : null,
      h('span', {}, `Page ${page} of ${pages}`),
      page < pages ? h('a', { class: 'button secondary', href: `/orders?page=${page + 1}` }, 'Next') : null) : null);
}
