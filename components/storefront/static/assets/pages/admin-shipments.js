// Admin: every shipment, newest first, and moving one on (in transit,
// delivered); the customer sees each step on the order's page.

import { put, h, when, label, statusBadge, busy } from '../dom.js';
import { get, post, query } from '../api.js';
import { adminNav } from '../admin-nav.js';

const NEXT = { label_created: 'in_transit', in_transit: 'delivered' };

export async function render({ main, query: params, navigate, flash, isCurrent }) {
  document.title = 'Admin: shipments · Souk';
  const page = Math.max(1, Number.parseInt(params.get('page') || '1', 10) || 1);
  const orderId = params.get('order_id') || '';
  const find = h('form', { role: 'search', 'aria-label': 'Shipments', class: 'actions' },
    h('label', { for: 'order-id', class: 'muted' }, 'Order id'), h('input', { id: 'order-id', name: 'order_id', value: orderId }),
    h('button', { type: 'submit', class: 'secondary' }, 'Find'));
  find.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(`/admin/shipments${query({ order_id: find.order_id.value.trim() })}`);
  });
  const list = h('div', { 'aria-busy': 'true' }, h('p', { class: 'loading', role: 'status' }, 'Loading shipments…'));
  put(main, h('h1', { tabindex: -1 }, 'Admin: shipments'), adminNav(), flash(), find, list);
  const found = await get(`/shipments${query({ all: 'true', order_id: orderId, page, page_size: 20 })}`);
  if (!isCurrent()) return;
  const row = (s) => {
    const tr = h('tr', { 'data-shipment-id': s.id, 'data-order-id': s.order_id });
    const fill = (shipment) => {
      const next = NEXT[shipment.status];
      const note = h('input', { name: 'note', 'aria-label': `Note for shipment ${shipment.tracking_number}`, placeholder: 'Note (optional)' });
      const go = h('button', { type: 'submit' }, next ? `Mark ${label(next).toLowerCase()}` : '');
      const error = h('p', { class: 'field-error', role: 'alert' });
      const form = h('form', { class: 'actions', 'aria-label': `Advance shipment ${shipment.tracking_number}` }, note, go, error);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        busy(go, true);
        try {
          const body = { status: next };
          if (note.value.trim()) body.note = note.value.trim();
          fill(await post(`/shipments/${encodeURIComponent(shipment.id)}/events`, body));
        } catch (err) {
          error.textContent = err.message;
          busy(go, false);
        }
      });
      const last = shipment.events[shipment.events.length - 1];
      tr.dataset.status = shipment.status;
      put(tr, 
        h('td', {}, h('code', {}, shipment.tracking_number), h('br'), h('span', { class: 'muted' }, `order ${shipment.order_id}`)),
        h('td', {}, statusBadge(shipment.status), last ? h('p', { class: 'muted' }, when(last.at)) : null),
        h('td', {}, next ? form : h('span', { class: 'muted' }, 'Nothing to do')));
    };
    fill(s);
    return tr;
  };
  const pages = Math.max(1, Math.ceil(found.total / found.page_size));
  put(list, 
    found.items.length
      ? h('div', { class: 'table-wrap' }, h('table', { id: 'admin-shipments' },
        h('thead', {}, h('tr', {}, ['Shipment', 'Status', 'Next step'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, found.items.map(row))))
      : h('p', { class: 'panel' }, 'No shipments.'),
    pages > 1 ? h('nav', { class: 'pager', 'aria-label': 'Pages' },
      page > 1 ? h('a', { class: 'button secondary', href: `/admin/shipments${query({ order_id: orderId, page: page - 1 })}` }, 'Previous') : null,
      h('span', {}, `Page ${page} of ${pages}`),
      page < pages ? h('a', { class: 'button secondary', href: `/admin/shipments${query({ order_id: orderId, page: page + 1 })}` }, 'Next') : null) : null);
  list.setAttribute('aria-busy', 'false');
}
