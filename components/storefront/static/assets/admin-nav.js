// The admin section's own links.

import { h } from './dom.js';

export function adminNav() {
  return h('nav', { 'aria-label': 'Admin', class: 'actions' },
    h('a', { href: '/admin/products', class: 'button secondary' }, 'Products'),
    h('a', { href: '/admin/products/new', class: 'button secondary' }, 'New product'),
    h('a', { href: '/admin/shipments', class: 'button secondary' }, 'Shipments'));
}
