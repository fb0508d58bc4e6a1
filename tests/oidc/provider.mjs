// A real OpenID Connect provider (panva/oidc-provider, OpenID Certified) for the wallboard's tests.
//
//   node tests/oidc/provider.mjs --port 0 --client '{"client_id": ..., "client_secret": ..., "redirect_uris": [...]}' \
//        --accounts '[{"sub": ..., "preferred_username": ..., "name": ..., "email": ..., "groups": [...]}]'
//
// Options (each also from the environment): --port (OIDC_PORT, default 0: any free port), --host (OIDC_HOST,
// default 127.0.0.1), --issuer (OIDC_ISSUER, default http://<host>:<port>), --client (OIDC_CLIENT, JSON),
// --accounts (OIDC_ACCOUNTS, JSON list). Prints one line "READY <issuer>" on stdout once listening; SIGTERM or
// SIGINT stop it, and so does the end of the process that started it.
//
// The client is confidential: response type code, grant authorization_code, registered with
// token_endpoint_auth_method client_secret_basic unless the client JSON says otherwise; this version of
// oidc-provider accepts client_secret_post from a client registered for client_secret_basic and the reverse.
// PKCE is optional for it: a code_challenge (S256 only) is checked when sent, none is accepted.
//
// Sign-in is a page of our own (no external resources, stable ids): form#login with input#username,
// input#password and button#submit; a wrong login re-renders it with #login-error; a#cancel aborts
// (access_denied to the client). The password of an account is "secret-<preferred_username>" (or its
// "password" field). Consent is given by the provider itself (a first-party client): after the login the
// browser goes straight back to the redirect_uri.
//
// The ID token carries the account's claims for the scopes granted (conformIdTokenClaims off):
// profile → name, preferred_username, groups; email → email, email_verified; groups → groups.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    issuer: { type: 'string' },
    client: { type: 'string' },
    accounts: { type: 'string' },
  },
});

function option(name, env, fallback) {
  const value = args[name] ?? process.env[env];
  if (value === undefined || value === '') {
    if (fallback === undefined) {
      console.error(`provider.mjs: --${name} (or $${env}) is required`);
      process.exit(2);
    }
    return fallback;
  }
  return value;
}

function json(name, env) {
  const text = option(name, env);
  try {
    return JSON.parse(text);
  } catch (error) {
    console.error(`provider.mjs: --${name} is not JSON: ${error.message}`);
    process.exit(2);
  }
}

const host = option('host', 'OIDC_HOST', '127.0.0.1');
const wantedPort = Number(option('port', 'OIDC_PORT', '0'));
const clientOption = json('client', 'OIDC_CLIENT');
const accountList = json('accounts', 'OIDC_ACCOUNTS');

if (!clientOption.client_id || !clientOption.client_secret || !Array.isArray(clientOption.redirect_uris)) {
  console.error('provider.mjs: the client needs client_id, client_secret and redirect_uris (a list)');
  process.exit(2);
}
if (!Array.isArray(accountList) || accountList.some((a) => !a.sub || !a.preferred_username)) {
  console.error('provider.mjs: accounts must be a list of objects with sub and preferred_username');
  process.exit(2);
}

const accountsBySub = new Map(accountList.map((a) => [String(a.sub), a]));
const accountsByUsername = new Map(accountList.map((a) => [String(a.preferred_username), a]));

function passwordOf(account) {
  return account.password ?? `secret-${account.preferred_username}`;
}

function claimsOf(account) {
  return {
    sub: String(account.sub),
    preferred_username: account.preferred_username,
    name: account.name ?? account.preferred_username,
    email: account.email,
    email_verified: account.email !== undefined,
    groups: Array.isArray(account.groups) ? account.groups : [],
  };
}

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:22em;margin:3em auto}input,button{display:block;width:100%;margin:.5em 0;padding:.4em}
#login-error{color:#b00}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function loginPage(uid, clientId, username, error) {
  const base = `/interaction/${encodeURIComponent(uid)}`;
  return page('Sign in', `
<p>to <span id="client-id">${escapeHtml(clientId)}</span></p>
${error ? `<p id="login-error" role="alert">${escapeHtml(error)}</p>` : ''}
<form id="login" method="post" action="${base}/login" autocomplete="off">
  <label for="username">Username</label>
  <input id="username" name="username" type="text" required autofocus value="${escapeHtml(username ?? '')}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required>
  <button id="submit" type="submit">Sign in</button>
</form>
<p><a id="cancel" href="${base}/abort">Cancel</a></p>`);
}

function send(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(html);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// The first-party client is never asked for consent: the grant covers whatever it asks for.
async function grantFor(ctx) {
  const { oidc } = ctx;
  const clientId = oidc.client.clientId;
  const accountId = oidc.session.accountId;
  const existingId = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(clientId);
  let grant = existingId ? await oidc.provider.Grant.find(existingId) : undefined;
  if (!grant || grant.accountId !== accountId) {
    grant = new oidc.provider.Grant({ clientId, accountId });
  }
  grant.addOIDCScope(oidc.params.scope ?? 'openid');
  if (oidc.params.claims) {
    // The claims request parameter: every claim it names, for the ID token and userinfo alike.
    const requested = JSON.parse(oidc.params.claims);
    const names = new Set([...Object.keys(requested.id_token ?? {}), ...Object.keys(requested.userinfo ?? {})]);
    grant.addOIDCClaims([...names]);
  }
  await grant.save();
  return grant;
}

// One RSA key made at start: the JWKS the clients fetch; cookies signed with a random key.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

let provider;
let providerCallback;

async function interaction(req, res, url) {
  const match = /^\/interaction\/([^/]+)(?:\/(login|abort))?$/.exec(url.pathname);
  if (!match) return false;
  const action = match[2];
  try {
    const details = await provider.interactionDetails(req, res);
    const { uid, prompt, params } = details;
    if (action === 'abort') {
      await provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: 'End-User aborted interaction',
      }, { mergeWithLastSubmission: false });
      return true;
    }
    if (prompt.name === 'consent') {
      // Not reached with grantFor in place; kept so a prompt=consent request still ends at the client.
      const grant = new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
      if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
      if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return true;
    }
    if (prompt.name !== 'login') {
      send(res, 501, page('Not implemented', `<p>prompt ${escapeHtml(prompt.name)}</p>`));
      return true;
    }
    if (action !== 'login') {
      send(res, 200, loginPage(uid, params.client_id, params.login_hint));
      return true;
    }
    if (req.method !== 'POST') {
      send(res, 405, page('Method not allowed', ''));
      return true;
    }
    const form = await readForm(req);
    const username = form.get('username') ?? '';
    const account = accountsByUsername.get(username);
    if (!account || form.get('password') !== passwordOf(account)) {
      console.log(`login failed for ${JSON.stringify(username)}`);
      send(res, 401, loginPage(uid, params.client_id, username, 'Invalid username or password.'));
      return true;
    }
    console.log(`login ${username} (sub ${account.sub})`);
    await provider.interactionFinished(req, res, {
      login: { accountId: String(account.sub) },
    }, { mergeWithLastSubmission: false });
  } catch (error) {
    console.error(`interaction ${url.pathname}: ${error.stack ?? error}`);
    if (!res.headersSent) {
      send(res, 400, page('Sign-in error', `<p id="interaction-error">${escapeHtml(error.message)}</p>`));
    } else {
      res.end();
    }
  }
  return true;
}

const server = http.createServer(async (req, res) => {
  if (!providerCallback) {
    send(res, 503, page('Starting', ''));
    return;
  }
  const url = new URL(req.url, 'http://placeholder');
  if (await interaction(req, res, url)) return;
  providerCallback(req, res);
});

server.listen(wantedPort, host, () => {
  const { port } = server.address();
  const issuer = option('issuer', 'OIDC_ISSUER', `http://${host}:${port}`);

  provider = new Provider(issuer, {
    clients: [{
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...clientOption,
    }],
    async findAccount(_ctx, sub) {
      const account = accountsBySub.get(sub);
      if (!account) return undefined;
      return { accountId: sub, async claims() { return claimsOf(account); } };
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', 'groups'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    // The scopes' claims go into the ID token too, not only userinfo (a client may read only the ID token).
    conformIdTokenClaims: false,
    loadExistingGrant: grantFor,
    pkce: { required: () => false },
    interactions: { url: (_ctx, i) => `/interaction/${i.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = page('Sign out', `${form}
<button id="logout-yes" type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button id="logout-no" type="submit" form="op.logoutForm">No, stay signed in</button>`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = page('Signed out', '<p id="signed-out">You are signed out.</p>');
        },
      },
    },
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Error', `<pre id="oidc-error">${escapeHtml(JSON.stringify(out, null, 2))}</pre>`);
    },
  });
  provider.on('server_error', (_ctx, error) => console.error(`server_error: ${error.stack ?? error}`));
  for (const event of ['grant.error', 'authorization.error', 'userinfo.error']) {
    provider.on(event, (_ctx, error) => console.log(`${event}: ${error.message} ${error.error_description ?? ''}`));
  }
  // A client the provider cannot use fails here, not at the first request.
  provider.Client.find(String(clientOption.client_id)).then((client) => {
    if (!client) throw new Error('the client was not loaded');
    providerCallback = provider.callback();
    console.log(`READY ${issuer}`);
  }).catch((error) => {
    console.error(`provider.mjs: invalid client: ${error.message} ${error.error_description ?? ''}`);
    process.exit(2);
  });
});

server.on('error', (error) => {
  console.error(`provider.mjs: ${error.message}`);
  process.exit(1);
});

function stop() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// Orphaned (the test process that started it died without stopping it): stop too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 1000).unref();
