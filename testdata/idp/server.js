// A real OpenID provider (node-oidc-provider) for authctl's end-to-end tests.
// It is NOT for production: one fixed user, no passwords, and every login
// and consent is granted on the first request.
//
// Environment:
//   PORT          TCP port on 127.0.0.1 (default 0: any free port)
//   ACCESS_TTL    access-token lifetime in seconds (default 3600)
//   REFRESH_TTL   refresh-token lifetime in seconds (default 14 days)
//   DPOP          1: DPoP (RFC 9449) on, with a nonce required in every proof; otherwise
//                 off, and discovery lists no dpop_signing_alg_values_supported
//
// Once listening it prints exactly one line on stdout:
//   ISSUER http://127.0.0.1:NNNN
// Everything else goes to stderr. SIGTERM and SIGINT exit at once.
//
// Test-only routes (besides the provider's own):
//   GET  /interaction/:uid        finish login (alice) and consent (every scope asked); the
//                                 login's acr is the first of the request's acr_values, if any
//   GET  /interaction/:uid/abort  finish with error=access_denied
//   GET  /test/stats              JSON request counts, see newStats()
//   POST /test/reset              zero the counts
//   POST /test/slow?refresh=MS&jwks=MS
//                                 hold each answer to a refresh (after the provider has
//                                 rotated the refresh token) or to a JWKS request for MS
//                                 milliseconds; a kind left out keeps its setting, 0 ends it
//   POST /test/release            send every answer held now
//   POST /test/tamper?id_token=MODE
//                                 alter the ID token of refresh answers: "signature" (signed
//                                 by another key), "subject" (sub "mallory", signed by the
//                                 provider's own key) or "off"

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as querystring from 'node:querystring';

import Provider from 'oidc-provider';

// Everything the provider says for people goes to stderr: stdout carries only the ISSUER line.
console.log = console.error;
console.info = console.error;
console.warn = console.error;

function intEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

const port = intEnv('PORT', 0);
// ID_TOKEN_PADDING=N adds a claim of N characters to every ID token, as
// providers with many groups do, so tests can store credentials larger
// than a keychain item.
const idTokenPadding = intEnv('ID_TOKEN_PADDING', 0);
const accessTTL = intEnv('ACCESS_TTL', 3600);
const refreshTTL = intEnv('REFRESH_TTL', 14 * 24 * 60 * 60);
const dpop = process.env.DPOP === '1';

const ACCOUNT = {
  sub: 'alice',
  email: 'alice@example.test',
  email_verified: true,
  name: 'Alice Example',
  given_name: 'Alice',
  family_name: 'Example',
  preferred_username: 'alice',
};

const loopbackCallbacks = ['127.0.0.1', 'localhost', '[::1]']
  .flatMap((host) => [`http://${host}/callback`, `http://${host}/cb`]);

function client(id) {
  return {
    client_id: id,
    client_name: id,
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    response_types: ['code'],
    redirect_uris: loopbackCallbacks,
  };
}

function newStats() {
  return {
    jwks: 0,
    // answers held now or before by /test/slow, counted when the hold
    // begins: a test waits for these before it sends /test/release
    held_refresh: 0,
    held_jwks: 0,
    // token endpoint requests by grant_type, failed ones included
    authorization_code: 0,
    refresh_token: 0,
    device_code: 0, // urn:ietf:params:oauth:grant-type:device_code
    other_grant: 0,
    token: 0, // all token endpoint requests
    token_errors: 0, // token endpoint answers with status >= 400
    dpop_proofs: 0, // token endpoint requests with a DPoP proof
    use_dpop_nonce: 0, // token endpoint answers asking for a DPoP nonce
    revocation: 0,
    introspection: 0,
    userinfo: 0,
    device_authorization: 0,
    authorization: 0,
  };
}

let stats = newStats();

// The test knobs of /test/slow, /test/release and /test/tamper.
const knobs = { slowRefresh: 0, slowJWKS: 0, tamper: 'off' };
// The release functions of the answers held now.
const held = new Set();

// hold resolves after ms milliseconds, or at the next /test/release; kind
// ("refresh" or "jwks") names the count of held answers it adds to.
function hold(ms, kind) {
  if (!ms) return Promise.resolve();
  stats[`held_${kind}`] += 1;
  return new Promise((resolve) => {
    const release = () => {
      clearTimeout(timer);
      held.delete(release);
      resolve();
    };
    const timer = setTimeout(release, ms);
    held.add(release);
  });
}

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

// tamperIDToken returns the ID token jwt altered as knobs.tamper says.
function tamperIDToken(jwt) {
  const [header, payload] = jwt.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  let key = privateKey;
  if (knobs.tamper === 'subject') claims.sub = 'mallory';
  if (knobs.tamper === 'signature') key = otherKey;
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function configuration() {
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    clients: [
      client('authctl-test'),
      client('authctl-other'),
      // An installed app that was issued a client secret anyway, as Google
      // and GitHub do: the token and revocation endpoints want it.
      { ...client('authctl-secret'), client_secret: 'authctl-test-secret', token_endpoint_auth_method: 'client_secret_post' },
    ],
    jwks: { keys: [{ ...jwk, kid: 'test-rs256', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    // The claims every ID token may carry (acr and auth_time for step-up:
    // node-oidc-provider drops acr unless acrValues lists some).
    acrValues: ['urn:example:pwd', 'urn:example:mfa', 'urn:example:hwk'],
    claims: {
      acr: null,
      auth_time: null,
      sid: null,
      openid: idTokenPadding ? ['sub', 'padding'] : ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    },
    async findAccount(_ctx, id) {
      if (id !== ACCOUNT.sub) return undefined;
      const padding = idTokenPadding ? { padding: 'g'.repeat(idTokenPadding) } : {};
      return { accountId: id, async claims() { return { ...ACCOUNT, ...padding }; } };
    },
    // With padding, the scopes' claims go into the ID token too, not only
    // to userinfo.
    conformIdTokenClaims: !idTokenPadding,
    clockTolerance: 0,
    rotateRefreshToken: true,
    pkce: { required: () => true },
    ttl: {
      AccessToken: accessTTL,
      RefreshToken: refreshTTL,
    },
    interactions: {
      url(_ctx, interaction) { return `/interaction/${interaction.uid}`; },
    },
    // Access tokens carry the acr and auth_time of the sign-in behind them,
    // for introspection: the test API checks them for step-up (RFC 9470).
    async extraTokenClaims(ctx, token) {
      if (token.kind !== 'AccessToken' || !ctx?.oidc) return undefined;
      const { AuthorizationCode, RefreshToken, DeviceCode } = ctx.oidc.entities;
      const from = AuthorizationCode || RefreshToken || DeviceCode;
      if (!from) return undefined;
      return { acr: from.acr, auth_time: from.authTime };
    },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: { enabled: true },
      revocation: {
        enabled: true,
        // A public client may revoke its own tokens; others' are silently ignored (RFC 7009 200).
        async allowedPolicy(_ctx, cl, token) { return token.clientId === cl.clientId; },
      },
      introspection: {
        enabled: true,
        // Public clients may introspect their own tokens (authctl tests use it); never others'.
        async allowedPolicy(_ctx, cl, token) { return token.clientId === cl.clientId; },
      },
      userinfo: { enabled: true },
      // Without a `resource` parameter access tokens stay opaque and are good at userinfo.
      resourceIndicators: { enabled: true },
      // On by default in node-oidc-provider 9: off unless DPOP=1.
      dPoP: dpop
        ? { enabled: true, nonceSecret: crypto.randomBytes(32), requireNonce: () => true }
        : { enabled: false },
    },
  };
}

// countRequests counts at the HTTP level, before the provider looks at the request,
// so failed and malformed requests count too.
function countRequests(provider) {
  const paths = {
    token: provider.pathFor('token'),
    jwks: provider.pathFor('jwks'),
    revocation: provider.pathFor('revocation'),
    introspection: provider.pathFor('introspection'),
    userinfo: provider.pathFor('userinfo'),
    device_authorization: provider.pathFor('device_authorization'),
    authorization: provider.pathFor('authorization'),
  };
  return async (ctx, next) => {
    if (ctx.path === paths.token && ctx.method === 'POST') {
      stats.token += 1;
      let grantType;
      if (ctx.is('application/x-www-form-urlencoded')) {
        // Read the body here; the provider falls back to ctx.req.body once it is consumed.
        const chunks = [];
        for await (const chunk of ctx.req) chunks.push(chunk);
        const body = Buffer.concat(chunks).toString('utf8');
        ctx.req.body = body;
        grantType = querystring.parse(body).grant_type;
      }
      switch (grantType) {
        case 'authorization_code': stats.authorization_code += 1; break;
        case 'refresh_token': stats.refresh_token += 1; break;
        case 'urn:ietf:params:oauth:grant-type:device_code': stats.device_code += 1; break;
        default: stats.other_grant += 1;
      }
      if (ctx.get('DPoP')) stats.dpop_proofs += 1;
      await next();
      if (ctx.status >= 400) stats.token_errors += 1;
      if (ctx.body && ctx.body.error === 'use_dpop_nonce') stats.use_dpop_nonce += 1;
      if (grantType === 'refresh_token') {
        if (knobs.tamper !== 'off' && ctx.body && ctx.body.id_token) {
          ctx.body = { ...ctx.body, id_token: tamperIDToken(ctx.body.id_token) };
        }
        await hold(knobs.slowRefresh, 'refresh');
      }
      return;
    }
    if (ctx.path === paths.jwks) {
      stats.jwks += 1;
      await hold(knobs.slowJWKS, 'jwks');
      await next();
      return;
    }
    for (const [name, path] of Object.entries(paths)) {
      if (name !== 'token' && ctx.path === path) stats[name] += 1;
    }
    await next();
  };
}

// testRoutes serves the interaction pages and the stats admin routes.
function testRoutes(provider) {
  return async (ctx, next) => {
    if (ctx.path === '/test/stats' && ctx.method === 'GET') {
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(stats);
      return;
    }
    if (ctx.path === '/test/reset' && ctx.method === 'POST') {
      stats = newStats();
      ctx.status = 204;
      return;
    }
    if (ctx.path === '/test/slow' && ctx.method === 'POST') {
      for (const [param, knob] of [['refresh', 'slowRefresh'], ['jwks', 'slowJWKS']]) {
        if (ctx.query[param] === undefined) continue;
        const ms = Number(ctx.query[param]);
        if (!Number.isInteger(ms) || ms < 0) ctx.throw(400, `${param} must be a non-negative integer`);
        knobs[knob] = ms;
      }
      ctx.status = 204;
      return;
    }
    if (ctx.path === '/test/release' && ctx.method === 'POST') {
      for (const release of [...held]) release();
      ctx.status = 204;
      return;
    }
    if (ctx.path === '/test/tamper' && ctx.method === 'POST') {
      const mode = ctx.query.id_token;
      if (!['off', 'signature', 'subject'].includes(mode)) ctx.throw(400, 'id_token must be off, signature or subject');
      knobs.tamper = mode;
      ctx.status = 204;
      return;
    }
    const m = /^\/interaction\/([^/]+)(\/abort)?$/.exec(ctx.path);
    if (!m || ctx.method !== 'GET') {
      await next();
      return;
    }
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== m[1]) {
      ctx.status = 400;
      ctx.body = 'interaction mismatch';
      return;
    }
    ctx.respond = false; // interactionFinished writes the 303 itself
    if (m[2]) {
      await provider.interactionFinished(ctx.req, ctx.res, {
        error: 'access_denied',
        error_description: 'End-User aborted interaction',
      }, { mergeWithLastSubmission: false });
      return;
    }
    // The strength of authentication asked for is granted, as a real
    // provider would after asking for a second factor.
    const [acr] = String(details.params.acr_values || '').split(' ').filter(Boolean);
    await provider.interactionFinished(ctx.req, ctx.res, {
      login: { accountId: ACCOUNT.sub, ...(acr ? { acr } : {}) },
      consent: { grantId: await grantEverything(provider, details) },
    }, { mergeWithLastSubmission: false });
  };
}

// grantEverything grants every scope and claim the client asked for, offline_access included.
async function grantEverything(provider, details) {
  const { params } = details;
  let grant;
  if (details.grantId) grant = await provider.Grant.find(details.grantId);
  if (!grant) {
    grant = new provider.Grant({ accountId: ACCOUNT.sub, clientId: params.client_id });
  }
  if (params.scope) grant.addOIDCScope(params.scope);
  if (params.claims) {
    try {
      const claims = JSON.parse(params.claims);
      for (const where of ['id_token', 'userinfo']) {
        if (claims[where]) grant.addOIDCClaims(Object.keys(claims[where]));
      }
    } catch {
      // a malformed claims parameter is the provider's to reject
    }
  }
  return grant.save();
}

const server = http.createServer();
// Node closes idle keep-alive connections after 5 s, which races with Go
// clients that reuse a pooled connection just then (a POST fails with
// EOF). Keep them longer than any test pauses.
server.keepAliveTimeout = 120_000;
server.on('error', (err) => {
  console.error(`listen: ${err.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration());
  provider.on('server_error', (_ctx, err) => console.error('server_error', err));
  provider.use(countRequests(provider));
  provider.use(testRoutes(provider));
  server.on('request', provider.callback());
  process.stdout.write(`ISSUER ${issuer}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
