// The API token, when the server wants one: kept in this tab's
// sessionStorage, asked for in the bar above the page.
import { $ } from './dom.js';

const TOKEN_KEY = 'reprise.apiToken';
export const token = {
  get() { try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; } },
  set(v) { try { if (v) sessionStorage.setItem(TOKEN_KEY, v); else sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage off */ } },
  ask() {
    const bar = $('#token-bar');
    if (bar.hidden) {
      bar.hidden = false;
      $('#token-input').focus();
    }
  },
};

// Wires the token bar; `changed` runs when a token is set or forgotten.
export function setupToken(changed) {
  const bar = $('#token-bar');
  const input = $('#token-input');
  const forget = $('#token-forget');
  const sync = () => { forget.hidden = !token.get(); };
  bar.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = input.value.trim();
    if (!v) { input.focus(); return; }
    token.set(v);
    input.value = '';
    bar.hidden = true;
    sync();
    changed();
  });
  forget.addEventListener('click', () => { token.set(''); sync(); changed(); });
  sync();
}
