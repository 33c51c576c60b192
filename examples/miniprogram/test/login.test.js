// login(): first login, silent re-login, wx.checkSession, and the errors a login can raise —
// against the real local server.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { createClient, isWxLoginError } = require('../wxlogin');
const { createFakeWx } = require('./fake-wx');
const { startLocalServer, decodeJwtPayload, LOCAL_APPID } = require('./support');

const KEY = 'wxlogin.session';

describe('login()', () => {
  let server;
  before(async () => { server = await startLocalServer({ ACCESS_TOKEN_TTL: '60' }); });
  after(async () => { if (server) await server.stop(); });

  it('first login calls wx.login once, posts the code and stores the tokens', async () => {
    const wx = createFakeWx({ user: 'first' });
    const client = createClient({ baseUrl: server.url, wx });

    const res = await client.login();

    assert.equal(res.status, 'ok');
    assert.equal(res.user.created, true);
    assert.equal(res.user.phone_bound, false);
    assert.match(res.user.id, /\S/);
    assert.equal(wx.calls.login, 1);
    const logins = wx.requestsTo('/auth/login');
    assert.equal(logins.length, 1);
    assert.equal(logins[0].method, 'POST');
    assert.deepEqual(Object.keys(logins[0].data), ['code'], 'no appid unless configured');

    const stored = wx.getStorageSync(KEY);
    assert.equal(stored.status, 'ok');
    assert.equal(decodeJwtPayload(stored.access_token).sub, res.user.id);
    assert.equal(stored.access_ttl, 60);
    assert.ok(stored.access_expires_at > Date.now() + 50_000);
    assert.ok(stored.refresh_expires_at > Date.now() + 86_400_000);
    assert.ok(stored.refresh_token.length > 20);
    assert.deepEqual(client.getUser(), res.user);
  });

  it('a restarted app reuses the stored session: no second wx.login, no network call', async () => {
    const wx = createFakeWx({ user: 'silent' });
    const first = await createClient({ baseUrl: server.url, wx }).login();
    const requestsBefore = wx.calls.requests.length;

    // A new client over the same storage, as after the mini program is reopened.
    const again = await createClient({ baseUrl: server.url, wx }).login();

    assert.equal(again.status, 'ok');
    assert.equal(again.user.id, first.user.id);
    assert.equal(wx.calls.login, 1, 'wx.login only for the first login');
    assert.ok(wx.calls.checkSession >= 1, 'the stored session is checked with wx.checkSession');
    assert.equal(wx.calls.requests.length, requestsBefore);
  });

  it('a dead WeChat session (wx.checkSession fails) logs in again as the same user', async () => {
    const wx = createFakeWx({ user: 'stale' });
    const client = createClient({ baseUrl: server.url, wx });
    const first = await client.login();
    const oldRefresh = wx.getStorageSync(KEY).refresh_token;

    wx.sessionAlive = false;
    const again = await client.login();

    assert.equal(wx.calls.login, 2);
    assert.equal(again.user.id, first.user.id, 'same WeChat user, same account');
    assert.equal(again.user.created, false);
    assert.notEqual(wx.getStorageSync(KEY).refresh_token, oldRefresh);
  });

  it('login({ force: true }) calls wx.login even with a usable session', async () => {
    const wx = createFakeWx({ user: 'forced' });
    const client = createClient({ baseUrl: server.url, wx });
    await client.login();
    await client.login({ force: true });
    assert.equal(wx.calls.login, 2);
    assert.equal(wx.requestsTo('/auth/login').length, 2);
  });

  it('an expired refresh token means a new wx.login', async () => {
    const wx = createFakeWx({ user: 'expired' });
    const client = createClient({ baseUrl: server.url, wx });
    await client.login();
    const stored = wx.getStorageSync(KEY);
    wx.setStorageSync(KEY, { ...stored, refresh_expires_at: Date.now() - 1000 });

    await client.login();

    assert.equal(wx.calls.login, 2);
  });

  it('garbage in storage is ignored, not trusted', async () => {
    const wx = createFakeWx({ user: 'garbage' });
    wx.setStorageSync(KEY, { status: 'ok', access_token: 42 });
    const res = await createClient({ baseUrl: server.url, wx }).login();
    assert.equal(res.status, 'ok');
    assert.equal(wx.calls.login, 1);
  });

  it('concurrent login() calls share one wx.login', async () => {
    const wx = createFakeWx({ user: 'together' });
    const client = createClient({ baseUrl: server.url, wx });
    const results = await Promise.all([client.login(), client.login(), client.login()]);
    assert.equal(wx.calls.login, 1);
    assert.equal(wx.requestsTo('/auth/login').length, 1);
    assert.equal(new Set(results.map((r) => r.user.id)).size, 1);
  });

  it('sends the configured appid', async () => {
    const wx = createFakeWx({ user: 'withappid' });
    const res = await createClient({ baseUrl: server.url, wx, appid: LOCAL_APPID }).login();
    assert.equal(res.status, 'ok');
    assert.equal(wx.requestsTo('/auth/login')[0].data.appid, LOCAL_APPID);
  });

  it('a reused code is INVALID_CODE (401) with the request id, and the old session stays', async () => {
    const wx = createFakeWx({ user: 'reuse' });
    const client = createClient({ baseUrl: server.url, wx });
    wx.nextCodes.push('reuse-fixed-code');
    await client.login();
    const before = wx.getStorageSync(KEY);

    wx.nextCodes.push('reuse-fixed-code');
    const err = await client.login({ force: true }).then(() => null, (e) => e);

    assert.ok(err, 'the second login must fail');
    assert.ok(isWxLoginError(err));
    assert.ok(err instanceof Error);
    assert.equal(err.code, 'INVALID_CODE');
    assert.equal(err.status, 401);
    assert.match(err.requestId, /^\w+$/);
    assert.match(err.message, /wx\.login/);
    assert.deepEqual(wx.getStorageSync(KEY), before, 'a failed login keeps the stored session');

    // What the docs tell a developer to do: log in again (wx.login gives a fresh code).
    assert.equal((await client.login({ force: true })).status, 'ok');
  });

  it('an unknown appid is UNKNOWN_APP (400)', async () => {
    const wx = createFakeWx({ user: 'badapp' });
    const err = await createClient({ baseUrl: server.url, wx, appid: 'wxnotconfigured00' }).login().then(() => null, (e) => e);
    assert.equal(err.code, 'UNKNOWN_APP');
    assert.equal(err.status, 400);
    assert.equal(wx.getStorageSync(KEY), '');
  });

  it('a code the server rejects as malformed is INVALID_REQUEST (400)', async () => {
    const wx = createFakeWx({ user: 'malformed' });
    wx.nextCodes.push('not a code!');
    const err = await createClient({ baseUrl: server.url, wx }).login().then(() => null, (e) => e);
    assert.equal(err.code, 'INVALID_REQUEST');
    assert.equal(err.status, 400);
  });

  it('a failing wx.login is WX_LOGIN_FAILED with status 0', async () => {
    const wx = createFakeWx({ user: 'nologin' });
    wx.loginFailure = 'login:fail network';
    const err = await createClient({ baseUrl: server.url, wx }).login().then(() => null, (e) => e);
    assert.equal(err.code, 'WX_LOGIN_FAILED');
    assert.equal(err.status, 0);
    assert.equal(wx.calls.requests.length, 0);
  });

  it('an unreachable server is NETWORK_ERROR with status 0', async () => {
    const wx = createFakeWx({ user: 'offline' });
    const err = await createClient({ baseUrl: 'http://127.0.0.1:9', wx }).login().then(() => null, (e) => e);
    assert.equal(err.code, 'NETWORK_ERROR');
    assert.equal(err.status, 0);
    assert.match(err.message, /^request:fail/);
  });

  it('createClient refuses a missing baseUrl', () => {
    assert.throws(() => createClient({}), /baseUrl/);
  });
});
