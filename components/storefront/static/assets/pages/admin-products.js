// Admin: the catalog with stock, restock and deactivate.

import { put, h, money, busy } from '../dom.js';
import { get, post, query } from '../api.js';
import { adminNav } from '../admin-nav.js';

export async function render({ main, query: params, navigate, flash, isCurrent }) {
  document.title = 'Admin: products · Souk';
  const q = params.get('q') || '';
  const page = Math.max(1, Number.parseInt(params.get('page') || '1', 10) || 1);
  const search = h('form', { role: 'search', 'aria-label': 'Products', class: 'actions' },
    h('label', { for: 'admin-q', class: 'muted' }, 'Search'), h('input', { id: 'admin-q', name: 'q', type: 'search', value: q }), h('button', { type: 'submit', class: 'secondary' }, 'Search'));
  search.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(`/admin/products${query({ q: search.q.value.trim() })}`);
  });
  const list = h('div', { 'aria-busy': 'true' }, h('p', { class: 'loading', role: 'status' }, 'Loading products…'));
  put(main, h('h1', { tabindex: -1 }, 'Admin: products'), adminNav(), flash(), search, list);
  const found = await get(`/products${query({ q, page, page_size: 25, sort: 'name' })}`);
  if (!isCurrent()) return;
  const rows = found.items.map((p) => {
    const stock = h('td', { class: 'num', 'data-stock': p.stock }, String(p.stock));
    const status = h('p', { class: 'muted', role: 'status' });
    const restock = h('form', { class: 'actions', 'aria-label': `Restock ${p.name}` },
      h('input', { type: 'number', name: 'quantity', min: 1, value: 10, class: 'qty', 'aria-label': `Units to add to ${p.name}` }),
      h('button', { type: 'submit', class: 'secondary' }, 'Restock'));
    restock.addEventListener('submit', async (e) => {
      e.preventDefault();
      const button = restock.querySelector('button');
      busy(button, true);
      try {
        const updated = await post(`/products/${encodeURIComponent(p.id)}/restock`, { quantity: Number(restock.quantity.value) });
        stock.textContent = String(updated.stock);
        status.textContent = `Stock is now ${updated.stock}.`;
      } catch (err) {
        status.textContent = err.message;
        status.className = 'field-error';
      } finally {
        busy(button, false);
      }
    });
    const deactivate = h('button', { type: 'button', class: 'danger' }, 'Deactivate');
    deactivate.addEventListener('click', async () => {
      if (deactivate.dataset.confirm !== 'yes') {
        deactivate.dataset.confirm = 'yes';
        deactivate.textContent = 'Confirm: stop selling';
        return;
      }
      busy(deactivate, true);
      try {
        await post(`/products/${encodeURIComponent(p.id)}/deactivate`);
        status.textContent = 'Deactivated: no longer in the catalog.';
        deactivate.remove();
      } catch (err) {
        status.textContent = err.message;
        busy(deactivate, false);
      }
    });
    return h('tr', { 'data-product-id': p.id },
      h('td', {}, h('a', { href: `/admin/products/${encodeURIComponent(p.id)}` }, p.name), h('br'), h('span', { class: 'muted' }, p.sku)),
      h('td', { class: 'num' }, money(p.price)),
      stock,
      h('td', {}, restock, status),
      h('td', {}, deactivate));
  });
  const pages = Math.max(1, Math.ceil(found.total / found.page_size));
  put(list, 
    h('div', { class: 'table-wrap' }, h('table', { id: 'admin-products' },
      h('thead', {}, h('tr', {}, ['Product', 'Price', 'Stock', 'Restock', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows))),
    pages > 1 ? h('nav', { class: 'pager', 'aria-label': 'Pages' },
      page > 1 ? h('a', { class: 'button secondary', href: `/admin/products${query({ q, page: page - 1 })}` }, 'Previous') : null,
      h('span', {}, `Page ${page} of ${pages}`),
      page < pages ? h('a', { class: 'button secondary', href: `/admin/products${query({ q, page: page + 1 })}` }, 'Next') : null) : null);
  list.setAttribute('aria-busy', 'false');
}

