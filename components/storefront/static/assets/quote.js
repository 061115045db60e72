// The price summary from pricing: subtotal, discount, shipping, VAT, total.

import { h, money } from './dom.js';

export function quoteSummary(quote, { id = 'quote' } = {}) {
  if (!quote) return h('dl', { class: 'summary', id }, h('dt', {}, 'Total'), h('dd', {}, '—'));
  const row = (name, value, cls) => [h('dt', { class: cls }, name), h('dd', { class: cls, 'data-line': name.toLowerCase().split(' ')[0] }, value)];
  return h('dl', { class: 'summary', id },
    row('Subtotal', money(quote.subtotal)),
    // The discount comes as a negative amount.
    quote.discount.amount !== 0 ? row(`Discount${quote.promo_code ? ` (${quote.promo_code})` : ''}`, `−${money({ ...quote.discount, amount: Math.abs(quote.discount.amount) })}`) : null,
    row('Shipping', quote.shipping.amount === 0 ? 'Free' : money(quote.shipping)),
    row('VAT', money(quote.tax)),
    row('Total', money(quote.total), 'total'));
}
