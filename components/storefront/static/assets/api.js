// The shop's public API (/api/v1 on this origin), as JSON. Every failure
// becomes an ApiError with a message a person can read; a refused or
// expired token ends the session and sends the person to sign in, and back.

import * as session from './session.js';

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
  // Could the request have been carried out although no answer came back?
  get uncertain() {
    return this.status === 0 || this.status >= 500 || this.code === 'idempotency_conflict';
  }
}

// Set by app.js: what to do when the session has ended.
let onSignedOut = () => {};
export function whenSignedOut(handler) {
  onSignedOut = handler;
}

const PLAIN = {
  network: 'The shop could not be reached. Check your connection and try again.',
  rate_limited: 'Too many requests at once. Wait a moment and try again.',
  unavailable: 'The shop is busy or down for a moment. Please try again shortly.',
};

export async function api(method, path, { body, headers = {}, signal } = {}) {
  if (session.expired()) {
    session.end();
    onSignedOut();
    throw new ApiError(401, 'session_expired', 'Your session has ended. Please sign in again.');
  }
  const sent = { accept: 'application/json', ...headers };
  const token = session.token();
  if (token) sent.authorization = `Bearer ${token}`;
  if (body !== undefined) sent['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(`/api/v1${path}`, { method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', PLAIN.network);
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.ok) return data;
  const error = data?.error || {};
  const code = error.code || (response.status === 429 ? 'rate_limited' : response.status >= 500 ? 'unavailable' : 'error');
  if (response.status === 401 && token) {
    session.end();
    onSignedOut();
    throw new ApiError(401, 'session_expired', 'Your session has ended. Please sign in again.');
  }
  const message = PLAIN[code] || error.message || `The shop answered ${response.status}.`;
  throw new ApiError(response.status, code, message, error.details);
}

export const get = (path, options) => api('GET', path, options);
export const post = (path, body, options) => api('POST', path, { ...options, body });

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}
