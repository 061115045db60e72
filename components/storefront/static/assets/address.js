// The shipping address fields, shared by the account and checkout pages.
// Field names are the API's paths (`shipping_address.city`), so an error
// the API names a field with lands under that field.

import { field } from './dom.js';

export const COUNTRIES = [['DE', 'Germany'], ['FR', 'France'], ['NL', 'Netherlands'], ['IT', 'Italy'], ['ES', 'Spain'], ['GB', 'United Kingdom'], ['US', 'United States']];

export function addressFields(address = {}, prefix = 'shipping_address') {
  const a = address || {};
  return [
    field({ label: 'Full name', name: `${prefix}.name`, autocomplete: 'shipping name', value: a.name ?? '', required: true }),
    field({ label: 'Street and number', name: `${prefix}.line1`, autocomplete: 'shipping address-line1', value: a.line1 ?? '', required: true }),
    field({ label: 'Address line 2 (optional)', name: `${prefix}.line2`, autocomplete: 'shipping address-line2', value: a.line2 ?? '' }),
    field({ label: 'City', name: `${prefix}.city`, autocomplete: 'shipping address-level2', value: a.city ?? '', required: true }),
    field({ label: 'Postal code', name: `${prefix}.postal_code`, autocomplete: 'shipping postal-code', value: a.postal_code ?? '', required: true }),
    field({ label: 'Country', name: `${prefix}.country`, autocomplete: 'shipping country', value: a.country ?? 'DE', options: COUNTRIES }),
  ];
}

// The address in `form`, as the API takes it; and the fields left empty.
export function readAddress(form, prefix = 'shipping_address') {
  const value = (k) => (form.elements[`${prefix}.${k}`]?.value || '').trim();
  const address = { name: value('name'), line1: value('line1'), city: value('city'), postal_code: value('postal_code'), country: value('country') };
  if (value('line2')) address.line2 = value('line2');
  const missing = ['name', 'line1', 'city', 'postal_code'].filter((k) => !address[k]).map((k) => `${prefix}.${k}`);
  return { address, missing };
}
