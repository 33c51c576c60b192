// loginWithPhone() and prepareLogin(): sign in and bind the phone in ONE POST /auth/login
// (`phone_code`, or legacy `encrypted_data` + `iv` under the session_key of the code sent with
// them). Request shape and the prepared code against a stub server; the outcomes against the
// real local server in both signup modes.
// The local server's fake WeChat hands every lenient login code a random session_key that it
// does not publish, so no test can produce legacy data it decrypts: the real-server legacy tests
// send undecryptable data and check that the server tried it under the prepared code's key
// (DECRYPT_FAILED beside a standing login, not SESSION_KEY_STALE).
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { createClient, isWxLoginError } = require('../wxlogin');
const { createFakeWx } = require('./fake-wx');
const { startLocalServer, startFakeApi, decodeJwtPayload } = require('./support');

const KEY = 'wxlogin.session';
const LEGACY = { errMsg: 'getPhoneNumber:ok', encryptedData: 'ZW5jcnlwdGVkZGF0YTEyMzQ1Ng==', iv: 'aXZpdml2aXZpdml2aXZpdg==' };

/** A stub wxlogin API: records every call and answers `answer(call, n)` → [status, body, headers?]. */
async function startStub(answer) {
  const calls = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const call = { path: req.url, auth: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') };
      calls.push(call);
      const [status, body, headers = {}] = answer(call, calls.length);
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    calls,
    to: (path) => calls.filter((c) => c.path === path),
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

const BOUND = {
  status: 'ok', access_token: 'a.bound.c', token_type: 'Bearer', expires_in: 7200, refresh_token: 'r-bound',
  refresh_expires_in: 2592000, user: { id: 'u_1', phone_bound: true, phone: '138****8000', created: true },
};
const UNBOUND = { ...BOUND, access_token: 'a.unbound.c', refresh_token: 'r-unbound', user: { id: 'u_2', phone_bound: false, created: true } };
const TAKEN = { status: 409, code: 'PHONE_TAKEN', message: 'This phone number belongs to another account.' };

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise) {
  const outcome = await promise.then((value) => ({ value }), (err) => ({ err }));
  assert.ok(outcome.err, `expected a rejection, got ${JSON.stringify(outcome.value)}`);
  return outcome.err;
}

let plCounter = 0;
function plUser(prefix) { plCounter += 1; return `${prefix}${plCounter}`; }

/** Lets setImmediate-scheduled work (the fake wx.login of a background prepareLogin()) run. */
const settle = () => new Promise((r) => setTimeout(r, 20));

/** Runs `fn` with Date.now() `ms` ahead (the module keeps its times with Date.now()). */
async function later(ms, fn) {
  const real = Date.now;
  Date.now = () => real() + ms;
  try { return await fn(); } finally { Date.now = real; }
}

describe('loginWithPhone() request shape (stub /auth/login)', () => {
  let stub;
  before(async () => {
    stub = await startStub((call) => {
      if (call.path !== '/auth/login') return [404, {}];
      if (call.body.phone_code === 'pc-taken') return [200, { ...UNBOUND, phone_error: TAKEN }];
      if (call.body.phone_code === 'pc-limited') {
        return [200, { ...UNBOUND, phone_error: { status: 429, code: 'RATE_LIMITED', message: 'Too many requests; try again later.', retry_after: 30 } }];
      }
      return [200, BOUND];
    });
  });
  after(async () => { if (stub) await stub.stop(); });

  it('new style: a fresh wx.login code and phone_code in one POST /auth/login, no token; the tokens are stored', async () => {
    const wx = createFakeWx({ user: 'plshape' });
    const client = createClient({ baseUrl: stub.url, wx });
    const before = stub.calls.length;

    const res = await client.loginWithPhone({ detail: { errMsg: 'getPhoneNumber:ok', code: 'pc-1' } });

    assert.deepEqual(res, { status: 'ok', user: BOUND.user, phoneError: null });
    assert.equal(wx.calls.login, 1);
    const calls = stub.calls.slice(before);
    assert.deepEqual(calls.map((c) => c.path), ['/auth/login'], 'one request, no /auth/phone');
    assert.match(calls[0].body.code, /^plshape-\d+$/);
    assert.deepEqual(Object.keys(calls[0].body).sort(), ['code', 'phone_code']);
    assert.equal(calls[0].body.phone_code, 'pc-1');
    assert.equal(calls[0].auth, undefined);
    const stored = wx.getStorageSync(KEY);
    assert.equal(stored.status, 'ok');
    assert.equal(stored.access_token, 'a.bound.c');
    assert.equal(stored.refresh_token, 'r-bound');
    assert.deepEqual(client.getUser(), BOUND.user);
  });

  it('sends the configured appid; a code and legacy data together send only the code', async () => {
    const wx = createFakeWx({ user: 'plappid' });
    const client = createClient({ baseUrl: stub.url, wx, appid: 'wxsomeapp00000000' });
    await client.loginWithPhone({ detail: { code: 'pc-2', encryptedData: 'ZW5j', iv: 'aXY=' } });
    const { body } = stub.to('/auth/login').at(-1);
    assert.deepEqual(Object.keys(body).sort(), ['appid', 'code', 'phone_code']);
    assert.equal(body.appid, 'wxsomeapp00000000');
    assert.equal(body.phone_code, 'pc-2');
  });

  it('legacy data goes with the code prepareLogin() obtained before the tap (no wx.login after it)', async () => {
    const wx = createFakeWx({ user: 'pllegacy' });
    const client = createClient({ baseUrl: stub.url, wx });
    const prep = await client.prepareLogin();
    assert.ok(prep.expiresIn > 230 && prep.expiresIn <= 240, `expiresIn ${prep.expiresIn}`);
    assert.equal(wx.calls.login, 1);
    assert.equal(stub.calls.filter((c) => c.body && /^pllegacy-/.test(c.body.code)).length, 0, 'preparing sends nothing');

    const res = await client.loginWithPhone({ detail: LEGACY });

    assert.equal(res.status, 'ok');
    assert.equal(res.phoneError, null);
    assert.equal(wx.calls.login, 1, 'the held code, no second wx.login');
    const { body } = stub.to('/auth/login').at(-1);
    assert.deepEqual(body, { code: `pllegacy-${/\d+$/.exec(body.code)[0]}`, encrypted_data: LEGACY.encryptedData, iv: LEGACY.iv });
    assert.equal(wx.getStorageSync(KEY).access_token, 'a.bound.c');

    // The code is spent: another legacy tap needs another prepared code.
    const err = await rejection(client.loginWithPhone({ detail: LEGACY }));
    assert.equal(err.code, 'NOT_PREPARED');
  });

  it('new style uses a held code too', async () => {
    const wx = createFakeWx({ user: plUser('plheld') });
    const client = createClient({ baseUrl: stub.url, wx });
    await client.prepareLogin();
    await client.loginWithPhone({ detail: { code: 'pc-3' } });
    assert.equal(wx.calls.login, 1);
    assert.equal(stub.to('/auth/login').at(-1).body.phone_code, 'pc-3');
  });

  it('legacy data without a prepared code is NOT_PREPARED: nothing sent, a code prepared, the next tap works', async () => {
    const wx = createFakeWx({ user: 'plunprep' });
    const client = createClient({ baseUrl: stub.url, wx });

    const err = await rejection(client.loginWithPhone({ detail: LEGACY }));

    assert.ok(isWxLoginError(err));
    assert.equal(err.code, 'NOT_PREPARED');
    assert.equal(err.status, 0);
    assert.match(err.message, /prepareLogin/);
    assert.equal(wx.calls.requests.length, 0);
    assert.equal(wx.getStorageSync(KEY), '');
    await settle();
    assert.equal(wx.calls.login, 1, 'a code was prepared for the next tap');

    await client.loginWithPhone({ detail: LEGACY });
    assert.equal(wx.calls.login, 1);
    assert.equal(wx.calls.requests.length, 1);
    assert.equal(stub.to('/auth/login').at(-1).body.encrypted_data, LEGACY.encryptedData);
  });

  it('a held code older than 4 minutes is not used', async () => {
    const wx = createFakeWx({ user: 'plold' });
    const client = createClient({ baseUrl: stub.url, wx });
    await client.prepareLogin();
    const err = await later(241_000, () => rejection(client.loginWithPhone({ detail: LEGACY })));
    assert.equal(err.code, 'NOT_PREPARED');
    assert.equal(wx.calls.requests.length, 0);
    await settle();
    assert.equal(wx.calls.login, 2, 'a new code was prepared for the next tap');
    // New style does not need a held code: past the new one's 4 minutes too, a fresh wx.login.
    await later(2 * 241_000, () => client.loginWithPhone({ detail: { code: 'pc-4' } }));
    assert.equal(wx.calls.login, 3);
    assert.equal(stub.to('/auth/login').at(-1).body.phone_code, 'pc-4');
  });

  it('a wx.login of the client’s own while a code is held replaces the held code', async () => {
    const wx = createFakeWx({ user: 'plrelogin' });
    const client = createClient({ baseUrl: stub.url, wx });
    await client.prepareLogin();
    await client.login(); // its wx.login may have changed WeChat's session_key
    const exchanged = stub.to('/auth/login').at(-1).body.code;
    await settle();
    assert.equal(wx.calls.login, 3, 'prepare, login, prepare again');

    await client.loginWithPhone({ detail: LEGACY });

    assert.equal(wx.calls.login, 3);
    const sent = stub.to('/auth/login').at(-1).body.code;
    assert.notEqual(sent, exchanged);
    assert.match(sent, /^plrelogin-\d+$/);
    assert.ok(Number(sent.split('-')[1]) > Number(exchanged.split('-')[1]), 'the newest code');
  });

  it('a refused prompt is PHONE_DENIED: nothing sent, no wx.login, the held code kept', async () => {
    const wx = createFakeWx({ user: 'pldeny' });
    const client = createClient({ baseUrl: stub.url, wx });
    const err = await rejection(client.loginWithPhone({ detail: { errMsg: 'getPhoneNumber:fail user deny' } }));
    assert.equal(err.code, 'PHONE_DENIED');
    assert.equal(err.status, 0);
    assert.match(err.message, /user deny/);
    assert.equal(wx.calls.login, 0);
    assert.equal(wx.calls.requests.length, 0);
    assert.equal((await rejection(client.loginWithPhone({}))).code, 'PHONE_DENIED');

    await client.prepareLogin();
    await rejection(client.loginWithPhone({ detail: { errMsg: 'getPhoneNumber:fail user deny' } }));
    await client.loginWithPhone({ detail: LEGACY });
    assert.equal(wx.calls.login, 1, 'the refusal left the held code for the next tap');
    assert.equal(wx.calls.requests.length, 1);
  });

  it('phone_error beside the login: resolves with the session stored and phoneError as an error object', async () => {
    const wx = createFakeWx({ user: 'pltaken' });
    const client = createClient({ baseUrl: stub.url, wx });

    const res = await client.loginWithPhone({ detail: { code: 'pc-taken' } });

    assert.equal(res.status, 'ok');
    assert.deepEqual(res.user, UNBOUND.user);
    assert.ok(isWxLoginError(res.phoneError));
    assert.ok(res.phoneError instanceof Error);
    assert.equal(res.phoneError.code, 'PHONE_TAKEN');
    assert.equal(res.phoneError.status, 409);
    assert.equal(res.phoneError.message, TAKEN.message);
    assert.equal(res.phoneError.retryAfter, undefined);
    assert.deepEqual(res.phoneError.data, TAKEN);
    assert.equal(wx.getStorageSync(KEY).access_token, 'a.unbound.c', 'the login stands');

    const limited = await client.loginWithPhone({ detail: { code: 'pc-limited' } });
    assert.equal(limited.phoneError.code, 'RATE_LIMITED');
    assert.equal(limited.phoneError.status, 429);
    assert.equal(limited.phoneError.retryAfter, 30);
  });

  it('concurrent callers wait for it: no second wx.login, they get its session', async () => {
    const wx = createFakeWx({ user: 'pltogether' });
    const client = createClient({ baseUrl: stub.url, wx });
    const [res, login] = await Promise.all([client.loginWithPhone({ detail: { code: 'pc-5' } }), client.login()]);
    assert.equal(wx.calls.login, 1);
    assert.equal(wx.calls.requests.length, 1);
    assert.deepEqual(login, { status: 'ok', user: res.user });
  });
});

describe('loginWithPhone() errors and phone_required (stub server)', () => {
  it('phone_required with a refused proof keeps the bind token, and bindPhone() retries with it', async () => {
    const stub = await startStub((call) => {
      if (call.path === '/auth/login') {
        return [200, { status: 'phone_required', bind_token: 'bind.tok.en', expires_in: 600, phone_error: { status: 401, code: 'INVALID_CODE', message: 'm' } }];
      }
      if (call.path === '/auth/phone') return [200, BOUND];
      return [404, {}];
    });
    try {
      const wx = createFakeWx({ user: 'plbind' });
      const client = createClient({ baseUrl: stub.url, wx });

      const res = await client.loginWithPhone({ detail: { code: 'pc-bad' } });

      assert.equal(res.status, 'phone_required');
      assert.equal(res.user, null);
      assert.equal(res.phoneError.code, 'INVALID_CODE');
      assert.equal(res.phoneError.status, 401);
      const stored = wx.getStorageSync(KEY);
      assert.equal(stored.status, 'phone_required');
      assert.equal(stored.bind_token, 'bind.tok.en');
      assert.ok(stored.bind_expires_at > Date.now() + 590_000);
      assert.equal(client.getUser(), null);
      assert.deepEqual(await client.login(), { status: 'phone_required' }, 'login() sees the bind token');

      const bound = await client.bindPhone({ detail: { code: 'pc-good' } });

      assert.equal(bound.status, 'ok');
      assert.deepEqual(stub.to('/auth/phone').map((c) => [c.auth, c.body]), [['Bearer bind.tok.en', { code: 'pc-good' }]]);
      assert.equal(wx.getStorageSync(KEY).access_token, 'a.bound.c');
      assert.equal(wx.calls.login, 1);
    } finally {
      await stub.stop();
    }
  });

  it('a refused login rejects like login() and keeps the session; after legacy data a new code is prepared', async () => {
    const stub = await startStub((call) => (call.path === '/auth/login'
      ? [401, { error: { code: 'INVALID_CODE', message: 'The login code is invalid, expired or already used; call wx.login again.', request_id: 'stub-pl' } }]
      : [404, {}]));
    try {
      const wx = createFakeWx({ user: 'plrefused' });
      const stored = {
        status: 'ok', access_token: 'access.tok.en', access_ttl: 7200, access_expires_at: Date.now() + 7_000_000,
        refresh_token: 'r0', refresh_expires_at: Date.now() + 86_400_000, user: { id: 'u_9', phone_bound: false, created: false },
      };
      wx.setStorageSync(KEY, stored);
      const client = createClient({ baseUrl: stub.url, wx });

      const err = await rejection(client.loginWithPhone({ detail: { code: 'pc' } }));
      assert.equal(err.code, 'INVALID_CODE');
      assert.equal(err.status, 401);
      assert.equal(err.requestId, 'stub-pl');
      assert.deepEqual(wx.getStorageSync(KEY), stored);
      assert.equal(wx.calls.login, 1);

      await client.prepareLogin();
      const legacyErr = await rejection(client.loginWithPhone({ detail: LEGACY }));
      assert.equal(legacyErr.code, 'INVALID_CODE');
      await settle();
      assert.equal(wx.calls.login, 3, 'a fresh code is held for the next tap');
      assert.deepEqual(wx.getStorageSync(KEY), stored);
    } finally {
      await stub.stop();
    }
  });

  it('a 2xx body it does not understand is BAD_RESPONSE', async () => {
    const stub = await startStub(() => [200, { status: 'weird' }]);
    try {
      const wx = createFakeWx({ user: 'plweird' });
      const err = await rejection(createClient({ baseUrl: stub.url, wx }).loginWithPhone({ detail: { code: 'pc' } }));
      assert.equal(err.code, 'BAD_RESPONSE');
      assert.equal(wx.getStorageSync(KEY), '');
    } finally {
      await stub.stop();
    }
  });
});

// The local fake WeChat reads a phone code's leading 11 digits as the number it proves, and
// accepts each unknown code once.
let codes = 0;
const phoneCode = (phone) => { codes += 1; return `${phone}-${Date.now()}-${codes}`; };
const masked = (phone) => `${phone.slice(0, 3)}****${phone.slice(-4)}`;
let users = 0;
const freshWx = (prefix) => { users += 1; return createFakeWx({ user: `${prefix}${users}` }); };

describe('loginWithPhone() against the real server (SIGNUP_MODE=openid)', () => {
  let server;
  before(async () => { server = await startLocalServer(); });
  after(async () => { if (server) await server.stop(); });

  it('new style: one request signs up and binds (created, phone_bound), and the session works', async () => {
    const wx = freshWx('rpnew');
    const client = createClient({ baseUrl: server.url, wx });

    const res = await client.loginWithPhone({ detail: { errMsg: 'getPhoneNumber:ok', code: phoneCode('13900140001') } });

    assert.equal(res.status, 'ok');
    assert.equal(res.phoneError, null);
    assert.equal(res.user.created, true);
    assert.equal(res.user.phone_bound, true);
    assert.equal(res.user.phone, masked('13900140001'));
    assert.equal(wx.calls.login, 1);
    assert.deepEqual(wx.calls.requests.map((r) => new URL(r.url).pathname), ['/auth/login'], 'one request');
    const stored = wx.getStorageSync(KEY);
    assert.equal(decodeJwtPayload(stored.access_token).sub, res.user.id);
    assert.equal(decodeJwtPayload(stored.access_token).phone_bound, true);
    assert.deepEqual(client.getUser(), res.user);
    const profile = await client.getProfile();
    assert.equal(profile.id, res.user.id);
    assert.equal(profile.phone, masked('13900140001'));
    assert.equal(wx.requestsTo('/auth/refresh').length, 0);
  });

  it('a number another account owns: PHONE_TAKEN beside a standing login; bindPhone() then binds another', async () => {
    const owner = createClient({ baseUrl: server.url, wx: freshWx('rpowner') });
    assert.equal((await owner.loginWithPhone({ detail: { code: phoneCode('13900140011') } })).user.phone_bound, true);
    const wx = freshWx('rptaker');
    const client = createClient({ baseUrl: server.url, wx });

    const res = await client.loginWithPhone({ detail: { code: phoneCode('13900140011') } });

    assert.equal(res.status, 'ok');
    assert.equal(res.user.created, true);
    assert.equal(res.user.phone_bound, false);
    assert.ok(isWxLoginError(res.phoneError));
    assert.equal(res.phoneError.code, 'PHONE_TAKEN');
    assert.equal(res.phoneError.status, 409);
    assert.match(res.phoneError.message, /another account/);
    const profile = await client.getProfile();
    assert.equal(profile.id, res.user.id, 'the login stands');
    assert.equal(profile.phone_bound, false);
    assert.equal((await owner.getProfile()).phone, masked('13900140011'));

    const bound = await client.bindPhone({ detail: { code: phoneCode('13900140012') } });
    assert.equal(bound.user.id, res.user.id);
    assert.equal(bound.user.phone, masked('13900140012'));
  });

  it('a user whose phone is bound spends nothing: the proof is ignored and stays usable', async () => {
    const wx = freshWx('rpbound');
    const client = createClient({ baseUrl: server.url, wx });
    const first = await client.loginWithPhone({ detail: { code: phoneCode('13900140021') } });
    const unused = phoneCode('13900140022');

    const again = await client.loginWithPhone({ detail: { code: unused } });

    assert.equal(again.status, 'ok');
    assert.equal(again.phoneError, null);
    assert.equal(again.user.id, first.user.id);
    assert.equal(again.user.created, false);
    assert.equal(again.user.phone, masked('13900140021'), 'the bound number stays');
    assert.equal(wx.calls.login, 2, 'a new login each time');
    // The code was not spent: another user binds with it (a spent code would be INVALID_CODE).
    const other = createClient({ baseUrl: server.url, wx: freshWx('rpother') });
    const taken = await other.bindPhone({ detail: { code: unused } });
    assert.equal(taken.user.phone, masked('13900140022'));
  });

  it('legacy data goes with the prepared code: the server opens it under that code’s session_key', async () => {
    const wx = freshWx('rplegacy');
    const client = createClient({ baseUrl: server.url, wx });
    await client.prepareLogin();

    // Undecryptable data (the fake WeChat's keys are not published): DECRYPT_FAILED, not
    // SESSION_KEY_STALE, since the key it tried is WeChat's current one for this user.
    const res = await client.loginWithPhone({ detail: LEGACY });

    assert.equal(res.status, 'ok');
    assert.equal(res.user.created, true);
    assert.equal(res.user.phone_bound, false);
    assert.equal(res.phoneError.code, 'DECRYPT_FAILED');
    assert.equal(res.phoneError.status, 400);
    assert.equal(wx.calls.login, 1, 'no wx.login after the tap');
    const call = wx.requestsTo('/auth/login')[0];
    assert.deepEqual(Object.keys(call.data).sort(), ['code', 'encrypted_data', 'iv']);
    assert.equal(call.data.encrypted_data, LEGACY.encryptedData);
    assert.equal(call.data.iv, LEGACY.iv);
    assert.equal(wx.getStorageSync(KEY).status, 'ok');
    // The retry path: bindPhone() with the stored session, under the same (current) key.
    const err = await rejection(client.bindPhone({ detail: LEGACY }));
    assert.equal(err.code, 'DECRYPT_FAILED');
    assert.equal(wx.calls.login, 1);
    // A new-style tap then binds.
    assert.equal((await client.bindPhone({ detail: { code: phoneCode('13900140031') } })).user.phone_bound, true);
  });

  it('a refused prompt sends nothing', async () => {
    const wx = freshWx('rpdeny');
    const err = await rejection(createClient({ baseUrl: server.url, wx }).loginWithPhone({ detail: { errMsg: 'getPhoneNumber:fail user deny' } }));
    assert.equal(err.code, 'PHONE_DENIED');
    assert.equal(wx.calls.login, 0);
    assert.equal(wx.calls.requests.length, 0);
    assert.equal(wx.getStorageSync(KEY), '');
  });
});

describe('loginWithPhone() against the real server (SIGNUP_MODE=phone)', () => {
  let server;
  let api;
  before(async () => {
    [server, api] = await Promise.all([startLocalServer({ SIGNUP_MODE: 'phone' }), startFakeApi()]);
  });
  after(async () => { await Promise.all([server && server.stop(), api && api.stop()]); });

  it('a new WeChat user is signed up with the phone in one request (no phone_required step)', async () => {
    const wx = freshWx('ppnew');
    const client = createClient({ baseUrl: server.url, wx });

    const res = await client.loginWithPhone({ detail: { code: phoneCode('13900140101') } });

    assert.equal(res.status, 'ok');
    assert.equal(res.phoneError, null);
    assert.equal(res.user.created, true);
    assert.equal(res.user.phone_bound, true);
    assert.equal(res.user.phone, masked('13900140101'));
    assert.equal(wx.calls.requests.length, 1);
    const api1 = await client.request({ url: `${api.url}/api/profile` });
    assert.equal(api1.data.sub, res.user.id);
  });

  it('a refused proof answers phone_required: the bind token is kept and bindPhone() makes the account', async () => {
    await createClient({ baseUrl: server.url, wx: freshWx('ppowner') }).loginWithPhone({ detail: { code: phoneCode('13900140111') } });
    const wx = freshWx('pptaker');
    const client = createClient({ baseUrl: server.url, wx });

    const res = await client.loginWithPhone({ detail: { code: phoneCode('13900140111') } });

    assert.equal(res.status, 'phone_required');
    assert.equal(res.user, null);
    assert.equal(res.phoneError.code, 'PHONE_TAKEN');
    assert.equal(res.phoneError.status, 409);
    const stored = wx.getStorageSync(KEY);
    assert.equal(stored.status, 'phone_required');
    assert.equal(typeof stored.bind_token, 'string');
    const sent = wx.calls.requests.length;
    assert.equal((await rejection(client.request({ url: `${api.url}/api/profile` }))).code, 'PHONE_REQUIRED');
    assert.equal(wx.calls.requests.length, sent);

    const bound = await client.bindPhone({ detail: { code: phoneCode('13900140112') } });

    assert.equal(bound.status, 'ok');
    assert.equal(bound.user.phone, masked('13900140112'));
    assert.equal(wx.requestsTo('/auth/phone')[0].header.authorization, `Bearer ${stored.bind_token}`);
    assert.equal(wx.calls.login, 1, 'no second wx.login');
  });

  it('legacy data with the prepared code: DECRYPT_FAILED beside phone_required', async () => {
    const wx = freshWx('pplegacy');
    const client = createClient({ baseUrl: server.url, wx });
    await client.prepareLogin();
    const res = await client.loginWithPhone({ detail: LEGACY });
    assert.equal(res.status, 'phone_required');
    assert.equal(res.phoneError.code, 'DECRYPT_FAILED');
    assert.equal(wx.calls.login, 1);
    assert.equal(wx.getStorageSync(KEY).status, 'phone_required');
  });
});

describe('loginWithPhone() against the real server (LIMIT_PHONE_PER_USER=1/1d)', () => {
  let server;
  before(async () => { server = await startLocalServer({ LIMIT_PHONE_PER_USER: '1/1d' }); });
  after(async () => { if (server) await server.stop(); });

  it('a refused paid call beside the login is RATE_LIMITED with retryAfter', async () => {
    await createClient({ baseUrl: server.url, wx: freshWx('rlowner') }).loginWithPhone({ detail: { code: phoneCode('13900140201') } });
    const client = createClient({ baseUrl: server.url, wx: freshWx('rlmany') });
    const taken = await client.loginWithPhone({ detail: { code: phoneCode('13900140201') } });
    assert.equal(taken.phoneError.code, 'PHONE_TAKEN');

    const res = await client.loginWithPhone({ detail: { code: phoneCode('13900140202') } });

    assert.equal(res.status, 'ok');
    assert.equal(res.user.created, false);
    assert.equal(res.phoneError.code, 'RATE_LIMITED');
    assert.equal(res.phoneError.status, 429);
    assert.equal(typeof res.phoneError.retryAfter, 'number');
    assert.ok(res.phoneError.retryAfter >= 1, `retryAfter ${res.phoneError.retryAfter}`);
  });
});
