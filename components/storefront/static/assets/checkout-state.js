// What the cart page hands to checkout: the chosen country and promo code,
// kept for this tab only.

const KEY = 'souk.checkout';

export function read() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || '{}');
  } catch {
    return {};
  }
}

export function write(value) {
  sessionStorage.setItem(KEY, JSON.stringify({ ...read(), ...value }));
}

export function clear() {
  sessionStorage.removeItem(KEY);
}
