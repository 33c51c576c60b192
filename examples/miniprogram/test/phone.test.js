// bindPhone(), changePhone() and the phone signup mode (SIGNUP_MODE=phone → "phone_required" +
// bind token).
// Tests that need the server's POST /auth/phone skip themselves until the route is served; the
// request-shape tests use a stub /auth/phone that records what the client sends and assume
// nothing about the server's binding rules.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { createClient } = require('../wxlogin');
const { createFakeWx } = require('./fake-wx');
const { startLocalServer, startFakeApi, decodeJwtPayload, serves } = require('./support');

const KEY = 'wxlogin.session';
/** The codes a bind may legitimately answer with (DESIGN §6). */
const BIND_ERRORS = ['INVALID_CODE', 'DECRYPT_FAILED', 'SESSION_KEY_STALE', 'PHONE_TAKEN', 'PHONE_ALREADY_BOUND', 'INVALID_REQUEST'];

/** A stub wxlogin API: /auth/phone records the call and answers `answer(call)`. */
async function startStub(answer) {
  const calls = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const call = { path: req.url, auth: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') };
      calls.push(call);
      const [status, body] = answer(call, calls.length);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    calls,
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

const TOKENS = {
  status: 'ok', access_token: 'a.b.c', token_type: 'Bearer', expires_in: 7200, refresh_token: 'r1',
  refresh_expires_in: 2592000, user: { id: 'u_1', phone_bound: true, phone: '138****8000', created: false },
};

describe('bindPhone() request shape (stub /auth/phone)', () => {
  let stub;
  before(async () => {
    stub = await startStub((call) => (call.path === '/auth/phone' ? [200, TOKENS] : [404, {}]));
  });
  after(async () => { if (stub) await stub.stop(); });

  function loggedIn() {
    const wx = createFakeWx({ user: 'shape' });
    wx.setStorageSync(KEY, {
      status: 'ok', access_token: 'access.tok.en', access_ttl: 7200, access_expires_at: Date.now() + 7_000_000,
      refresh_token: 'r0', refresh_expires_at: Date.now() + 86_400_000, user: { id: 'u_1', phone_bound: false, created: false },
    });
    wx.sessionAlive = true;
    return { wx, client: createClient({ baseUrl: stub.url, wx }) };
  }

  it('sends the new-style code with the access token', async () => {
    const { wx, client } = loggedIn();
    const res = await client.bindPhone({ detail: { errMsg: 'getPhoneNumber:ok', code: 'pc-1' } });
    const call = stub.calls.at(-1);
    assert.deepEqual(call.body, { code: 'pc-1' });
    assert.equal(call.auth, 'Bearer access.tok.en');
    assert.equal(res.status, 'ok');
    assert.equal(res.user.phone_bound, true);
    assert.equal(wx.getStorageSync(KEY).access_token, 'a.b.c', 'the answer’s tokens are stored');
    assert.equal(client.getUser().phone, '138****8000');
  });

  it('falls back to the legacy encryptedData + iv', async () => {
    const { client } = loggedIn();
    await client.bindPhone({ detail: { errMsg: 'getPhoneNumber:ok', encryptedData: 'ZW5j', iv: 'aXY=' } });
    assert.deepEqual(stub.calls.at(-1).body, { encrypted_data: 'ZW5j', iv: 'aXY=' });
  });

  it('prefers the code when both are present', async () => {
    const { client } = loggedIn();
    await client.bindPhone({ detail: { code: 'pc-2', encryptedData: 'ZW5j', iv: 'aXY=' } });
    assert.deepEqual(stub.calls.at(-1).body, { code: 'pc-2' });
  });

  it('a refused prompt is PHONE_DENIED and sends nothing', async () => {
    const { wx, client } = loggedIn();
    const err = await client.bindPhone({ detail: { errMsg: 'getPhoneNumber:fail user deny' } }).then(() => null, (e) => e);
    assert.equal(err.code, 'PHONE_DENIED');
    assert.equal(err.status, 0);
    assert.match(err.message, /user deny/);
    assert.equal(wx.calls.requests.length, 0);
  });

  it('uses the bind token when the session is phone_required', async () => {
    const wx = createFakeWx({ user: 'shape-bind' });
    wx.setStorageSync(KEY, { status: 'phone_required', bind_token: 'bind.tok.en', bind_expires_at: Date.now() + 600_000 });
    const client = createClient({ baseUrl: stub.url, wx });
    const res = await client.bindPhone({ detail: { code: 'pc-3' } });
    assert.equal(stub.calls.at(-1).auth, 'Bearer bind.tok.en');
    assert.equal(res.status, 'ok');
    assert.equal(wx.getStorageSync(KEY).status, 'ok', 'the bind answer becomes the session');
  });
});

describe('bindPhone() error handling (stub /auth/phone)', () => {
  it('SESSION_KEY_STALE is reported after a fresh wx.login', async () => {
    let logins = 0;
    const stub = await startStub((call) => {
      if (call.path === '/auth/login') { logins += 1; return [200, TOKENS]; }
      return [401, { error: { code: 'SESSION_KEY_STALE', message: 'The WeChat session expired; call wx.login and try again.', request_id: 'stub-1' } }];
    });
    try {
      const wx = createFakeWx({ user: 'stalekey' });
      const client = createClient({ baseUrl: stub.url, wx });
      await client.login();
      const err = await client.bindPhone({ detail: { encryptedData: 'ZW5j', iv: 'aXY=' } }).then(() => null, (e) => e);
      assert.equal(err.code, 'SESSION_KEY_STALE');
      assert.equal(err.status, 401);
      assert.equal(err.requestId, 'stub-1');
      assert.equal(wx.calls.login, 2, 'wx.login ran again so that the next tap works');
      assert.equal(logins, 2);
      assert.equal(stub.calls.filter((c) => c.path === '/auth/phone').length, 1, 'no blind retry');
      assert.equal(stub.calls.filter((c) => c.path === '/auth/refresh').length, 0, 'not mistaken for an expired token');
    } finally {
      await stub.stop();
    }
  });

  for (const [status, code] of [[409, 'PHONE_TAKEN'], [409, 'PHONE_ALREADY_BOUND'], [400, 'DECRYPT_FAILED']]) {
    it(`${code} is surfaced with its status and keeps the session`, async () => {
      const stub = await startStub((call) => (call.path === '/auth/login'
        ? [200, TOKENS]
        : [status, { error: { code, message: 'm', request_id: 'stub-2' } }]));
      try {
        const wx = createFakeWx({ user: `e${status}` });
        const client = createClient({ baseUrl: stub.url, wx });
        await client.login();
        const before = wx.getStorageSync(KEY);
        const err = await client.bindPhone({ detail: { code: 'pc' } }).then(() => null, (e) => e);
        assert.equal(err.code, code);
        assert.equal(err.status, status);
        assert.deepEqual(wx.getStorageSync(KEY), before);
      } finally {
        await stub.stop();
      }
    });
  }
});

describe('phone signup mode (SIGNUP_MODE=phone, real server)', () => {
  let server;
  let api;
  before(async () => {
    [server, api] = await Promise.all([startLocalServer({ SIGNUP_MODE: 'phone' }), startFakeApi()]);
  });
  after(async () => { await Promise.all([server && server.stop(), api && api.stop()]); });

  it('a new WeChat user gets phone_required and the bind token is kept', async () => {
    const wx = createFakeWx({ user: 'newbie' });
    const client = createClient({ baseUrl: server.url, wx });

    const res = await client.login();

    assert.deepEqual(res, { status: 'phone_required' });
    const stored = wx.getStorageSync(KEY);
    assert.equal(stored.status, 'phone_required');
    assert.equal(decodeJwtPayload(stored.bind_token).token_use, 'bind');
    assert.ok(stored.bind_expires_at > Date.now() + 500_000);
    assert.equal(client.getUser(), null);
  });

  it('request() says PHONE_REQUIRED and sends nothing', async () => {
    const wx = createFakeWx({ user: 'newbie2' });
    const client = createClient({ baseUrl: server.url, wx });
    await client.login();
    const sent = wx.calls.requests.length;

    const err = await client.request({ url: `${api.url}/api/profile` }).then(() => null, (e) => e);

    assert.equal(err.code, 'PHONE_REQUIRED');
    assert.equal(err.status, 0);
    assert.equal(wx.calls.requests.length, sent);
  });

  it('a restarted app keeps a still-valid bind token without wx.login', async () => {
    const wx = createFakeWx({ user: 'newbie3' });
    await createClient({ baseUrl: server.url, wx }).login();
    const res = await createClient({ baseUrl: server.url, wx }).login();
    assert.deepEqual(res, { status: 'phone_required' });
    assert.equal(wx.calls.login, 1);
  });

  it('an expired bind token means a new wx.login', async () => {
    const wx = createFakeWx({ user: 'newbie4' });
    const client = createClient({ baseUrl: server.url, wx });
    await client.login();
    wx.setStorageSync(KEY, { ...wx.getStorageSync(KEY), bind_expires_at: Date.now() });
    await client.login();
    assert.equal(wx.calls.login, 2);
  });

  it('binding with the bind token against the real /auth/phone', async (t) => {
    if (!(await serves(server.url, 'POST', '/auth/phone'))) return t.skip('route not served yet');
    const wx = createFakeWx({ user: 'binder' });
    const client = createClient({ baseUrl: server.url, wx });
    await client.login();
    const res = await client.bindPhone({ detail: { code: `phone-${Date.now()}` } }).then((r) => r, (e) => e);
    assertBindOutcome(wx, res);
    if (!(res instanceof Error)) {
      assert.equal(wx.requestsTo('/auth/phone')[0].header.authorization.startsWith('Bearer '), true);
      assert.equal(wx.getStorageSync(KEY).status, 'ok', 'the account exists now');
    }
  });
});

describe('bindPhone() against the real server (SIGNUP_MODE=openid)', () => {
  let server;
  before(async () => { server = await startLocalServer(); });
  after(async () => { if (server) await server.stop(); });

  it('binds with the access token', async (t) => {
    if (!(await serves(server.url, 'POST', '/auth/phone'))) return t.skip('route not served yet');
    const wx = createFakeWx({ user: 'phoneuser' });
    const client = createClient({ baseUrl: server.url, wx });
    await client.login();
    const res = await client.bindPhone({ detail: { code: `phone-${Date.now()}` } }).then((r) => r, (e) => e);
    assertBindOutcome(wx, res);
  });
});

const CHANGED = {
  status: 'ok', access_token: 'a.changed.c', token_type: 'Bearer', expires_in: 7200, refresh_token: 'r-changed',
  refresh_expires_in: 2592000, user: { id: 'u_1', phone_bound: true, phone: '139****0002', created: false },
};

/** A client whose stored session (bound phone 138****8000) holds `access.tok.en`. */
function changeClient(url, user) {
  const wx = createFakeWx({ user });
  wx.setStorageSync(KEY, {
    status: 'ok', access_token: 'access.tok.en', access_ttl: 7200, access_expires_at: Date.now() + 7_000_000,
    refresh_token: 'r0', refresh_expires_at: Date.now() + 86_400_000,
    user: { id: 'u_1', phone_bound: true, phone: '138****8000', created: false },
  });
  wx.sessionAlive = true;
  return { wx, client: createClient({ baseUrl: url, wx }) };
}

describe('changePhone() request shape (stub /auth/phone/change)', () => {
  let stub;
  before(async () => {
    stub = await startStub((call) => (call.path === '/auth/phone/change' ? [200, CHANGED] : [404, {}]));
  });
  after(async () => { if (stub) await stub.stop(); });

  it('posts the new-style code with the access token and stores the answer’s tokens', async () => {
    const { wx, client } = changeClient(stub.url, 'chg-shape');
    const res = await client.changePhone({ detail: { errMsg: 'getPhoneNumber:ok', code: 'pc-1' } });
    const call = stub.calls.at(-1);
    assert.equal(call.path, '/auth/phone/change');
    assert.deepEqual(call.body, { code: 'pc-1' });
    assert.equal(call.auth, 'Bearer access.tok.en');
    assert.deepEqual(res, { status: 'ok', user: CHANGED.user });
    const stored = wx.getStorageSync(KEY);
    assert.equal(stored.access_token, 'a.changed.c', 'the restarted session is stored');
    assert.equal(stored.refresh_token, 'r-changed');
    assert.equal(client.getUser().phone, '139****0002');
    assert.equal(wx.calls.login, 0);
  });

  it('falls back to the legacy encryptedData + iv; a bare detail works too', async () => {
    const { client } = changeClient(stub.url, 'chg-legacy');
    await client.changePhone({ detail: { errMsg: 'getPhoneNumber:ok', encryptedData: 'ZW5j', iv: 'aXY=' } });
    assert.deepEqual(stub.calls.at(-1).body, { encrypted_data: 'ZW5j', iv: 'aXY=' });
    await client.changePhone({ code: 'pc-2' });
    assert.deepEqual(stub.calls.at(-1).body, { code: 'pc-2' });
  });

  it('an SMS proof { phone, smsCode } is posted as { phone, sms_code }', async () => {
    const { wx, client } = changeClient(stub.url, 'chg-sms');
    const res = await client.changePhone({ phone: 13900130002, smsCode: '123456' });
    const call = stub.calls.at(-1);
    assert.equal(call.path, '/auth/phone/change');
    assert.deepEqual(call.body, { phone: '13900130002', sms_code: '123456' });
    assert.equal(call.auth, 'Bearer access.tok.en');
    assert.equal(res.user.phone, '139****0002');
    assert.equal(wx.getStorageSync(KEY).access_token, 'a.changed.c');
  });

  it('a refused prompt is PHONE_DENIED and sends nothing', async () => {
    const { wx, client } = changeClient(stub.url, 'chg-deny');
    const before = wx.getStorageSync(KEY);
    const err = await client.changePhone({ detail: { errMsg: 'getPhoneNumber:fail user deny' } }).then(() => null, (e) => e);
    assert.equal(err.code, 'PHONE_DENIED');
    assert.equal(err.status, 0);
    assert.match(err.message, /user deny/);
    assert.equal(wx.calls.requests.length, 0);
    assert.deepEqual(wx.getStorageSync(KEY), before);
  });

  it('a phone_required session is PHONE_REQUIRED on the device (the bind token is not sent)', async () => {
    const wx = createFakeWx({ user: 'chg-bind' });
    const stored = { status: 'phone_required', bind_token: 'bind.tok.en', bind_expires_at: Date.now() + 600_000 };
    wx.setStorageSync(KEY, stored);
    const client = createClient({ baseUrl: stub.url, wx });
    const err = await client.changePhone({ detail: { code: 'pc-3' } }).then(() => null, (e) => e);
    assert.equal(err.code, 'PHONE_REQUIRED');
    assert.equal(err.status, 0);
    assert.equal(wx.calls.requests.length, 0);
    assert.deepEqual(wx.getStorageSync(KEY), stored);
  });
});

describe('changePhone() token handling and errors (stub server)', () => {
  it('a refused access token is refreshed once and the change retried with the new one', async () => {
    const stub = await startStub((call) => {
      if (call.path === '/auth/refresh') return [200, { ...TOKENS, access_token: 'fresh.tok.en', refresh_token: 'r2' }];
      if (call.auth === 'Bearer fresh.tok.en') return [200, CHANGED];
      return [401, { error: { code: 'UNAUTHORIZED', message: 'Missing, expired or invalid token.', request_id: 'stub-3' } }];
    });
    try {
      const { wx, client } = changeClient(stub.url, 'chg-refresh');
      const res = await client.changePhone({ detail: { code: 'pc-4' } });
      assert.equal(res.user.phone, '139****0002');
      assert.deepEqual(stub.calls.map((c) => [c.path, c.auth]), [
        ['/auth/phone/change', 'Bearer access.tok.en'],
        ['/auth/refresh', undefined],
        ['/auth/phone/change', 'Bearer fresh.tok.en'],
      ]);
      assert.deepEqual(stub.calls[2].body, { code: 'pc-4' });
      assert.equal(wx.getStorageSync(KEY).access_token, 'a.changed.c', 'the change’s tokens, not the refresh’s');
      assert.equal(wx.calls.login, 0);
    } finally {
      await stub.stop();
    }
  });

  it('SESSION_KEY_STALE is reported after a fresh wx.login', async () => {
    let logins = 0;
    const stub = await startStub((call) => {
      if (call.path === '/auth/login') { logins += 1; return [200, TOKENS]; }
      return [401, { error: { code: 'SESSION_KEY_STALE', message: 'The WeChat session expired; call wx.login and try again.', request_id: 'stub-4' } }];
    });
    try {
      const { wx, client } = changeClient(stub.url, 'chg-stale');
      const err = await client.changePhone({ detail: { encryptedData: 'ZW5j', iv: 'aXY=' } }).then(() => null, (e) => e);
      assert.equal(err.code, 'SESSION_KEY_STALE');
      assert.equal(err.status, 401);
      assert.equal(err.requestId, 'stub-4');
      assert.equal(wx.calls.login, 1, 'wx.login ran so that the next tap works');
      assert.equal(logins, 1);
      assert.equal(stub.calls.filter((c) => c.path === '/auth/phone/change').length, 1, 'no blind retry');
      assert.equal(stub.calls.filter((c) => c.path === '/auth/refresh').length, 0, 'not mistaken for an expired token');
    } finally {
      await stub.stop();
    }
  });

  for (const [status, code] of [[409, 'PHONE_TAKEN'], [403, 'PHONE_REQUIRED'], [401, 'INVALID_CODE'], [400, 'DECRYPT_FAILED'], [400, 'INVALID_REQUEST']]) {
    it(`${code} is surfaced with its status and keeps the session`, async () => {
      const stub = await startStub(() => [status, { error: { code, message: 'm', request_id: 'stub-5' } }]);
      try {
        const { wx, client } = changeClient(stub.url, `chg-e${status}`);
        const before = wx.getStorageSync(KEY);
        const err = await client.changePhone({ detail: { code: 'pc' } }).then(() => null, (e) => e);
        assert.equal(err.code, code);
        assert.equal(err.status, status);
        assert.equal(err.requestId, 'stub-5');
        assert.deepEqual(stub.calls.map((c) => c.path), ['/auth/phone/change'], 'no refresh, no retry');
        assert.deepEqual(wx.getStorageSync(KEY), before);
        assert.equal(client.getUser().phone, '138****8000');
      } finally {
        await stub.stop();
      }
    });
  }
});

describe('changePhone() against the real server (SIGNUP_MODE=openid)', () => {
  let server;
  before(async () => { server = await startLocalServer(); });
  after(async () => { if (server) await server.stop(); });

  // The local fake WeChat reads a phone code's leading 11 digits as the number it proves.
  let codes = 0;
  const phoneCode = (phone) => { codes += 1; return `${phone}-${Date.now()}-${codes}`; };
  const masked = (phone) => `${phone.slice(0, 3)}****${phone.slice(-4)}`;
  const refreshStatus = async (refreshToken) => (await fetch(`${server.url}/auth/refresh`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: refreshToken }),
  })).status;

  it('moves the account to the new number, stores the new tokens, ends the other sessions', async () => {
    const wx = createFakeWx({ user: 'changer' });
    const client = createClient({ baseUrl: server.url, wx });
    const bound = await client.bindPhone({ detail: { code: phoneCode('13900139001') } });
    assert.equal(bound.user.phone, masked('13900139001'));
    // The same WeChat user on a second device: a second session of the same account.
    const otherWx = createFakeWx({ user: 'changer' });
    const other = createClient({ baseUrl: server.url, wx: otherWx });
    assert.equal((await other.login()).user.id, bound.user.id);
    const before = wx.getStorageSync(KEY);

    const res = await client.changePhone({ detail: { errMsg: 'getPhoneNumber:ok', code: phoneCode('13900139002') } });

    assert.equal(res.status, 'ok');
    assert.equal(res.user.id, bound.user.id);
    assert.equal(res.user.phone_bound, true);
    assert.equal(res.user.phone, masked('13900139002'));
    const call = wx.requestsTo('/auth/phone/change')[0];
    assert.equal(call.header.authorization, `Bearer ${before.access_token}`);
    const stored = wx.getStorageSync(KEY);
    assert.notEqual(stored.access_token, before.access_token);
    assert.notEqual(stored.refresh_token, before.refresh_token, 'the restarted session is stored');
    assert.equal(client.getUser().phone, masked('13900139002'));
    assert.equal(await refreshStatus(before.refresh_token), 401, 'the old session ended');
    assert.equal(await refreshStatus(otherWx.getStorageSync(KEY).refresh_token), 401, 'the other device’s session ended');
    const profile = await client.getProfile();
    assert.equal(profile.id, bound.user.id);
    assert.equal(profile.phone, masked('13900139002'));
    assert.equal(wx.requestsTo('/auth/refresh').length, 0, 'the new session works as it is');

    // The old number is free at once: another account binds it.
    const next = createClient({ baseUrl: server.url, wx: createFakeWx({ user: 'oldnumber' }) });
    const taken = await next.bindPhone({ detail: { code: phoneCode('13900139001') } });
    assert.equal(taken.user.phone, masked('13900139001'));
    assert.notEqual(taken.user.id, bound.user.id);
  });

  it('a number another account owns is PHONE_TAKEN and nothing moves', async () => {
    const owner = createClient({ baseUrl: server.url, wx: createFakeWx({ user: 'owner' }) });
    await owner.bindPhone({ detail: { code: phoneCode('13900139011') } });
    const wx = createFakeWx({ user: 'taker' });
    const client = createClient({ baseUrl: server.url, wx });
    await client.bindPhone({ detail: { code: phoneCode('13900139012') } });
    const before = wx.getStorageSync(KEY);

    const err = await client.changePhone({ detail: { code: phoneCode('13900139011') } }).then(() => null, (e) => e);

    assert.equal(err.code, 'PHONE_TAKEN');
    assert.equal(err.status, 409);
    assert.match(err.requestId, /^\w+$/);
    assert.deepEqual(wx.getStorageSync(KEY), before, 'the session is kept');
    assert.equal((await client.getProfile()).phone, masked('13900139012'));
    assert.equal((await owner.getProfile()).phone, masked('13900139011'));
  });

  it('an account without a phone gets PHONE_REQUIRED (403, no refresh)', async () => {
    const wx = createFakeWx({ user: 'nophonechange' });
    const client = createClient({ baseUrl: server.url, wx });
    await client.login();
    const before = wx.getStorageSync(KEY);

    const err = await client.changePhone({ detail: { code: phoneCode('13900139021') } }).then(() => null, (e) => e);

    assert.equal(err.code, 'PHONE_REQUIRED');
    assert.equal(err.status, 403);
    assert.equal(wx.requestsTo('/auth/refresh').length, 0, 'a 403 with our error body is not the authorizer’s deny');
    assert.deepEqual(wx.getStorageSync(KEY), before);
    // The number is still free: bindPhone binds it.
    assert.equal((await client.bindPhone({ detail: { code: phoneCode('13900139021') } })).user.phone, masked('13900139021'));
  });
});

/** Until the fake WeChat's phone codes are specified, accept a bind or a well-formed refusal. */
function assertBindOutcome(wx, res) {
  if (res instanceof Error) {
    assert.ok(BIND_ERRORS.includes(res.code), `unexpected ${res.code}: ${res.message}`);
    assert.ok(res.status >= 400);
    assert.match(res.requestId, /^\w+$/);
  } else {
    assert.equal(res.status, 'ok');
    assert.equal(res.user.phone_bound, true);
    assert.equal(wx.getStorageSync(KEY).user.phone_bound, true);
  }
}
