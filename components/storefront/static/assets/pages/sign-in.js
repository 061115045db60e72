// Sign in, then back to where the person was going.

import { put, h, field, busy, clearErrors, fieldError, focusFirstError } from '../dom.js';
import { post } from '../api.js';
import * as session from '../session.js';

// Only paths inside the app, never another site.
export function safeNext(query) {
  const next = query.get('next') || '/';
  return next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export async function signIn(email, password) {
  session.start(await post('/auth/login', { email, password }));
}

export async function render({ main, query, navigate, flash }) {
  document.title = 'Sign in · Souk';
  const next = safeNext(query);
  const button = h('button', { type: 'submit' }, 'Sign in');
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', { class: 'narrow', novalidate: true },
    error,
    field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'email', required: true }),
    field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const email = form.email.value.trim();
    const password = form.password.value;
    if (!email) fieldError(form, 'email', 'Enter your email address.');
    if (!password) fieldError(form, 'password', 'Enter your password.');
    if (!email || !password) return focusFirstError(form);
    busy(button, true);
    try {
      await signIn(email, password);
      navigate(next, { replace: true });
    } catch (err) {
      error.textContent = err.status === 401 ? 'That email and password do not match an account.' : err.message;
      focusFirstError(form);
    } finally {
      busy(button, false);
    }
  });
  put(main, h('h1', { tabindex: -1 }, 'Sign in'), flash(), form,
    h('p', {}, 'New here? ', h('a', { href: `/sign-up${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}` }, 'Create an account'), '.'));
}
