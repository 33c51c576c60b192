// logout(): the local session is gone at once; the server revokes the family when it serves
// POST /auth/logout (the revocation test skips itself until then).
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { createClient } = require('../wxlogin');
const { createFakeWx } = require('./fake-wx');
const { startLocalServer, serves } = require('./support');

const KEY = 'wxlogin.session';

describe('logout()', () => {
  let server;
  let logoutServed;
  before(async () => {
    server = await startLocalServer({ ACCESS_TOKEN_TTL: '60' });
    logoutServed = await serves(server.url, 'POST', '/auth/logout');
  });
  after(async () => { if (server) await server.stop(); });

  it('forgets the stored session and never rejects', async () => {
    const wx = createFakeWx({ user: 'bye' });
    const client = createClient({ baseUrl: server.url, wx });
    await client.login();

    const res = await client.logout();

    assert.equal(wx.getStorageSync(KEY), '');
    assert.equal(client.getUser(), null);
    assert.equal(res.revoked, logoutServed);
    if (!logoutServed) assert.equal(res.error.code, 'NOT_FOUND');
    const call = wx.requestsTo('/auth/logout')[0];
    assert.match(call.header.authorization, /^Bearer /);
    assert.deepEqual(call.data, {});
  });

  it('with nothing stored it does nothing', async () => {
    const wx = createFakeWx({ user: 'nobody' });
    const res = await createClient({ baseUrl: server.url, wx }).logout();
    assert.deepEqual(res, { revoked: false });
    assert.equal(wx.calls.requests.length, 0);
  });

  it('{ all: true } asks for every session', async () => {
    const wx = createFakeWx({ user: 'byeall' });
    const client = createClient({ baseUrl: server.url, wx });
    await client.login();
    await client.logout({ all: true });
    assert.deepEqual(wx.requestsTo('/auth/logout')[0].data, { all: true });
  });

  it('the next login after logout calls wx.login', async () => {
    const wx = createFakeWx({ user: 'comeback' });
    const client = createClient({ baseUrl: server.url, wx });
    const first = await client.login();
    await client.logout();
    const again = await client.login();
    assert.equal(wx.calls.login, 2);
    assert.equal(again.user.id, first.user.id);
  });

  it('a refresh that finishes after logout does not bring the session back', async () => {
    const wx = createFakeWx({ user: 'race' });
    const client = createClient({ baseUrl: server.url, wx });
    await client.login();
    wx.setStorageSync(KEY, { ...wx.getStorageSync(KEY), access_expires_at: Date.now() - 1 });

    const pending = client.request({ url: '/auth/whatever' }).then(() => null, (e) => e);
    while (wx.requestsTo('/auth/refresh').length === 0) await new Promise((r) => setImmediate(r));
    await client.logout();
    const err = await pending;

    assert.equal(wx.getStorageSync(KEY), '');
    assert.equal(err.code, 'NOT_LOGGED_IN');
    assert.equal(wx.requestsTo('/auth/refresh').length, 1, 'logout waited for the refresh instead of racing it');
    assert.equal(wx.requestsTo('/auth/whatever').length, 0);
  });

  it('the server revokes the refresh family', async (t) => {
    if (!logoutServed) return t.skip('route not served yet');
    const wx = createFakeWx({ user: 'revoked' });
    const client = createClient({ baseUrl: server.url, wx });
    await client.login();
    const { refresh_token: refreshToken } = wx.getStorageSync(KEY);

    assert.equal((await client.logout()).revoked, true);

    const res = await fetch(`${server.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refreshToken }),
    });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error.code, 'REFRESH_REVOKED');
  });
});
