// The storefront's entry: the header, the router (each page is a URL that
// can be reloaded and shared) and the cart count.

import { put, h } from './dom.js';
import * as session from './session.js';
import { get, whenSignedOut } from './api.js';

// [pattern, module, who may see it]
const ROUTES = [
  [/^\/$/, 'catalog', 'anyone'],
  [/^\/products\/([^/]+)$/, 'product', 'anyone'],
  [/^\/cart$/, 'cart', 'customer'],
  [/^\/checkout$/, 'checkout', 'customer'],
  [/^\/orders$/, 'orders', 'customer'],
  [/^\/orders\/([^/]+)$/, 'order', 'customer'],
  [/^\/notifications$/, 'notifications', 'customer'],
  [/^\/sign-in$/, 'sign-in', 'anyone'],
  [/^\/sign-up$/, 'sign-up', 'anyone'],
  [/^\/account$/, 'account', 'customer'],
  [/^\/admin\/?$/, 'admin-products', 'admin'],
  [/^\/admin\/products$/, 'admin-products', 'admin'],
  [/^\/admin\/products\/new$/, 'admin-product', 'admin'],
  [/^\/admin\/products\/([^/]+)$/, 'admin-product', 'admin'],
  [/^\/admin\/shipments$/, 'admin-shipments', 'admin'],
];

const main = document.getElementById('main');
let renderCount = 0;
let flash = null;

// Goes to `url` inside the app; `message` is shown once on the next page.
export function navigate(url, { replace = false, message = null } = {}) {
  flash = message;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

// Sign in, then come back here.
function signInAndReturn(message) {
  const here = location.pathname + location.search;
  navigate(`/sign-in?next=${encodeURIComponent(here)}`, { replace: true, message });
}

export function takeFlash() {
  const message = flash;
  flash = null;
  return message ? h('p', { class: 'notice', role: 'status' }, message) : null;
}

async function render() {
  const seq = ++renderCount;
  const path = location.pathname;
  const match = ROUTES.map(([pattern, page, who]) => [path.match(pattern), page, who]).find(([m]) => m);
  markCurrentLink(path);
  if (!match) return notFound();
  const [m, page, who] = match;
  if (who !== 'anyone' && !session.token()) return signInAndReturn(session.expired() ? 'Your session has ended. Please sign in again.' : 'Please sign in to continue.');
  if (who === 'admin' && !session.isAdmin()) return forbidden();
  main.setAttribute('aria-busy', 'true');
  try {
    const module = await import(`./pages/${page}.js`);
    if (seq !== renderCount) return;
    const params = m.slice(1).map(decodeURIComponent);
    const query = new URLSearchParams(location.search);
    await module.render({ main, params, query, navigate, flash: takeFlash, isCurrent: () => seq === renderCount });
  } catch (e) {
    if (seq !== renderCount) return;
    put(main, h('h1', { tabindex: -1 }, 'Something went wrong'), h('p', { class: 'form-error', role: 'alert' }, e.message || String(e)),
      h('p', {}, h('a', { href: location.pathname + location.search }, 'Try again')));
  } finally {
    if (seq === renderCount) main.removeAttribute('aria-busy');
  }
  // After a navigation (not the first load), move focus to the new page's heading.
  if (seq > 1 && seq === renderCount) (main.querySelector('h1') || main).focus({ preventScroll: false });
}

function notFound() {
  document.title = 'Page not found · Souk';
  put(main, h('h1', { tabindex: -1 }, 'Page not found'), h('p', {}, 'There is no such page in the shop. ', h('a', { href: '/' }, 'Go to the catalog'), '.'));
}

function forbidden() {
  document.title = 'Admins only · Souk';
  put(main, h('h1', { tabindex: -1 }, 'Admins only'), h('p', {}, 'This part of the shop is for its administrators.'));
}

function markCurrentLink(path) {
  for (const a of document.querySelectorAll('.site-header nav a')) {
    const href = a.getAttribute('href');
    const current = href === '/' ? path === '/' || path.startsWith('/products/') : path === href || path.startsWith(`${href}/`);
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function showWho() {
  const signedIn = Boolean(session.token());
  for (const el of document.querySelectorAll('[data-when]')) {
    const when = el.dataset.when;
    el.hidden = when === 'signed-in' ? !signedIn : when === 'signed-out' ? signedIn : !(signedIn && session.isAdmin());
  }
  const account = document.getElementById('account-link');
  if (account) account.textContent = signedIn ? `Account (${session.user()?.name || session.user()?.email})` : 'Account';
}

// The number of items in the cart, in the header.
export async function refreshCartCount(cart) {
  const badge = document.getElementById('cart-count');
  if (!session.token()) {
    badge.hidden = true;
    return;
  }
  try {
    const view = cart || (await get('/cart'));
    const count = view.items.reduce((n, item) => n + item.quantity, 0);
    badge.textContent = String(count);
    badge.setAttribute('aria-label', `${count} items in cart`);
    badge.hidden = count === 0;
  } catch {
    badge.hidden = true;
  }
}

// Links inside the app change the page without reloading it.
document.addEventListener('click', (event) => {
  const a = event.target.closest('a');
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
  if (a.pathname.startsWith('/api/')) return;
  event.preventDefault();
  if (a.pathname + a.search !== location.pathname + location.search) navigate(a.pathname + a.search);
});
window.addEventListener('popstate', () => render());
session.onChange(() => {
  showWho();
  refreshCartCount();
});
whenSignedOut(() => signInAndReturn('Your session has ended. Please sign in again.'));

showWho();
refreshCartCount();
render();
