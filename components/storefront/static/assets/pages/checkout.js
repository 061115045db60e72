// Checkout: the address (prefilled from the account), the card, and Pay.
//
// Paying twice is impossible from here: the button is disabled while a
// payment is on its way, and every attempt carries one Idempotency-Key.
// An attempt whose answer was lost (no connection, a 5xx, or "still in
// progress") is sent again with the same key and the same body, so the
// shop answers the first request's outcome instead of charging again; any
// other answer ends the attempt, and the next Pay is a new one.

import { put, h, money, busy, field, clearErrors, fieldError, focusFirstError } from '../dom.js';
import { get, post, query } from '../api.js';
import * as session from '../session.js';
import * as checkout from '../checkout-state.js';
import { addressFields, readAddress } from '../address.js';
import { quoteSummary } from '../quote.js';
import { refreshCartCount } from '../app.js';

const TEST_CARDS = [['4242 4242 4242 4242', 'is approved'], ['4000 0000 0000 0002', 'is declined']];

export async function render({ main, navigate, isCurrent }) {
  document.title = 'Checkout · Souk';
  put(main, h('h1', { tabindex: -1 }, 'Checkout'), h('p', { class: 'loading', role: 'status' }, 'Loading your cart…'));
  const saved = checkout.read();
  const [me, cart] = await Promise.all([get('/users/me'), get(`/cart${query({ country: saved.country, promo_code: saved.promo })}`)]);
  if (!isCurrent()) return;
  session.update(me);
  if (!cart.items.length) {
    put(main, h('h1', { tabindex: -1 }, 'Checkout'), h('p', { class: 'panel' }, 'Your cart is empty. ', h('a', { href: '/' }, 'Browse the catalog'), '.'));
    return;
  }
  const address = me.shipping_address || (saved.country ? { country: saved.country, name: me.name } : { name: me.name });
  const year = new Date().getFullYear();
  const summary = h('div', { id: 'checkout-summary' });
  const formError = h('div', { class: 'form-error', role: 'alert', id: 'checkout-error' });
  const payError = h('p', { class: 'field-error', role: 'alert', id: 'payment-error', 'data-error-for': 'card' });
  const pay = h('button', { type: 'submit', id: 'pay' }, `Pay ${money(cart.quote?.total)}`);
  const form = h('form', { novalidate: true, 'aria-label': 'Checkout' },
    formError,
    h('div', { class: 'layout' },
      h('div', {},
        h('fieldset', {}, h('legend', {}, 'Shipping address'), addressFields(address),
          h('label', {}, h('input', { type: 'checkbox', name: 'save_address', checked: !me.shipping_address }), 'Save this address to my account')),
        h('fieldset', {}, h('legend', {}, 'Payment'),
          h('div', { class: 'testcards', id: 'test-cards' }, h('strong', {}, 'This shop is a demo: no real card is charged.'), ' Use a test card with any future expiry date and any 3-digit CVC:',
            h('ul', {}, TEST_CARDS.map(([n, what]) => h('li', {}, h('code', {}, n), ` ${what}`)))),
          field({ label: 'Card number', name: 'card.number', autocomplete: 'cc-number', inputmode: 'numeric', required: true, placeholder: '4242 4242 4242 4242' }),
          h('div', { class: 'row' },
            field({ label: 'Expiry month', name: 'card.exp_month', autocomplete: 'cc-exp-month', options: Array.from({ length: 12 }, (_, i) => [i + 1, String(i + 1).padStart(2, '0')]), value: 12 }),
            field({ label: 'Expiry year', name: 'card.exp_year', autocomplete: 'cc-exp-year', options: Array.from({ length: 12 }, (_, i) => [year + i, String(year + i)]), value: year + 2 })),
          field({ label: 'CVC', name: 'card.cvc', autocomplete: 'cc-csc', inputmode: 'numeric', required: true, maxlength: 4, class: 'qty', hint: 'The 3 or 4 digits on the back of the card.' }),
          payError)),
      h('aside', { 'aria-label': 'Order summary' },
        h('h2', {}, 'Your order'), summary,
        field({ label: 'Promo code', name: 'promo_code', value: saved.promo || '', autocomplete: 'off' }),
        h('div', { class: 'actions' }, pay))));
  showSummary(summary, cart, {});

  // The total depends on the promo code and the destination: price again when either changes.
  let priced = cart;
  async function requote() {
    const promo = form.elements.promo_code.value.trim();
    const country = form.elements['shipping_address.country'].value;
    clearErrors(form);
    try {
      const again = await get(`/cart${query({ country, promo_code: promo })}`);
      if (again.quote_error) {
        const name = again.quote_error.code === 'unknown_promo_code' ? 'promo_code' : 'shipping_address.country';
        fieldError(form, name, name === 'promo_code' ? 'That promo code does not exist.' : 'We do not ship to this country yet.');
        return;
      }
      priced = again;
      checkout.write({ country, promo });
      showSummary(summary, priced, {});
      pay.textContent = `Pay ${money(priced.quote?.total)}`;
    } catch (err) {
      formError.textContent = err.message;
    }
  }
  form.elements.promo_code.addEventListener('change', requote);
  form.elements['shipping_address.country'].addEventListener('change', requote);

  let attempt = null; // { key, body } of the attempt whose outcome is not known yet
  let paying = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (paying) return;
    clearErrors(form);
    put(formError);
    const { address: shipping, missing } = readAddress(form);
    for (const name of missing) fieldError(form, name, 'This is needed to ship to you.');
    const number = form.elements['card.number'].value.trim();
    const cvc = form.elements['card.cvc'].value.trim();
    if (!number) fieldError(form, 'card.number', 'Enter the card number.');
    if (!/^\d{3,4}$/.test(cvc)) fieldError(form, 'card.cvc', 'Enter the 3 or 4 digits of the CVC.');
    if (form.querySelector('[aria-invalid]')) return focusFirstError(form);
    const body = {
      shipping_address: shipping,
      card: { number, exp_month: Number(form.elements['card.exp_month'].value), exp_year: Number(form.elements['card.exp_year'].value), cvc },
    };
    const promo = form.elements.promo_code.value.trim();
    if (promo) body.promo_code = promo;
    const text = JSON.stringify(body);
    if (!attempt || attempt.body !== text) attempt = { key: crypto.randomUUID(), body: text };

    paying = true;
    busy(pay, true);
    pay.textContent = 'Paying…';
    try {
      const order = await post('/orders', body, { headers: { 'idempotency-key': attempt.key } });
      attempt = null;
      if (form.elements.save_address.checked) await saveAddress(shipping);
      checkout.clear();
      refreshCartCount();
      navigate(`/orders/${encodeURIComponent(order.id)}`, { replace: true, message: 'Thank you! Your order is paid.' });
      return;
    } catch (err) {
      if (!err.uncertain) attempt = null;
      showError(err);
    } finally {
      paying = false;
      busy(pay, false);
      pay.textContent = `Pay ${money(priced.quote?.total)}`;
    }
  });

  function showError(err) {
    const d = err.details || {};
    if (err.code === 'payment_declined') {
      payError.textContent = 'Your card was declined, and nothing was charged. Try another card.';
      form.elements['card.number'].setAttribute('aria-invalid', 'true');
    } else if (err.code === 'invalid_card') {
      const name = d.field || 'card.number';
      fieldError(form, name, `${name === 'card.exp_year' ? 'This card has expired' : 'Check this'}: ${err.message.replace(/^[\w.]+: /, '')}.`);
    } else if (err.code === 'out_of_stock') {
      showSummary(summary, priced, { short: d.items || [] });
      formError.textContent = 'Some items ran out while you were shopping. Lower their quantity in your cart.';
      formError.append(' ', h('a', { href: '/cart' }, 'Back to the cart'));
    } else if (err.code === 'unknown_promo_code') {
      fieldError(form, 'promo_code', 'That promo code does not exist.');
    } else if (err.code === 'unsupported_country') {
      fieldError(form, 'shipping_address.country', 'We do not ship to this country yet.');
    } else if (err.code === 'product_inactive' || err.code === 'empty_cart') {
      formError.textContent = `${err.message}. Update your cart and try again.`;
    } else if (err.code === 'idempotency_conflict') {
      formError.textContent = 'Your payment is still being processed. Wait a moment, then press Pay again: you will not be charged twice.';
    } else if (err.uncertain) {
      formError.textContent = `${err.message} Pressing Pay again is safe: you will not be charged twice.`;
    } else if (!(d.field && fieldError(form, d.field, err.message))) {
      formError.textContent = err.message;
    }
    focusFirstError(form);
  }

  put(main, h('h1', { tabindex: -1 }, 'Checkout'), form);
}

async function saveAddress(shipping) {
  try {
    session.update(await (await import('../api.js')).api('PATCH', '/users/me', { body: { shipping_address: shipping } }));
  } catch {
    // The order is placed; the address is only a convenience for next time.
  }
}

// The items with their totals; `short` lists the items the catalog cannot supply.
function showSummary(el, cart, { short = [] }) {
  const rows = cart.items.map((item) => {
    const missing = short.find((s) => s.product_id === item.product_id);
    return h('li', { 'data-product-id': item.product_id },
      `${item.quantity} × ${item.name} — ${money(item.line_total)}`,
      missing ? h('p', { class: 'field-error' }, missing.available > 0 ? `Only ${missing.available} left.` : 'Sold out.') : null);
  });
  put(el, h('ul', { class: 'list' }, rows), quoteSummary(cart.quote));
}
