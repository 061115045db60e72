// One order: items, prices, address, payment (brand, last 4), the
// shipment's tracking events, and cancelling with a refund.

import { put, h, money, when, label, statusBadge, busy } from '../dom.js';
import { get, post, query } from '../api.js';
import { quoteSummary } from '../quote.js';

const CANCELLABLE = new Set(['pending', 'paid']);
const SHIPPED = new Set(['shipped', 'delivered']);
// After a cancel, the refund is done by payments shortly after: look again this often, this many times.
const REFRESH_MS = 500;
const REFRESH_TRIES = 20;

export async function render({ main, params: [id], flash, isCurrent }) {
  document.title = 'Order · Souk';
  const notice = flash();
  put(main, h('h1', { tabindex: -1 }, 'Order'), notice, h('p', { class: 'loading', role: 'status' }, 'Loading the order…'));
  let order;
  try {
    order = await get(`/orders/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e.status !== 404) throw e;
    put(main, h('h1', { tabindex: -1 }, 'Order not found'), h('p', {}, h('a', { href: '/orders' }, 'Your orders')));
    return;
  }
  const shipments = await get(`/shipments${query({ order_id: id })}`).catch(() => ({ items: [] }));
  if (!isCurrent()) return;
  document.title = `Order ${order.id.slice(-8)} · Souk`;
  const body = h('div', { id: 'order', 'data-status': order.status });
  put(main, h('p', {}, h('a', { href: '/orders' }, '← Your orders')), h('h1', { tabindex: -1 }, `Order ${order.id.slice(-8)}`), notice, body);
  show(order, shipments.items[0]);

  function show(o, shipment) {
    body.dataset.status = o.status;
    const payment = o.payment
      ? h('p', { id: 'payment' }, `${label(o.payment.brand)} •••• ${o.payment.last4} `, statusBadge(o.payment.status))
      : h('p', { id: 'payment', class: 'muted' }, 'No payment.');
    const a = o.shipping_address;
    put(body, 
      h('p', {}, 'Status: ', h('span', { id: 'order-status' }, statusBadge(o.status)), h('span', { class: 'muted' }, ` · placed ${when(o.created_at)}`)),
      h('div', { class: 'layout' },
        h('div', {},
          h('div', { class: 'table-wrap' }, h('table', {},
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Item'), h('th', { scope: 'col', class: 'num' }, 'Qty'), h('th', { scope: 'col', class: 'num' }, 'Price'), h('th', { scope: 'col', class: 'num' }, 'Total'))),
            h('tbody', {}, o.items.map((i) => h('tr', {},
              h('td', {}, h('a', { href: `/products/${encodeURIComponent(i.product_id)}` }, i.name)),
              h('td', { class: 'num' }, i.quantity), h('td', { class: 'num' }, money(i.unit_price)), h('td', { class: 'num' }, money(i.line_total))))))),
          h('h2', {}, 'Delivery'),
          shipmentView(shipment)),
        h('aside', { 'aria-label': 'Summary' },
          quoteSummary(o.quote, { id: 'order-quote' }),
          h('div', { class: 'panel' }, h('h2', {}, 'Payment'), payment),
          h('div', { class: 'panel' }, h('h2', {}, 'Ship to'),
            h('address', {}, [a.name, a.line1, a.line2, `${a.postal_code} ${a.city}`, a.country].filter(Boolean).flatMap((l) => [l, h('br')]))),
          CANCELLABLE.has(o.status) ? cancelControls(o) : null,
          SHIPPED.has(o.status) ? h('p', { class: 'panel', id: 'no-cancel' }, 'This order has shipped, so it can no longer be cancelled.') : null)));
  }

  function cancelControls(o) {
    const box = h('div', { class: 'panel', id: 'cancel' });
    const error = h('p', { class: 'form-error', role: 'alert' });
    const ask = h('button', { type: 'button', class: 'secondary' }, 'Cancel order');
    ask.addEventListener('click', () => {
      const yes = h('button', { type: 'button', class: 'danger' }, 'Yes, cancel and refund');
      const no = h('button', { type: 'button', class: 'secondary' }, 'Keep the order');
      no.addEventListener('click', () => put(box, ask, error));
      yes.addEventListener('click', async () => {
        busy(yes, true);
        no.disabled = true;
        try {
          await post(`/orders/${encodeURIComponent(o.id)}/cancel`);
          await followRefund();
        } catch (err) {
          error.textContent = err.code === 'invalid_state' ? 'This order can no longer be cancelled: it has shipped.' : err.message;
          busy(yes, false);
          no.disabled = false;
        }
      });
      put(box, h('p', {}, 'Cancel this order? The full amount goes back to your card.'), h('div', { class: 'actions' }, yes, no), error);
      yes.focus();
    });
    box.append(ask, error);
    return box;
  }

  // Shows the cancelled order, then looks again until payments reports the refund.
  async function followRefund() {
    for (let i = 0; i < REFRESH_TRIES; i += 1) {
      const [o, s] = await Promise.all([get(`/orders/${encodeURIComponent(id)}`), get(`/shipments${query({ order_id: id })}`).catch(() => ({ items: [] }))]);
      if (!isCurrent()) return;
      show(o, s.items[0]);
      const refunded = !o.payment || o.payment.status !== 'approved';
      body.prepend(h('p', { class: 'notice', role: 'status' }, refunded ? 'Your order is cancelled and refunded.' : 'Your order is cancelled; the refund is on its way…'));
      if (refunded) return;
      await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
    }
  }
}

function shipmentView(s) {
  if (!s) return h('p', { class: 'muted', id: 'shipment' }, 'No shipment yet.');
  return h('div', { class: 'panel', id: 'shipment', 'data-status': s.status },
    h('p', {}, 'Shipment ', statusBadge(s.status), ' · tracking number ', h('code', {}, s.tracking_number)),
    h('ol', { class: 'timeline', 'aria-label': 'Tracking events' }, [...s.events].reverse().map((e) => h('li', {},
      h('strong', {}, label(e.status)), h('span', { class: 'muted' }, ` · ${when(e.at)}`), e.note ? h('p', {}, e.note) : null))));
}
