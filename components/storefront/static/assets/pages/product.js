// One product: its picture, price, stock, and adding it to the cart.

import { put, h, money, busy, field } from '../dom.js';
import { get, post } from '../api.js';
import * as session from '../session.js';
import { picture, stockText } from '../picture.js';
import { refreshCartCount } from '../app.js';

export async function render({ main, params: [id], isCurrent }) {
  put(main, h('p', { class: 'loading', role: 'status' }, 'Loading the product…'));
  let p;
  try {
    p = await get(`/products/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e.status !== 404) throw e;
    document.title = 'Product not found · Souk';
    put(main, h('h1', { tabindex: -1 }, 'Product not found'), h('p', {}, 'It may no longer be sold. ', h('a', { href: '/' }, 'Back to the catalog'), '.'));
    return;
  }
  if (!isCurrent()) return;
  document.title = `${p.name} · Souk`;
  const [stock, stockClass] = stockText(p.stock);
  const message = h('div', { role: 'status', 'aria-live': 'polite' });
  const quantity = field({ label: 'Quantity', name: 'quantity', type: 'number', value: 1, min: 1, max: Math.max(1, p.stock), required: true, class: 'qty', inputmode: 'numeric' });
  const button = h('button', { type: 'submit', disabled: p.stock <= 0 || !p.active }, p.stock > 0 ? 'Add to cart' : 'Sold out');
  const form = h('form', { 'aria-label': 'Add to cart' }, quantity, h('div', { class: 'actions' }, button), message);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const n = Number.parseInt(form.quantity.value, 10);
    if (!session.token()) {
      location.assign(`/sign-in?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    if (!(n >= 1)) {
      put(message, h('p', { class: 'form-error' }, 'Choose a quantity of at least 1.'));
      return;
    }
    busy(button, true);
    put(message, h('p', { class: 'loading' }, 'Adding…'));
    try {
      const cart = await post('/cart/items', { product_id: p.id, quantity: n });
      put(message, h('p', { class: 'notice' }, `Added ${n} × ${p.name} to your cart. `, h('a', { href: '/cart' }, 'View cart')));
      refreshCartCount(cart);
    } catch (err) {
      put(message, h('p', { class: 'form-error', role: 'alert' }, err.message));
    } finally {
      busy(button, p.stock <= 0);
    }
  });
  put(main, 
    h('p', {}, h('a', { href: '/' }, '← Catalog')),
    h('article', { class: 'product' },
      picture(p),
      h('div', {},
        h('h1', { tabindex: -1 }, p.name),
        h('p', { class: 'price' }, money(p.price)),
        h('p', { class: stockClass, id: 'stock' }, stock),
        h('p', {}, p.description),
        h('p', { class: 'muted' }, `SKU ${p.sku} · ${p.category} · ${p.weight_grams} g`),
        session.token() ? form : h('p', {}, h('a', { href: `/sign-in?next=${encodeURIComponent(location.pathname)}` }, 'Sign in'), ' to add it to your cart.'))));
}
