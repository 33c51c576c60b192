// Tokens verified by a JWT library nobody here wrote: Node's `jose` reads the local server's
// discovery document, fetches the JWKS it names (createRemoteJWKSet) and verifies an access
// token with the algorithm, type, audience and issuer pinned; it refuses a bind token, an
// expired token, another audience and another algorithm. Starts its own local servers
// (target/debug/wxlogin-local, built by the test command), one per signup mode.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify, decodeJwt, errors } from 'jose';

const root = fileURLToPath(new URL('../..', import.meta.url));
const AUDIENCE = 'wxlogin-api';

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startLocal(signupMode) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(`${root}target/debug/wxlogin-local`, [], {
    env: { ...process.env, PORT: String(port), TOKEN_ISSUER: base, SIGNUP_MODE: signupMode },
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i += 1) {
    try {
      await fetch(`${base}/.well-known/jwks.json`);
      return { base, child };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('the local server did not start');
}

async function post(base, path, body) {
  const r = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return r.json();
}

let openid;
let phone;
before(async () => {
  openid = await startLocal('openid');
  phone = await startLocal('phone');
});
after(() => {
  openid.child.kill();
  phone.child.kill();
});

async function keysOf(server) {
  const discovery = await (await fetch(`${server.base}/.well-known/openid-configuration`)).json();
  assert.equal(discovery.issuer, server.base);
  assert.deepEqual(discovery.id_token_signing_alg_values_supported, ['RS256']);
  return createRemoteJWKSet(new URL(discovery.jwks_uri));
}

function pinned(server, extra = {}) {
  return { issuer: server.base, audience: AUDIENCE, algorithms: ['RS256'], typ: 'at+jwt', ...extra };
}

test('an access token verifies with the discovered keys, its type pinned', async () => {
  const session = await post(openid.base, '/auth/login', { code: 'jose-1' });
  const { payload, protectedHeader } = await jwtVerify(session.access_token, await keysOf(openid), pinned(openid));
  assert.equal(payload.sub, session.user.id);
  assert.equal(protectedHeader.typ, 'at+jwt');
});

test('a bind token is refused as an access token', async () => {
  const answer = await post(phone.base, '/auth/login', { code: 'josebind-1' });
  assert.equal(answer.status, 'phone_required');
  await assert.rejects(jwtVerify(answer.bind_token, await keysOf(phone), pinned(phone)), errors.JWTClaimValidationFailed);
});

test('an expired token is refused', async () => {
  const token = (await post(openid.base, '/auth/login', { code: 'joseexp-1' })).access_token;
  const { exp } = decodeJwt(token);
  const keys = await keysOf(openid);
  await jwtVerify(token, keys, pinned(openid));
  await assert.rejects(
    jwtVerify(token, keys, pinned(openid, { currentDate: new Date((exp + 1) * 1000) })),
    errors.JWTExpired,
  );
});

test('another audience or another algorithm is refused', async () => {
  const token = (await post(openid.base, '/auth/login', { code: 'joseaud-1' })).access_token;
  const keys = await keysOf(openid);
  await assert.rejects(jwtVerify(token, keys, pinned(openid, { audience: 'someone-else' })), errors.JWTClaimValidationFailed);
  for (const other of ['EdDSA', 'PS256', 'RS512']) {
    await assert.rejects(jwtVerify(token, keys, pinned(openid, { algorithms: [other] })), errors.JOSEAlgNotAllowed);
  }
});
