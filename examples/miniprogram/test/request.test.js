// request(): the Bearer header, refresh on 401, one login/refresh for many callers, re-login
// when the refresh fails, and error mapping. Logins and refreshes go to the real local server;
// the "customer API" is a small Node server (support.js) because the local server has no
// protected route yet.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { createClient } = require('../wxlogin');
const { createFakeWx } = require('./fake-wx');
const { startLocalServer, startFakeApi, decodeJwtPayload, serves } = require('./support');

const KEY = 'wxlogin.session';

describe('request()', () => {
  let server;
  let api;
  before(async () => {
    [server, api] = await Promise.all([startLocalServer({ ACCESS_TOKEN_TTL: '60' }), startFakeApi()]);
  });
  after(async () => {
    await Promise.all([server && server.stop(), api && api.stop()]);
  });

  function setup(user) {
    const wx = createFakeWx({ user });
    const client = createClient({ baseUrl: server.url, wx });
    return { wx, client };
  }

  function patchSession(wx, change) {
    wx.setStorageSync(KEY, { ...wx.getStorageSync(KEY), ...change });
  }

  it('logs in on first use and sends the access token as Bearer', async () => {
    const { wx, client } = setup('bearer');
    const res = await client.request({ url: `${api.url}/api/profile`, method: 'POST', data: { hello: 'world' } });

    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.data.body, { hello: 'world' });
    assert.equal(wx.calls.login, 1);
    const stored = wx.getStorageSync(KEY);
    assert.equal(res.data.sub, decodeJwtPayload(stored.access_token).sub);
    const call = wx.requestsTo('/api/profile')[0];
    assert.equal(call.header.authorization, `Bearer ${stored.access_token}`);
  });

  it('a url starting with / goes to baseUrl', async () => {
    const { wx, client } = setup('relative');
    const err = await client.request({ url: '/no/such/route' }).then(() => null, (e) => e);
    assert.equal(wx.requestsTo('/no/such/route')[0].url, `${server.url}/no/such/route`);
    // The local server's own error shape comes through as code/status/requestId.
    assert.equal(err.code, 'NOT_FOUND');
    assert.equal(err.status, 404);
    assert.match(err.requestId, /^\w+$/);
  });

  it('auth: false sends no token and needs no login', async () => {
    const { wx, client } = setup('public');
    const res = await client.request({ url: `${api.url}/api/public`, auth: false, header: { Authorization: 'Bearer leak' } });
    assert.equal(res.data.sawToken, false);
    assert.equal(wx.calls.login, 0);
  });

  it('a refused access token is refreshed once and the call retried, without wx.login', async () => {
    const { wx, client } = setup('refresh401');
    await client.login();
    const before = wx.getStorageSync(KEY);
    api.revoked.add(before.access_token); // the server now refuses a token the client thinks valid

    const res = await client.request({ url: `${api.url}/api/profile` });

    assert.equal(res.statusCode, 200);
    assert.equal(wx.calls.login, 1, 'no second wx.login');
    assert.equal(wx.requestsTo('/auth/refresh').length, 1);
    assert.equal(wx.requestsTo('/api/profile').length, 2, 'one call, one retry');
    const after = wx.getStorageSync(KEY);
    assert.notEqual(after.access_token, before.access_token);
    assert.notEqual(after.refresh_token, before.refresh_token, 'the refresh token rotated');
    assert.equal(res.data.sub, decodeJwtPayload(before.access_token).sub, 'same user');
  });

  it("API Gateway's authorizer deny (403 Forbidden) is treated like a 401", async () => {
    const { wx, client } = setup('gateway403');
    await client.login();
    api.revoked.add(wx.getStorageSync(KEY).access_token);
    const res = await client.request({ url: `${api.url}/api/gateway` });
    assert.equal(res.statusCode, 200);
    assert.equal(wx.requestsTo('/auth/refresh').length, 1);
  });

  it('an access token about to expire is refreshed before the call', async () => {
    const { wx, client } = setup('proactive');
    await client.login();
    patchSession(wx, { access_expires_at: Date.now() + 1000 }); // within the early-refresh window

    const res = await client.request({ url: `${api.url}/api/profile` });

    assert.equal(res.statusCode, 200);
    assert.equal(wx.requestsTo('/auth/refresh').length, 1);
    assert.equal(wx.requestsTo('/api/profile').length, 1, 'no 401 round trip');
    assert.ok(wx.getStorageSync(KEY).access_expires_at > Date.now() + 50_000);
  });

  it('concurrent requests with a refused token cause exactly one refresh', async () => {
    const { wx, client } = setup('concurrent401');
    await client.login();
    patchSession(wx, { access_token: 'corrupted.token.value' });

    const results = await Promise.all(
      Array.from({ length: 8 }, () => client.request({ url: `${api.url}/api/profile` })),
    );

    assert.ok(results.every((r) => r.statusCode === 200));
    assert.equal(wx.requestsTo('/auth/refresh').length, 1);
    assert.equal(wx.calls.login, 1);
    const token = wx.getStorageSync(KEY).access_token;
    const retried = api.seen.filter((s) => s.path === '/api/profile' && s.token === token);
    assert.equal(retried.length, 8, 'every caller retried with the one new token');
  });

  it('concurrent requests during expiry share one refresh', async () => {
    const { wx, client } = setup('concurrentexp');
    await client.login();
    patchSession(wx, { access_expires_at: Date.now() - 1 });

    await Promise.all(Array.from({ length: 8 }, () => client.request({ url: `${api.url}/api/profile` })));

    assert.equal(wx.requestsTo('/auth/refresh').length, 1);
    assert.equal(wx.calls.login, 1);
  });

  it('concurrent first requests cause exactly one wx.login', async () => {
    const { wx, client } = setup('concurrentfirst');
    await Promise.all(Array.from({ length: 6 }, () => client.request({ url: `${api.url}/api/profile` })));
    assert.equal(wx.calls.login, 1);
    assert.equal(wx.requestsTo('/auth/login').length, 1);
  });

  it('a refused refresh token (REFRESH_REVOKED) leads to one wx.login and a retry', async () => {
    const { wx, client } = setup('relogin');
    await client.login();
    const first = wx.getStorageSync(KEY);
    // Rotate once, then put the old refresh token back: the server sees a reuse.
    await client.request({ url: `${api.url}/api/profile` });
    patchSession(wx, { access_expires_at: Date.now() - 1 });
    await client.request({ url: `${api.url}/api/profile` });
    assert.equal(wx.requestsTo('/auth/refresh').length, 1);
    patchSession(wx, { refresh_token: first.refresh_token, access_token: 'corrupted.token.value' });

    const results = await Promise.all(
      Array.from({ length: 4 }, () => client.request({ url: `${api.url}/api/profile` })),
    );

    assert.ok(results.every((r) => r.statusCode === 200));
    const refreshes = wx.requestsTo('/auth/refresh');
    assert.equal(refreshes.length, 2, 'one refresh attempt for all four callers');
    assert.equal(refreshes[1].statusCode, 401);
    assert.equal(wx.calls.login, 2, 'exactly one new wx.login');
    assert.equal(results[0].data.sub, decodeJwtPayload(first.access_token).sub, 'same user');
  });

  it('the rotated-away family is really revoked on the server (reuse detection)', async () => {
    const { wx, client } = setup('family');
    await client.login();
    const first = wx.getStorageSync(KEY);
    patchSession(wx, { access_expires_at: Date.now() - 1 });
    await client.request({ url: `${api.url}/api/profile` });
    const second = wx.getStorageSync(KEY);

    // Reuse the first refresh token directly: REFRESH_REVOKED, and the family (second) dies too.
    const other = setup('family-thief');
    other.wx.setStorageSync(KEY, { ...first, access_expires_at: Date.now() - 1 });
    await other.client.request({ url: `${api.url}/api/profile` });
    assert.equal(other.wx.requestsTo('/auth/refresh')[0].statusCode, 401);
    assert.equal(other.wx.calls.login, 1, 'the thief had to log in as itself');

    patchSession(wx, { refresh_token: second.refresh_token, access_expires_at: Date.now() - 1 });
    await client.request({ url: `${api.url}/api/profile` });
    assert.equal(wx.requestsTo('/auth/refresh')[1].statusCode, 401, 'the second token died with its family');
    assert.equal(wx.calls.login, 2);
  });

  it('a token still refused after the refresh is returned as an error, without looping', async () => {
    const { wx, client } = setup('always401');
    await client.login();
    const err = await client.request({ url: `${api.url}/api/always401` }).then(() => null, (e) => e);
    assert.equal(err.code, 'UNAUTHORIZED');
    assert.equal(err.status, 401);
    assert.equal(err.requestId, 'fake-401');
    assert.equal(wx.requestsTo('/api/always401').length, 2, 'one call, one retry');
    assert.equal(wx.requestsTo('/auth/refresh').length, 1);
    assert.equal(wx.calls.login, 1);
  });

  it('a refresh that fails for a passing reason is reported and keeps the session', async () => {
    const { wx, client } = setup('offline-refresh');
    await client.login();
    patchSession(wx, { access_expires_at: Date.now() - 1 });
    const before = wx.getStorageSync(KEY);
    const offline = createClient({ baseUrl: 'http://127.0.0.1:9', wx });

    const err = await offline.request({ url: `${api.url}/api/profile` }).then(() => null, (e) => e);

    assert.equal(err.code, 'NETWORK_ERROR');
    assert.equal(wx.calls.login, 1, 'no wx.login for a network failure');
    assert.deepEqual(wx.getStorageSync(KEY), before);
  });

  it('RATE_LIMITED carries Retry-After', async () => {
    const { client } = setup('limited');
    const err = await client.request({ url: `${api.url}/api/limited` }).then(() => null, (e) => e);
    assert.equal(err.code, 'RATE_LIMITED');
    assert.equal(err.status, 429);
    assert.equal(err.retryAfter, 7);
    assert.equal(err.requestId, 'fake-429');
  });

  it('an answer without our error body is HTTP_<status>', async () => {
    const { client } = setup('plain');
    const err = await client.request({ url: `${api.url}/api/teapot` }).then(() => null, (e) => e);
    assert.equal(err.code, 'HTTP_418');
    assert.equal(err.status, 418);
    assert.equal(err.requestId, '');
    assert.equal(err.data, 'short and stout');
  });

  it('GET /auth/me answers the profile with the access token', async (t) => {
    if (!(await serves(server.url, 'GET', '/auth/me'))) return t.skip('route not served yet');
    const { client } = setup('me');
    const { user } = await client.login();
    const res = await client.request({ url: '/auth/me' });
    assert.equal(res.statusCode, 200);
    assert.equal(JSON.stringify(res.data).includes(user.id), true);
  });
});
