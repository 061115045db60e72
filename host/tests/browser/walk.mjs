// The storefront walked through in a real headless Chromium, as a shopper
// and as the shop's admin: every step acts on the page and asserts what the
// page then shows (and, where the issue asks, what the API says).
//
// Environment:
//   SOUK_URL          the shop (souk up on the repository's spin.toml)
//   CHROME_WS         a running Chromium's DevTools WebSocket (the Rust test starts one);
//                     without it, CHROMIUM (default /usr/bin/chromium) is launched here
//   SCREENSHOT_DIR    where each page's screenshot goes
//   ADMIN_EMAIL, ADMIN_PASSWORD   the shop's first admin
// Exits 0 when every step passed; otherwise prints the failed step and exits 1.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const BASE = required('SOUK_URL').replace(/\/$/, '');
const SHOTS = required('SCREENSHOT_DIR');
const ADMIN = { email: required('ADMIN_EMAIL'), password: required('ADMIN_PASSWORD') };
const WAIT = 20_000;
const APPROVED = '4242 4242 4242 4242';
const DECLINED = '4000 0000 0000 0002';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

let current = 'starting';
async function step(name, fn) {
  current = name;
  const started = Date.now();
  await fn();
  console.log(`ok  ${name} (${Date.now() - started} ms)`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

// Waits until `selector` exists and its text matches `pattern`; returns the text.
async function textOf(page, selector, pattern = /\S/) {
  const handle = await page.waitForFunction((sel, source, flags) => {
    const el = document.querySelector(sel);
    return el && new RegExp(source, flags).test(el.textContent) ? el.textContent : false;
  }, { timeout: WAIT }, selector, pattern.source, pattern.flags).catch(async (e) => {
    const seen = await page.$eval(selector, (el) => el.textContent).catch(() => '(no such element)');
    throw new Error(`waiting for ${selector} to match ${pattern}: ${e.message}; it shows: ${seen.trim().slice(0, 300)}`);
  });
  return handle.jsonValue();
}

async function waitForPath(page, pattern) {
  await page.waitForFunction((source) => new RegExp(source).test(location.pathname + location.search), { timeout: WAIT }, pattern.source)
    .catch(async (e) => {
      throw new Error(`waiting for the URL to match ${pattern}: ${e.message}; it is ${page.url()}`);
    });
}

async function fill(page, selector, value) {
  await page.waitForSelector(selector, { visible: true, timeout: WAIT });
  await page.$eval(selector, (el) => {
    el.value = '';
  });
  await page.type(selector, String(value));
}

const byName = (name) => `[name="${name}"]`;

// The API as the signed-in person of `page`, with the token the page holds.
async function apiAs(page, path) {
  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('souk.session') || 'null')?.token);
  assert.ok(token, 'the page holds a token in sessionStorage');
  const response = await fetch(`${BASE}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, `GET ${path}`);
  return response.json();
}

async function signIn(page, { email, password }, next = '') {
  await page.goto(`${BASE}/sign-in${next}`);
  await fill(page, byName('email'), email);
  await fill(page, byName('password'), password);
  await page.click('form button[type="submit"]');
}

async function main() {
  mkdirSync(SHOTS, { recursive: true });
  const browser = process.env.CHROME_WS
    ? await puppeteer.connect({ browserWSEndpoint: process.env.CHROME_WS })
    : await puppeteer.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const shopper = await browser.createBrowserContext();
  const page = await shopper.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  // The API's 4xx answers and the connection the walk drops on purpose are expected.
  page.on('console', (m) => m.type() === 'error' && !/status of 4\d\d|ERR_CONNECTION_FAILED/.test(m.text()) && consoleErrors.push(m.text()));
  const email = `shopper-${Date.now()}@shop.test`;
  const password = 'correct horse battery';
  let orderId;

  await step('the catalog lists products with prices and stock', async () => {
    await page.goto(`${BASE}/`);
    const heading = await textOf(page, '#results-heading', /^\d+ products?$/);
    assert.ok(Number.parseInt(heading, 10) >= 2, heading);
    const cards = await page.$$eval('#products .card', (els) => els.map((el) => el.textContent));
    assert.ok(cards.length >= 2, 'at least two product cards');
    assert.ok(cards.every((t) => /€/.test(t) && /(In stock|Only \d+ left|Sold out)/.test(t)), `each card shows a price and its stock: ${cards[0]}`);
    await shot(page, 'catalog');
  });

  await step('pages of the catalog go forward and back', async () => {
    const total = Number.parseInt(await textOf(page, '#results-heading'), 10);
    if (total <= 12) return assert.equal(await page.$('.pager'), null, 'one page needs no pager');
    await page.click('.pager a[rel="next"]');
    await waitForPath(page, /page=2/);
    await textOf(page, '.pager [aria-current="page"]', /^Page 2 of/);
  });

  await step('search, category and sort narrow and order the list', async () => {
    await page.goto(`${BASE}/`);
    await fill(page, '#q', 'mug');
    await page.click('form[role="search"] button[type="submit"]');
    await waitForPath(page, /q=mug/);
    await textOf(page, '#results-heading', /^\d+ products?$/);
    const names = await page.$$eval('#products .card h2', (els) => els.map((el) => el.textContent));
    assert.ok(names.length >= 1 && names.some((n) => /mug/i.test(n)), `a search for mug finds a mug: ${names}`);
    await page.goto(`${BASE}/`);
    await textOf(page, '#results-heading', /products?$/);
    await page.waitForFunction(() => document.querySelectorAll('#category option').length > 1, { timeout: WAIT });
    await page.select('#category', 'kitchen');
    await waitForPath(page, /category=kitchen/);
    await page.waitForFunction(() => document.querySelector('#category').value === 'kitchen' && document.querySelector('#products'), { timeout: WAIT });
    await page.select('#sort', 'price');
    await waitForPath(page, /sort=price/);
    await page.waitForFunction(() => document.querySelector('#sort').value === 'price' && document.querySelector('#products'), { timeout: WAIT });
    const prices = await page.$$eval('#products .price', (els) => els.map((el) => Number(el.textContent.replace(/[^\d.]/g, ''))));
    assert.ok(prices.length >= 2, 'the kitchen has products');
    assert.deepEqual(prices, [...prices].sort((a, b) => a - b), 'sorted by price, lowest first');
    await shot(page, 'catalog-kitchen-by-price');
  });

  await step('a product page shows its picture, price and stock', async () => {
    await page.goto(`${BASE}/?q=mug`);
    await page.waitForSelector('#products .card h2 a', { timeout: WAIT });
    await page.click('#products .card h2 a');
    await waitForPath(page, /^\/products\//);
    await textOf(page, 'h1', /Mug/);
    await page.waitForSelector('svg.picture[role="img"]', { timeout: WAIT });
    await textOf(page, '#stock', /In stock|Only \d+ left/);
    await textOf(page, 'main', /Sign in/);
  });

  await step('sign up, then the account page saves a shipping address', async () => {
    await page.goto(`${BASE}/sign-up`);
    await fill(page, byName('name'), 'Ada Shopper');
    await fill(page, byName('email'), email);
    await fill(page, byName('password'), 'short');
    await page.click('form button[type="submit"]');
    await textOf(page, '[data-error-for="password"]', /at least 10/);
    await fill(page, byName('password'), password);
    await page.click('form button[type="submit"]');
    await waitForPath(page, /^\/account$/);
    await textOf(page, '.notice', /Welcome/);
    await fill(page, byName('shipping_address.name'), 'Ada Shopper');
    await fill(page, byName('shipping_address.line1'), 'Hauptstr. 1');
    await fill(page, byName('shipping_address.city'), 'Berlin');
    await fill(page, byName('shipping_address.postal_code'), '10115');
    await page.select(byName('shipping_address.country'), 'DE');
    await page.click('form button[type="submit"]');
    await textOf(page, '#account-saved', /Saved/);
    const stored = await page.evaluate(() => sessionStorage.getItem('souk.session'));
    assert.ok(stored && !page.url().includes(JSON.parse(stored).token), 'the token is in sessionStorage, never in the URL');
    await shot(page, 'account');
  });

  const addToCart = async (search, quantity) => {
    await page.goto(`${BASE}/?q=${encodeURIComponent(search)}`);
    await page.waitForSelector('#products .card h2 a', { timeout: WAIT });
    await page.click('#products .card h2 a');
    await waitForPath(page, /^\/products\//);
    await fill(page, byName('quantity'), quantity);
    await page.click('form[aria-label="Add to cart"] button[type="submit"]');
    await textOf(page, '.notice', new RegExp(`Added ${quantity} ×`));
  };

  await step('two products go into the cart with their quantities', async () => {
    await addToCart('mug', 2);
    await addToCart('knife', 1);
    await textOf(page, '#cart-count', /^3$/);
    await shot(page, 'product');
  });

  await step('the cart prices with a promo code, and refuses an unknown one', async () => {
    await page.goto(`${BASE}/cart`);
    await page.waitForSelector('tbody tr[data-product-id]', { timeout: WAIT });
    assert.equal((await page.$$('tbody tr[data-product-id]')).length, 2);
    const before = await textOf(page, '#quote .total:last-child', /€/);
    await fill(page, byName('promo_code'), 'NOPE');
    await page.click('form[aria-label="Promo code and destination"] button[type="submit"]');
    await textOf(page, '[data-error-for="promo_code"]', /does not exist/);
    await fill(page, byName('promo_code'), 'WELCOME10');
    await page.click('form[aria-label="Promo code and destination"] button[type="submit"]');
    await textOf(page, '#quote', /Discount \(WELCOME10\)/);
    const after = await textOf(page, '#quote .total:last-child', /€/);
    assert.notEqual(after, before, 'the total changes with the discount');
    await textOf(page, '#quote', /VAT/);
    await shot(page, 'cart');
  });

  // Every order the page sends, with its Idempotency-Key.
  const orderPosts = [];
  page.on('request', (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === '/api/v1/orders') orderPosts.push(req.headers()['idempotency-key']);
  });

  await step('the declining card shows its message and leaves no paid order', async () => {
    await page.click('a[href="/checkout"]');
    await waitForPath(page, /^\/checkout$/);
    await page.waitForSelector('#pay', { timeout: WAIT });
    assert.equal(await page.$eval(byName('shipping_address.city'), (el) => el.value), 'Berlin', 'the saved address is prefilled');
    assert.equal(await page.$eval(byName('promo_code'), (el) => el.value), 'WELCOME10', 'the promo code comes along');
    await textOf(page, '#test-cards', /4242 4242 4242 4242 is approved[\s\S]*4000 0000 0000 0002 is declined/);
    await fill(page, byName('card.number'), DECLINED);
    await fill(page, byName('card.cvc'), '123');
    await page.click('#pay');
    await textOf(page, '#payment-error', /declined/);
    assert.equal(new URL(page.url()).pathname, '/checkout', 'still on the checkout');
    const orders = await apiAs(page, '/orders');
    assert.equal(orders.items.filter((o) => o.status === 'paid').length, 0, 'no paid order');
    assert.equal(orderPosts.length, 1, 'one request for one press');
    await shot(page, 'checkout-declined');
  });

  await step('a double-clicked Pay with the approving card pays one order', async () => {
    await fill(page, byName('card.number'), APPROVED);
    await page.click('#pay', { count: 2 });
    await waitForPath(page, /^\/orders\/[^/]+$/);
    assert.equal(orderPosts.length, 2, `the double click sent one request: ${orderPosts}`);
    assert.ok(orderPosts[1] && orderPosts[1] !== orderPosts[0], 'a new attempt (another card) has a new Idempotency-Key');
    orderId = decodeURIComponent(new URL(page.url()).pathname.split('/')[2]);
    await textOf(page, '.notice', /Your order is paid/);
    await textOf(page, '#order-status', /^Paid$/);
    await textOf(page, '#payment', /Visa •••• 4242\s*Approved/);
    await textOf(page, '#order-quote', /Discount \(WELCOME10\)/);
    await textOf(page, '#shipment', /Label created/);
    const orders = await apiAs(page, '/orders');
    const paid = orders.items.filter((o) => o.status === 'paid');
    assert.equal(paid.length, 1, `one paid order: ${JSON.stringify(orders.items.map((o) => o.status))}`);
    assert.equal(paid[0].id, orderId);
    assert.equal(orders.total, 2, 'the declined attempt and the paid one, nothing more');
    const payments = await apiAs(page, `/payments?order_id=${encodeURIComponent(orderId)}`);
    assert.equal(payments.items.length, 1, 'one payment for the order');
    assert.equal((await apiAs(page, '/cart')).items.length, 0, 'the cart is empty after paying');
    await shot(page, 'order-paid');
  });

  await step('the orders list shows the paid order', async () => {
    await page.goto(`${BASE}/orders`);
    await textOf(page, `tr[data-order-id="${orderId}"]`, /Paid/);
    await shot(page, 'orders');
  });

  const admin = await browser.createBrowserContext();
  const adminPage = await admin.newPage();
  await adminPage.setViewport({ width: 1280, height: 900 });

  await step('an admin marks the shipment in transit', async () => {
    await signIn(adminPage, ADMIN, '?next=%2Fadmin%2Fshipments');
    await waitForPath(adminPage, /^\/admin\/shipments$/);
    const row = `tr[data-order-id="${orderId}"]`;
    await textOf(adminPage, row, /Label created/);
    await adminPage.type(`${row} input[name="note"]`, 'Left the warehouse');
    await adminPage.click(`${row} button[type="submit"]`);
    await textOf(adminPage, row, /In transit/);
    await shot(adminPage, 'admin-shipments');
  });

  await step('an admin creates, restocks and deactivates a product', async () => {
    const sku = `BRW-${Date.now()}`;
    await adminPage.goto(`${BASE}/admin/products/new`);
    await fill(adminPage, byName('sku'), sku);
    await fill(adminPage, byName('name'), `Browser Lamp ${sku}`);
    await fill(adminPage, `textarea${byName("description")}`, 'Made by the browser test.');
    await fill(adminPage, byName('category'), 'home');
    await fill(adminPage, byName('price'), '19.90');
    await fill(adminPage, byName('stock'), '3');
    await adminPage.click('form button[type="submit"]');
    await waitForPath(adminPage, /^\/admin\/products$/);
    await textOf(adminPage, '.notice', /Created Browser Lamp/);
    await adminPage.goto(`${BASE}/admin/products?q=${sku}`);
    const row = 'tr[data-product-id]';
    await textOf(adminPage, row, new RegExp(sku));
    assert.equal(await adminPage.$eval(`${row} td[data-stock]`, (el) => el.textContent), '3');
    await fill(adminPage, `${row} input[name="quantity"]`, '5');
    await adminPage.click(`${row} form button[type="submit"]`);
    await textOf(adminPage, `${row} td[data-stock]`, /^8$/);
    await adminPage.click(`${row} button.danger`);
    await textOf(adminPage, `${row} button.danger`, /Confirm/);
    await adminPage.click(`${row} button.danger`);
    await textOf(adminPage, row, /Deactivated/);
    await shot(adminPage, 'admin-products');
    await page.goto(`${BASE}/?q=${sku}`);
    await textOf(page, '#results-heading', /^0 products$/);
  });

  await step('the customer sees the shipment in transit, and the notifications', async () => {
    await page.goto(`${BASE}/orders/${encodeURIComponent(orderId)}`);
    await textOf(page, '#shipment', /In transit/);
    await textOf(page, '#shipment .timeline', /In transit[\s\S]*Left the warehouse[\s\S]*Label created/);
    await shot(page, 'order-in-transit');
    await page.goto(`${BASE}/notifications`);
    await textOf(page, '#notifications', /\S/);
    await shot(page, 'notifications');
  });

  await step('a shipped order can no longer be cancelled', async () => {
    await page.goto(`${BASE}/orders/${encodeURIComponent(orderId)}`);
    await textOf(page, '#order-status', /^Shipped$/);
    await textOf(page, '#no-cancel', /can no longer be cancelled/);
    assert.equal(await page.$('#cancel'), null, 'no cancel button');
  });

  let secondId;
  await step('a second order, paid on a retry after a lost connection, cancelled, is refunded', async () => {
    await addToCart('grinder', 1);
    await page.goto(`${BASE}/checkout`);
    await page.waitForSelector('#pay', { timeout: WAIT });
    await fill(page, byName('card.number'), APPROVED);
    await fill(page, byName('card.cvc'), '321');
    // The first Pay loses its connection: the page says so, and the next Pay is the same attempt.
    await page.setRequestInterception(true);
    let dropped = false;
    const dropFirstOrder = (req) => {
      if (!dropped && req.method() === 'POST' && new URL(req.url()).pathname === '/api/v1/orders') {
        dropped = true;
        return req.abort('connectionfailed');
      }
      return req.continue();
    };
    page.on('request', dropFirstOrder);
    const before = orderPosts.length;
    await page.click('#pay');
    await textOf(page, '#checkout-error', /could not be reached[\s\S]*Pressing Pay again is safe/);
    await page.click('#pay');
    await waitForPath(page, /^\/orders\/[^/]+$/);
    page.off('request', dropFirstOrder);
    await page.setRequestInterception(false);
    const retry = orderPosts.slice(before);
    assert.equal(retry.length, 2, `two requests: ${retry}`);
    assert.equal(retry[1], retry[0], 'the retry after a lost connection carries the same Idempotency-Key');
    secondId = decodeURIComponent(new URL(page.url()).pathname.split('/')[2]);
    assert.notEqual(secondId, orderId);
    await textOf(page, '#order-status', /^Paid$/);
    await page.click('#cancel button');
    await textOf(page, '#cancel', /full amount goes back/);
    await page.click('#cancel button.danger');
    await textOf(page, '#order', /cancelled and refunded/);
    await textOf(page, '#order-status', /^Cancelled$/);
    await textOf(page, '#payment', /Visa •••• 4242\s*Refunded/);
    const order = await apiAs(page, `/orders/${encodeURIComponent(secondId)}`);
    assert.equal(order.status, 'cancelled');
    assert.equal(order.payment.status, 'refunded');
    await shot(page, 'order-refunded');
  });

  await step('an expired session sends the person to sign in and back', async () => {
    await page.evaluate(() => {
      const s = JSON.parse(sessionStorage.getItem('souk.session'));
      sessionStorage.setItem('souk.session', JSON.stringify({ ...s, expiresAt: Date.now() - 1000 }));
    });
    await page.goto(`${BASE}/orders`);
    await waitForPath(page, /^\/sign-in\?next=%2Forders$/);
    await textOf(page, '.notice', /sign in/i);
    await fill(page, byName('email'), email);
    await fill(page, byName('password'), password);
    await page.click('form button[type="submit"]');
    await waitForPath(page, /^\/orders$/);
    await textOf(page, `tr[data-order-id="${secondId}"]`, /Cancelled/);
  });

  await step('the admin pages are hidden from customers', async () => {
    assert.equal(await page.$eval('[data-when="admin"]', (el) => el.hidden), true, 'no Admin link');
    await page.goto(`${BASE}/admin/products`);
    await textOf(page, 'h1', /Admins only/);
  });

  await step('the shop fits a 375 px wide phone', async () => {
    await page.setViewport({ width: 375, height: 812 });
    for (const path of ['/', '/cart', `/orders/${encodeURIComponent(orderId)}`]) {
      await page.goto(`${BASE}${path}`);
      await page.waitForSelector('main h1', { timeout: WAIT });
      await page.waitForFunction(() => document.querySelector('main').getAttribute('aria-busy') !== 'true', { timeout: WAIT });
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 375, `${path} is ${width} px wide at 375 px`);
    }
    await page.goto(`${BASE}/`);
    await page.waitForSelector('#products .card', { timeout: WAIT });
    await shot(page, 'catalog-375px');
  });

  await step('a missing file is a 404 page, an app page falls back to the app', async () => {
    const missing = await page.goto(`${BASE}/assets/nope.js`);
    assert.equal(missing.status(), 404);
    const unknown = await page.goto(`${BASE}/no/such/page`);
    assert.equal(unknown.status(), 200);
    await textOf(page, 'h1', /Page not found/);
  });

  assert.deepEqual(consoleErrors, [], 'no script errors on any page');
  // A browser the test harness started is the harness's to stop.
  if (process.env.CHROME_WS) await browser.disconnect();
  else await browser.close();
}

main().then(() => {
  console.log('all steps passed');
  process.exit(0);
}, (e) => {
  console.error(`FAILED at step "${current}": ${e.stack || e}`);
  process.exit(1);
});
