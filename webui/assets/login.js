// The login form: posts the credentials as JSON and goes on to the page that sent the
// user here (only a path on this server: never an absolute URL).
'use strict';

function nextPath() {
  const next = new URLSearchParams(location.search).get('next') || '/';
  // Judged as the browser will read it, not as written: the URL parser drops tabs and
  // newlines and reads a backslash as a slash, so "/\t/evil.example" is another host.
  const url = new URL(next, location.origin);
  return next.startsWith('/') && url.origin === location.origin ? url.pathname + url.search + url.hash : '/';
}

document.getElementById('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = document.getElementById('login-error');
  const button = event.target.querySelector('button');
  error.hidden = true;
  button.disabled = true;
  try {
    const response = await fetch('/api/login', {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({
        user: document.getElementById('user').value,
        password: document.getElementById('password').value,
      }),
    });
    if (response.ok) {
      location.assign(nextPath());
      return;
    }
    const body = await response.json().catch(() => ({}));
    error.textContent = body.message || `Login failed (${response.status})`;
    error.hidden = false;
  } catch (e) {
    error.textContent = 'Sluice is not reachable: ' + e.message;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});
