// The login form: posts the credentials as JSON and goes on to the page that sent the
// user here (only a path on this server: never an absolute URL).
'use strict';

function nextPath() {
  const next = new URLSearchParams(location.search).get('next') || '/';
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
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
