// Building the page: elements from data (text is always set as text, never
// parsed as HTML), money, dates, form errors.

// Replaces `el`'s children, leaving out the absent ones (null, false), as h() does.
export function put(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

// h('a', { href: '/', class: 'x', onclick: fn }, 'text', child, ...)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = value;
    else if (name in el && typeof value !== 'string') el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const formats = new Map();
export function money(m) {
  if (!m) return '';
  let f = formats.get(m.currency);
  if (!f) {
    f = new Intl.NumberFormat('en-IE', { style: 'currency', currency: m.currency });
    formats.set(m.currency, f);
  }
  return f.format(m.amount / 100);
}

export function when(iso) {
  return new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

// "payment_failed" -> "Payment failed"
export function label(status) {
  const s = String(status || '').replaceAll('_', ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function statusBadge(status) {
  return h('span', { class: `status ${status}` }, label(status));
}

// A labelled field: { label, name, type, value, hint, required, ... } -> wrapper with
// the input, its hint and an error slot the input is described by.
let fieldSeq = 0;
export function field({ label: text, name, type = 'text', hint, options, ...attrs }) {
  const id = `f${++fieldSeq}-${name.replace(/[^a-z0-9]/gi, '-')}`;
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const described = [hintId, errorId].filter(Boolean).join(' ');
  let control;
  if (options) {
    control = h('select', { id, name, 'aria-describedby': described, ...attrs },
      options.map(([value, text]) => h('option', { value, selected: String(attrs.value ?? '') === String(value) }, text)));
  } else if (type === 'textarea') {
    control = h('textarea', { id, name, 'aria-describedby': described, rows: 3, ...attrs });
  } else {
    control = h('input', { id, name, type, 'aria-describedby': described, ...attrs });
  }
  if (attrs.value !== undefined && attrs.value !== null) control.value = attrs.value;
  return h('div', { class: 'field', 'data-field': name },
    h('label', { for: id }, text),
    control,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    h('p', { class: 'field-error', id: errorId, 'data-error-for': name }));
}

// Shows `message` under the field named `name` in `form`; returns whether it found one.
export function fieldError(form, name, message) {
  const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
  if (!slot) return false;
  slot.textContent = message;
  const control = form.querySelector(`[name="${CSS.escape(name)}"]`);
  if (control) control.setAttribute('aria-invalid', 'true');
  return true;
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll('.field-error, .form-error')) slot.textContent = '';
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
}

// The first error slot with text gets focus, so a keyboard or screen reader user lands on it.
export function focusFirstError(form) {
  const slot = [...form.querySelectorAll('.field-error, .form-error')].find((s) => s.textContent);
  if (!slot) return;
  const control = slot.closest('.field')?.querySelector('input, select, textarea');
  (control || slot).focus();
}

export function busy(button, on) {
  button.disabled = on;
  button.setAttribute('aria-busy', on ? 'true' : 'false');
}

export function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, text);
}

export function formData(form) {
  return Object.fromEntries(new FormData(form).entries());
}
