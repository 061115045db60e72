// The signed-in person: profile, saved shipping address, sign out.

import { put, h, field, busy, clearErrors, fieldError, focusFirstError } from '../dom.js';
import { get, api } from '../api.js';
import * as session from '../session.js';
import { addressFields, readAddress } from '../address.js';

export async function render({ main, navigate, flash, isCurrent }) {
  document.title = 'Your account · Souk';
  put(main, h('h1', { tabindex: -1 }, 'Your account'), h('p', { class: 'loading', role: 'status' }, 'Loading your profile…'));
  const me = await get('/users/me');
  if (!isCurrent()) return;
  session.update(me);

  const saved = h('p', { role: 'status', 'aria-live': 'polite', id: 'account-saved' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const button = h('button', { type: 'submit' }, 'Save');
  const form = h('form', { novalidate: true, class: 'narrow' },
    error,
    h('fieldset', {}, h('legend', {}, 'Profile'),
      h('p', {}, h('strong', {}, 'Email: '), me.email, me.role === 'admin' ? ' (admin)' : ''),
      field({ label: 'Name', name: 'name', autocomplete: 'name', value: me.name ?? '' })),
    h('fieldset', {}, h('legend', {}, 'Shipping address'), addressFields(me.shipping_address)),
    h('div', { class: 'actions' }, button),
    saved);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    saved.textContent = '';
    const { address, missing } = readAddress(form);
    for (const name of missing) fieldError(form, name, 'This is needed to ship to you.');
    if (missing.length) return focusFirstError(form);
    busy(button, true);
    try {
      const body = { shipping_address: address };
      if (form.name.value.trim()) body.name = form.name.value.trim();
      session.update(await api('PATCH', '/users/me', { body }));
      put(saved, h('span', { class: 'notice' }, 'Saved.'));
    } catch (err) {
      if (!(err.details.field && fieldError(form, err.details.field, err.message))) error.textContent = err.message;
      focusFirstError(form);
    } finally {
      busy(button, false);
    }
  });
  const signOut = h('button', { type: 'button', class: 'secondary', onclick: () => {
    session.end();
    navigate('/', { message: 'You are signed out.' });
  } }, 'Sign out');
  put(main, h('h1', { tabindex: -1 }, 'Your account'), flash(), form, h('div', { class: 'actions' }, signOut));
}
