// The catalog: search, category, sort, pages; the query is in the URL.

import { put, h, money } from '../dom.js';
import { get, query } from '../api.js';
import { picture, stockText } from '../picture.js';

const PAGE_SIZE = 12;
const SORTS = [['', 'Name: A to Z'], ['-name', 'Name: Z to A'], ['price', 'Price: low to high'], ['-price', 'Price: high to low']];

export async function render({ main, query: params, navigate, flash, isCurrent }) {
  const q = params.get('q') || '';
  const category = params.get('category') || '';
  const sort = params.get('sort') || '';
  const page = Math.max(1, Number.parseInt(params.get('page') || '1', 10) || 1);
  document.title = q ? `“${q}” · Souk` : 'Catalog · Souk';

  const results = h('section', { 'aria-labelledby': 'results-heading', 'aria-busy': 'true' },
    h('h2', { id: 'results-heading', class: 'muted' }, 'Products'), skeleton());
  const categorySelect = h('select', { id: 'category', name: 'category' }, h('option', { value: '' }, 'All categories'));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Products' },
    h('div', { class: 'field' }, h('label', { for: 'q' }, 'Search'), h('input', { id: 'q', name: 'q', type: 'search', value: q, placeholder: 'Mug, knife, tent…' })),
    h('div', { class: 'field' }, h('label', { for: 'category' }, 'Category'), categorySelect),
    h('div', { class: 'field' }, h('label', { for: 'sort' }, 'Sort by'),
      h('select', { id: 'sort', name: 'sort' }, SORTS.map(([value, text]) => h('option', { value, selected: value === sort }, text)))),
    h('button', { type: 'submit' }, 'Search'));
  const go = (overrides = {}) => {
    const data = Object.fromEntries(new FormData(form).entries());
    navigate(`/${query({ q: data.q.trim(), category: data.category, sort: data.sort, ...overrides })}`);
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go();
  });
  for (const select of form.querySelectorAll('select')) select.addEventListener('change', () => go());
  put(main, h('h1', { tabindex: -1 }, 'Catalog'), flash(), form, results);

  const [categories, found] = await Promise.all([
    get('/categories').catch(() => ({ items: [] })),
    get(`/products${query({ q, category, sort, page, page_size: PAGE_SIZE })}`),
  ]);
  if (!isCurrent()) return;
  for (const c of categories.items) categorySelect.append(h('option', { value: c.name, selected: c.name === category }, `${label(c.name)} (${c.products})`));

  const pages = Math.max(1, Math.ceil(found.total / found.page_size));
  const heading = h('h2', { id: 'results-heading' }, found.total === 1 ? '1 product' : `${found.total} products`);
  const body = found.items.length
    ? h('ul', { class: 'grid', id: 'products' }, found.items.map(card))
    : h('p', { class: 'panel' }, 'No products match. Try another word or category.');
  const link = (n, text, rel) => h('a', { href: `/${query({ q, category, sort, page: n > 1 ? n : '' })}`, rel, class: 'button secondary' }, text);
  const pager = pages > 1
    ? h('nav', { class: 'pager', 'aria-label': 'Pages' },
      page > 1 ? link(page - 1, 'Previous', 'prev') : null,
      h('span', { 'aria-current': 'page' }, `Page ${page} of ${pages}`),
      page < pages ? link(page + 1, 'Next', 'next') : null)
    : null;
  put(results, heading, h('p', { class: 'muted', role: 'status' }, q ? `Results for “${q}”.` : ''), body, pager);
  results.setAttribute('aria-busy', 'false');
}

function label(name) {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function card(p) {
  const [stock, stockClass] = stockText(p.stock);
  const href = `/products/${encodeURIComponent(p.id)}`;
  return h('li', { class: 'card', 'data-product-id': p.id, 'data-sku': p.sku },
    h('a', { href, tabindex: -1, 'aria-hidden': 'true' }, picture(p)),
    h('div', { class: 'body' },
      h('h2', {}, h('a', { href }, p.name)),
      h('span', { class: 'price' }, money(p.price)),
      h('span', { class: stockClass }, stock)));
}

function skeleton() {
  return [h('p', { class: 'loading', role: 'status' }, 'Loading products…'),
    h('ul', { class: 'grid', 'aria-hidden': 'true' }, Array.from({ length: 8 }, () => h('li', { class: 'card skeleton' })))];
}

