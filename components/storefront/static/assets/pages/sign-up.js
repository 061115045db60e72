// Create an account, then sign in with it.

import { put, h, field, busy, clearErrors, fieldError, focusFirstError } from '../dom.js';
import { post } from '../api.js';
import { safeNext, signIn } from './sign-in.js';

export async function render({ main, query, navigate }) {
  document.title = 'Create an account · Souk';
  const next = safeNext(query);
  const button = h('button', { type: 'submit' }, 'Create account');
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', { class: 'narrow', novalidate: true },
    error,
    field({ label: 'Name', name: 'name', autocomplete: 'name' }),
    field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'email', required: true }),
    field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10, hint: 'At least 10 characters.' }),
    h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = { email: form.email.value.trim(), password: form.password.value };
    if (form.name.value.trim()) body.name = form.name.value.trim();
    if (!body.email.includes('@')) fieldError(form, 'email', 'Enter an email address, like name@example.com.');
    if (body.password.length < 10) fieldError(form, 'password', 'The password needs at least 10 characters.');
    if (form.querySelector('[aria-invalid]')) return focusFirstError(form);
    busy(button, true);
    try {
      await post('/users', body);
      await signIn(body.email, body.password);
      navigate(next === '/' ? '/account' : next, { replace: true, message: 'Welcome! Your account is ready.' });
    } catch (err) {
      if (err.code === 'email_taken') fieldError(form, 'email', 'An account with this email exists already. Sign in instead.');
      else if (!(err.details.field && fieldError(form, err.details.field, err.message))) error.textContent = err.message;
      focusFirstError(form);
    } finally {
      busy(button, false);
    }
  });
  put(main, h('h1', { tabindex: -1 }, 'Create an account'), form,
    h('p', {}, 'Have an account? ', h('a', { href: `/sign-in${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}` }, 'Sign in'), '.'));
}
