// The cart: quantities, remove, promo code, country, and the quote from
// pricing, fetched again after every change.

import { put, h, money, busy, field } from '../dom.js';
import { get, api, query } from '../api.js';
import * as session from '../session.js';
import * as checkout from '../checkout-state.js';
import { COUNTRIES } from '../address.js';
import { quoteSummary } from '../quote.js';
import { refreshCartCount } from '../app.js';

export async function render({ main, flash, isCurrent }) {
  document.title = 'Your cart · Souk';
  const saved = checkout.read();
  const state = { country: saved.country || session.user()?.shipping_address?.country || 'DE', promo: saved.promo || '' };
  const status = h('p', { role: 'status', 'aria-live': 'polite', class: 'muted' });
  const body = h('div', { 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading your cart…'));
  put(main, h('h1', { tabindex: -1 }, 'Your cart'), flash(), status, body);

  async function load(change) {
    body.setAttribute('aria-busy', 'true');
    status.textContent = 'Updating…';
    let cart;
    try {
      cart = change ? await change() : null;
      // A change answers with the cart view, priced for the default country: ask again with the chosen one.
      cart = await get(`/cart${query({ country: state.country, promo_code: state.promo })}`);
    } catch (err) {
      status.textContent = '';
      body.setAttribute('aria-busy', 'false');
      body.prepend(h('p', { class: 'form-error', role: 'alert' }, err.message));
      return;
    }
    if (!isCurrent()) return;
    checkout.write({ country: state.country, promo: state.promo });
    refreshCartCount(cart);
    put(body, ...view(cart));
    body.setAttribute('aria-busy', 'false');
    status.textContent = change ? 'Cart updated.' : '';
  }

  function view(cart) {
    if (!cart.items.length) return [h('p', { class: 'panel' }, 'Your cart is empty. ', h('a', { href: '/' }, 'Browse the catalog'), '.')];
    const rows = cart.items.map((item) => {
      const qty = h('input', { type: 'number', min: 0, max: 99, value: item.quantity, class: 'qty', name: `qty-${item.product_id}`, 'aria-label': `Quantity of ${item.name}`, inputmode: 'numeric' });
      const update = h('button', { type: 'button', class: 'secondary' }, 'Update');
      update.addEventListener('click', () => {
        const n = Number.parseInt(qty.value, 10);
        if (!(n >= 0)) return;
        busy(update, true);
        load(() => api('PUT', `/cart/items/${encodeURIComponent(item.product_id)}`, { body: { quantity: n } }));
      });
      qty.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') update.click();
      });
      const remove = h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove ${item.name}` }, 'Remove');
      remove.addEventListener('click', () => {
        busy(remove, true);
        load(() => api('DELETE', `/cart/items/${encodeURIComponent(item.product_id)}`));
      });
      return h('tr', { class: item.available ? '' : 'unavailable', 'data-product-id': item.product_id },
        h('td', {}, h('a', { href: `/products/${encodeURIComponent(item.product_id)}` }, item.name),
          item.available ? null : h('p', { class: 'field-error' }, 'Not available in this quantity: lower it or remove it.')),
        h('td', { class: 'num' }, money(item.unit_price)),
        h('td', {}, h('div', { class: 'actions' }, qty, update)),
        h('td', { class: 'num' }, money(item.line_total)),
        h('td', {}, remove));
    });
    const table = h('div', { class: 'table-wrap' }, h('table', {},
      h('caption', { class: 'muted' }, 'Items in your cart'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Product'), h('th', { scope: 'col', class: 'num' }, 'Price'), h('th', { scope: 'col' }, 'Quantity'),
        h('th', { scope: 'col', class: 'num' }, 'Total'), h('th', { scope: 'col' }, h('span', { class: 'muted' }, 'Remove')))),
      h('tbody', {}, rows)));

    const promoError = cart.quote_error && /promo/i.test(`${cart.quote_error.code} ${cart.quote_error.message}`) ? 'That promo code does not exist.' : '';
    const countryError = cart.quote_error && !promoError ? cart.quote_error.message : '';
    const options = h('form', { 'aria-label': 'Promo code and destination', novalidate: true },
      field({ label: 'Deliver to', name: 'country', value: state.country, options: COUNTRIES }),
      field({ label: 'Promo code', name: 'promo_code', value: state.promo, autocomplete: 'off', hint: 'Try WELCOME10.' }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Apply')));
    options.querySelector('[data-error-for="promo_code"]').textContent = promoError;
    options.querySelector('[data-error-for="country"]').textContent = countryError;
    if (promoError) options.promo_code.setAttribute('aria-invalid', 'true');
    options.country.addEventListener('change', () => {
      state.country = options.country.value;
      load();
    });
    options.addEventListener('submit', (e) => {
      e.preventDefault();
      state.promo = options.promo_code.value.trim();
      state.country = options.country.value;
      load();
    });
    const blocked = cart.items.some((i) => !i.available) || !cart.quote;
    return [
      h('div', { class: 'layout' },
        table,
        h('aside', { 'aria-label': 'Order summary' },
          options,
          quoteSummary(cart.quote),
          blocked
            ? h('p', { class: 'form-error' }, cart.quote ? 'Fix the marked items before checking out.' : 'The cart cannot be priced as it is.')
            : h('a', { class: 'button', href: '/checkout' }, 'Go to checkout'))),
    ];
  }

  await load();
}
