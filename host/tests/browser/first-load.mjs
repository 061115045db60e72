// The bytes of the storefront's first load: opens the catalog (/) in a
// fresh headless Chromium, lists every file the page fetched from the
// storefront (the API's JSON left out), then fetches each again as is and
// with Accept-Encoding: gzip and adds up the bodies. Prints a table.
//
//   SOUK_URL=http://127.0.0.1:3000 node first-load.mjs     (CHROMIUM: the browser, default /usr/bin/chromium)

import puppeteer from 'puppeteer-core';

const BASE = (process.env.SOUK_URL || 'http://127.0.0.1:3000').replace(/\/$/, '');
const browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
const page = await browser.newPage();
const files = new Set();
page.on('response', (r) => {
  const url = new URL(r.url());
  if (url.origin === BASE && !url.pathname.startsWith('/api/')) files.add(url.pathname);
});
await page.goto(`${BASE}/`, { waitUntil: 'networkidle0' });
await page.waitForSelector('#products .card');
await browser.close();

const size = async (path, encoding) => {
  const r = await fetch(`${BASE}${path}`, { headers: encoding ? { 'accept-encoding': encoding } : { 'accept-encoding': 'identity' }, decompress: false });
  // fetch decodes gzip itself: the stored length is what went over the wire.
  const sent = r.headers.get('content-length');
  return { bytes: sent ? Number(sent) : (await r.arrayBuffer()).byteLength, coding: r.headers.get('content-encoding') || 'identity', type: r.headers.get('content-type') };
};
let raw = 0;
let gzip = 0;
console.log('| file | type | raw bytes | gzip bytes |');
console.log('|---|---|---:|---:|');
for (const path of [...files].sort()) {
  const [plain, packed] = await Promise.all([size(path), size(path, 'gzip')]);
  raw += plain.bytes;
  gzip += packed.bytes;
  console.log(`| ${path} | ${plain.type.split(';')[0]} | ${plain.bytes} | ${packed.bytes}${packed.coding === 'gzip' ? '' : ' (not compressed)'} |`);
}
console.log(`| **all ${files.size} files** | | **${raw}** | **${gzip}** |`);
