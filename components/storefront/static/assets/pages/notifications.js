// What the shop told the person: order placed, shipped, cancelled.

import { put, h, when } from '../dom.js';
import { get, query } from '../api.js';

export async function render({ main, query: params, isCurrent }) {
  document.title = 'Notifications · Souk';
  const page = Math.max(1, Number.parseInt(params.get('page') || '1', 10) || 1);
  put(main, h('h1', { tabindex: -1 }, 'Notifications'), h('p', { class: 'loading', role: 'status' }, 'Loading…'));
  const found = await get(`/notifications${query({ page, page_size: 20 })}`);
  if (!isCurrent()) return;
  const list = found.items.length
    ? h('ul', { class: 'list', id: 'notifications' }, found.items.map((n) => h('li', { 'data-type': n.type },
      h('h2', {}, n.subject), h('p', { class: 'muted' }, when(n.created_at)), h('p', {}, n.body),
      n.order_id ? h('a', { href: `/orders/${encodeURIComponent(n.order_id)}` }, 'See the order') : null)))
    : h('p', { class: 'panel' }, 'Nothing yet. You will find news about your orders here.');
  const pages = Math.max(1, Math.ceil(found.total / found.page_size));
  put(main, h('h1', { tabindex: -1 }, 'Notifications'), list,
    pages > 1 ? h('nav', { class: 'pager', 'aria-label': 'Pages' },
      page > 1 ? h('a', { class: 'button secondary', href: `/notifications?page=${page - 1}` }, 'Previous') : null,
      h('span', {}, `Page ${page} of ${pages}`),
      page < pages ? h('a', { class: 'button secondary', href: `/notifications?page=${page + 1}` }, 'Next') : null) : null);
}
