// Who is signed in. The token lives in memory and in sessionStorage (so a
// reload keeps the person signed in, and closing the tab ends it); it never
// goes into a URL.

const KEY = 'souk.session';
let current = read();
const listeners = new Set();

function read() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    return saved && saved.token && saved.expiresAt > Date.now() ? saved : null;
  } catch {
    return null;
  }
}

function write(value) {
  current = value;
  if (value) sessionStorage.setItem(KEY, JSON.stringify(value));
  else sessionStorage.removeItem(KEY);
  for (const listener of listeners) listener(current);
}

export function token() {
  if (current && current.expiresAt <= Date.now()) return null;
  return current?.token ?? null;
}

// Whether a token was held and has run out (or was refused): the person must sign in again.
export function expired() {
  return Boolean(current) && current.expiresAt <= Date.now();
}

export const user = () => current?.user ?? null;
export const isAdmin = () => user()?.role === 'admin';

// From POST /auth/login's answer.
export function start(login) {
  write({ token: login.token, user: login.user, expiresAt: Date.now() + (login.expires_in - 30) * 1000 });
}

export function update(userValue) {
  if (current) write({ ...current, user: userValue });
}

export function end() {
  write(null);
}

export function onChange(listener) {
  listeners.add(listener);
}
