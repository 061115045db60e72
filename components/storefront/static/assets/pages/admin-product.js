// Admin: create a product, or edit one (everything but its stock, which
// changes by restocking and by orders).

import { put, h, field, busy, clearErrors, fieldError, focusFirstError } from '../dom.js';
import { get, post, api } from '../api.js';
import { adminNav } from '../admin-nav.js';

// "12.50" -> 1250; null when it is not an amount.
function minorUnits(text) {
  const m = /^\s*(\d+)(?:[.,](\d{1,2}))?\s*$/.exec(text);
  return m ? Number(m[1]) * 100 + Number((m[2] || '0').padEnd(2, '0')) : null;
}

export async function render({ main, params: [id], navigate, flash, isCurrent }) {
  const editing = Boolean(id);
  document.title = `Admin: ${editing ? 'edit' : 'new'} product · Souk`;
  put(main, h('h1', { tabindex: -1 }, editing ? 'Edit product' : 'New product'), adminNav(), h('p', { class: 'loading', role: 'status' }, 'Loading…'));
  const p = editing ? await get(`/products/${encodeURIComponent(id)}`) : { price: { amount: '', currency: 'EUR' }, weight_grams: 500, stock: 10 };
  if (!isCurrent()) return;
  const error = h('p', { class: 'form-error', role: 'alert' });
  const button = h('button', { type: 'submit' }, editing ? 'Save changes' : 'Create product');
  const form = h('form', { novalidate: true, class: 'narrow' },
    error,
    field({ label: 'SKU', name: 'sku', value: p.sku ?? '', required: true, hint: 'A unique code, such as KIT-MUG-01.' }),
    field({ label: 'Name', name: 'name', value: p.name ?? '', required: true }),
    field({ label: 'Description', name: 'description', type: 'textarea', value: p.description ?? '' }),
    field({ label: 'Category', name: 'category', value: p.category ?? '', required: true }),
    field({ label: `Price (${p.price.currency})`, name: 'price', value: p.price.amount === '' ? '' : (p.price.amount / 100).toFixed(2), inputmode: 'decimal', required: true, hint: 'For example 12.50' }),
    field({ label: 'Weight (grams)', name: 'weight_grams', type: 'number', min: 0, value: p.weight_grams, required: true }),
    editing ? h('p', {}, `Stock: ${p.stock}. Change it from the product list (Restock).`) : field({ label: 'Stock', name: 'stock', type: 'number', min: 0, value: p.stock }),
    editing ? h('p', {}, p.active ? 'Active: in the catalog.' : 'Inactive: hidden from the catalog.') : null,
    h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const value = (name) => form.elements[name].value.trim();
    const amount = minorUnits(value('price'));
    for (const name of ['sku', 'name', 'category']) if (!value(name)) fieldError(form, name, 'This is required.');
    if (amount === null) fieldError(form, 'price', 'Enter a price such as 12.50.');
    if (form.querySelector('[aria-invalid]')) return focusFirstError(form);
    const body = {
      sku: value('sku'), name: value('name'), description: value('description'), category: value('category'),
      price: { amount, currency: p.price.currency }, weight_grams: Number(value('weight_grams')),
    };
    if (!editing) body.stock = Number(value('stock'));
    busy(button, true);
    try {
      const saved = editing ? await api('PATCH', `/products/${encodeURIComponent(id)}`, { body }) : await post('/products', body);
      navigate('/admin/products', { message: `${editing ? 'Saved' : 'Created'} ${saved.name}.` });
    } catch (err) {
      const name = (err.details.field || '').split('.')[0];
      if (err.code === 'sku_taken' || (err.status === 409 && /sku/i.test(err.message))) fieldError(form, 'sku', 'Another product has this SKU.');
      else if (!(name && fieldError(form, name, err.message))) error.textContent = err.message;
      focusFirstError(form);
    } finally {
      busy(button, false);
    }
  });
  put(main, h('h1', { tabindex: -1 }, editing ? `Edit ${p.name}` : 'New product'), adminNav(), flash(), form);
}
