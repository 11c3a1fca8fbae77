// ID-porten stand-in for signgate's tests: node `oidc-provider` on a loopback port.
//
// Configured like ID-porten (issuer without trailing slash, /authorize, /par, /token, /jwks,
// /endsession; claims pid, acr, amr, auth_time, locale and the eIDAS claims; acr values
// idporten-loa-substantial|high and eidas-loa-substantial|high; PKCE S256 required; PAR enabled;
// client authentication private_key_jwt and client_secret_basic; `iss` in the authorization
// response). Browser-free: the login page is a plain HTML form where the test picks an account
// by name (POST /interaction/{uid}/login, field `account`) or cancels (POST
// /interaction/{uid}/abort); consent is granted with the login.
//
// Environment:
//   OIDC_CLIENT_JWKS   JSON JWKS (public keys) of the private_key_jwt client `signgate-jwt`
//   OIDC_CLIENT_SECRET secret of the client_secret_basic client `signgate-basic`
// Clients (both `application_type: native`, so any loopback port matches the registered
// http://127.0.0.1/oidc/callback):
//   signgate-jwt    private_key_jwt, id_tokens RS256
//   signgate-basic  client_secret_basic, id_tokens ES256
//
// Test-only accounts rewrite the id_token in the token response, so the relying party's
// negative paths run over the real HTTP flow: `tamper-alg-none` (alg none, no signature),
// `tamper-expired` (exp an hour ago, re-signed), `tamper-wrong-aud` (aud another client,
// re-signed), `tamper-unknown-kid` (re-signed with a key that is never published).
// POST /test/rotate starts signing every id_token with a new key (kid `rotated-1`) that the
// JWKS then publishes too; GET /test/stats returns {"jwks_fetches": n, "discovery_fetches": m}.
//
// Prints `READY <issuer>` on stdout once it listens.

import * as http from 'node:http';
import * as crypto from 'node:crypto';

import Provider from 'oidc-provider';

const ACCOUNTS = {
  // Norwegian persons (ID-porten: pid, no names in the id_token).
  kari: { pid: '13097248022', max: 'idporten-loa-high', amr: ['BankID'] },
  ola: {
    pid: '01889449930', max: 'idporten-loa-high', amr: ['Buypass'],
    name: 'Ola Nordmann', given_name: 'Ola', family_name: 'Nordmann',
  },
  // A MinID user: never more than substantial.
  ase: { pid: '17912099997', max: 'idporten-loa-substantial', amr: ['Minid-OTC'] },
  // eIDAS persons through ID-porten's eIDAS login (one per claim spelling).
  sven: {
    eidas: true, max: 'eidas-loa-high', amr: ['eIDAS'],
    eidas_identifier: 'SE/NO/199001011234', eidas_firstname: 'Sven',
    eidas_lastname: 'Svensson', eidas_date_of_birth: '1990-01-01',
  },
  maria: {
    eidas: true, max: 'eidas-loa-substantial', amr: ['eIDAS'],
    eidas_personidentifier: 'ES/NO/12345678Z', eidas_firstname: 'María',
    eidas_lastname: 'García', eidas_date_of_birth: '1985-05-17',
  },
  // Test-only: the id_token is rewritten in the token response.
  'tamper-alg-none': { pid: '13097248022', max: 'idporten-loa-high', amr: ['BankID'], tamper: 'alg-none' },
  'tamper-expired': { pid: '13097248022', max: 'idporten-loa-high', amr: ['BankID'], tamper: 'expired' },
  'tamper-wrong-aud': { pid: '13097248022', max: 'idporten-loa-high', amr: ['BankID'], tamper: 'wrong-aud' },
  'tamper-unknown-kid': { pid: '13097248022', max: 'idporten-loa-high', amr: ['BankID'], tamper: 'unknown-kid' },
};

const LEVELS = {
  'idporten-loa-substantial': ['idporten', 1],
  'idporten-loa-high': ['idporten', 2],
  'eidas-loa-substantial': ['eidas', 1],
  'eidas-loa-high': ['eidas', 2],
};

// The acr a login reaches: the highest requested level of the account's own family that the
// account can reach, else the account's own maximum (the relying party must refuse then).
function acrFor(account, requested) {
  const [family, max] = LEVELS[account.max];
  const wanted = (requested || '').split(' ')
    .filter((v) => LEVELS[v] && LEVELS[v][0] === family)
    .map((v) => LEVELS[v][1]);
  const level = wanted.length ? Math.min(Math.max(...wanted), max) : max;
  return Object.keys(LEVELS).find((k) => LEVELS[k][0] === family && LEVELS[k][1] === level);
}

function genKey(kind, kid) {
  const { privateKey } = kind === 'RSA'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const alg = kind === 'RSA' ? 'RS256' : 'ES256';
  return { privateKey, jwk: { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

function publicJwk({ jwk }) {
  const { d, p, q, dp, dq, qi, ...pub } = jwk;
  return pub;
}

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function signJwt(header, payload, key) {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = header.alg === 'RS256'
    ? crypto.sign('sha256', Buffer.from(input), key.privateKey)
    : crypto.sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

const signing = { rsa: genKey('RSA', 'rsa-1'), ec: genKey('EC', 'ec-1') };
const rotated = genKey('RSA', 'rotated-1');
const neverPublished = genKey('RSA', 'never-published');
let rotatedActive = false;
let jwksFetches = 0;
let discoveryFetches = 0;

function tamper(idToken, clientId) {
  const [h, p] = idToken.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const payload = JSON.parse(Buffer.from(p, 'base64url'));
  const account = ACCOUNTS[payload.sub];
  const mode = account && account.tamper;
  const key = header.alg === 'ES256' ? signing.ec : signing.rsa;
  const now = Math.floor(Date.now() / 1000);
  switch (mode) {
    case 'alg-none':
      return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
    case 'expired':
      return signJwt(header, { ...payload, iat: now - 7200, exp: now - 3600, auth_time: now - 7200 }, key);
    case 'wrong-aud':
      return signJwt(header, { ...payload, aud: 'someone-else', azp: undefined }, key);
    case 'unknown-kid':
      return signJwt({ alg: 'RS256', typ: 'JWT', kid: neverPublished.jwk.kid }, payload, neverPublished);
    default:
      if (rotatedActive && payload.aud === clientId) {
        return signJwt({ alg: 'RS256', typ: 'JWT', kid: rotated.jwk.kid }, payload, rotated);
      }
      return idToken;
  }
}

const clientJwks = JSON.parse(process.env.OIDC_CLIENT_JWKS || '{"keys":[]}');
const clientSecret = process.env.OIDC_CLIENT_SECRET;
if (!clientJwks.keys.length || !clientSecret) {
  console.error('server.mjs: OIDC_CLIENT_JWKS (non-empty) and OIDC_CLIENT_SECRET are required');
  process.exit(2);
}

const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 10000) reject(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'signgate-jwt',
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/oidc/callback'],
        post_logout_redirect_uris: ['http://127.0.0.1/logged-out'],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: clientJwks,
        id_token_signed_response_alg: 'RS256',
      },
      {
        client_id: 'signgate-basic',
        client_secret: clientSecret,
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/oidc/callback'],
        post_logout_redirect_uris: ['http://127.0.0.1/logged-out'],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [signing.rsa.jwk, signing.ec.jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    routes: {
      authorization: '/authorize',
      pushed_authorization_request: '/par',
      token: '/token',
      jwks: '/jwks',
      end_session: '/endsession',
      userinfo: '/userinfo',
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientAuthMethods: ['private_key_jwt', 'client_secret_basic'],
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      clientAuthSigningAlgValues: ['RS256', 'ES256'],
    },
    acrValues: Object.keys(LEVELS),
    claims: {
      acr: null,
      amr: null,
      auth_time: null,
      sid: null,
      iss: null,
      openid: ['sub', 'pid', 'amr', 'locale', 'eidas_identifier', 'eidas_personidentifier',
        'eidas_firstname', 'eidas_lastname', 'eidas_date_of_birth'],
      profile: ['name', 'given_name', 'family_name'],
    },
    // ID-porten puts pid and the eIDAS claims in the id_token of the code flow.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      rpInitiatedLogout: { enabled: true },
    },
    ttl: { IdToken: 120, AccessToken: 120, AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600 },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, id) {
      const account = ACCOUNTS[id];
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          const { max, amr, tamper: _t, eidas: _e, ...claims } = account;
          return { sub: id, locale: 'nb', ...claims };
        },
      };
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('error', `<p id="error">${esc(out.error)}: ${esc(out.error_description || '')}</p>`);
    },
  });

  // Outermost middleware: the JWKS fetch counter, key rotation and id_token rewriting.
  provider.middleware.unshift(async (ctx, next) => {
    if (ctx.path === '/.well-known/openid-configuration' && ctx.method === 'GET') {
      discoveryFetches += 1;
    }
    if (ctx.path === '/jwks' && ctx.method === 'GET') {
      jwksFetches += 1;
      await next();
      if (rotatedActive && ctx.body && Array.isArray(ctx.body.keys)) {
        ctx.body = { keys: [...ctx.body.keys, publicJwk(rotated)] };
      }
      return;
    }
    await next();
    if (ctx.path === '/token' && ctx.method === 'POST' && ctx.body && ctx.body.id_token) {
      ctx.body = { ...ctx.body, id_token: tamper(ctx.body.id_token, ctx.oidc.client?.clientId) };
    }
  });

  // Routes the provider does not own: the login page and the test controls.
  provider.use(async (ctx, next) => {
    const m = ctx.path.match(/^\/interaction\/([^/]+)(\/login|\/abort)?$/);
    if (m) {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.uid !== m[1]) ctx.throw(400, 'interaction mismatch');
      if (!m[2] && ctx.method === 'GET') {
        const options = Object.keys(ACCOUNTS).map((a) => `<option value="${esc(a)}">${esc(a)}</option>`).join('');
        ctx.type = 'html';
        ctx.body = page('login', `<form method="post" action="/interaction/${esc(m[1])}/login">`
          + `<select name="account">${options}</select><button type="submit">Log in</button></form>`
          + `<form method="post" action="/interaction/${esc(m[1])}/abort"><button type="submit">Cancel</button></form>`);
        return;
      }
      if (ctx.method === 'POST' && m[2] === '/login') {
        const form = await readForm(ctx.req);
        const id = form.get('account');
        const account = ACCOUNTS[id];
        if (!account) ctx.throw(400, 'unknown account');
        const acr = acrFor(account, details.params.acr_values);
        // Consent is implied (as at ID-porten): a grant for every scope the client asked for.
        const grant = new provider.Grant({ clientId: details.params.client_id, accountId: id });
        grant.addOIDCScope(details.params.scope || 'openid');
        const grantId = await grant.save();
        ctx.respond = false;
        await provider.interactionFinished(ctx.req, ctx.res, {
          login: { accountId: id, acr, amr: account.amr, remember: false },
          consent: { grantId },
        }, { mergeWithLastSubmission: false });
        return;
      }
      if (ctx.method === 'POST' && m[2] === '/abort') {
        ctx.respond = false;
        await provider.interactionFinished(ctx.req, ctx.res, {
          error: 'access_denied', error_description: 'End-User aborted interaction',
        }, { mergeWithLastSubmission: false });
        return;
      }
      ctx.throw(405);
    }
    if (ctx.path === '/test/rotate' && ctx.method === 'POST') {
      rotatedActive = true;
      ctx.body = { rotated: rotated.jwk.kid };
      return;
    }
    if (ctx.path === '/test/stats' && ctx.method === 'GET') {
      ctx.body = { jwks_fetches: jwksFetches, discovery_fetches: discoveryFetches };
      return;
    }
    await next();
  });

  provider.on('server_error', (_ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  console.log(`READY ${issuer}`);
});

process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
