// getAccessToken(): a current access token for calls the client does not make itself (the
// README's AWS-credentials recipe) — against the real local server.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { createClient } = require('../wxlogin');
const { createFakeWx } = require('./fake-wx');
const { startLocalServer, decodeJwtPayload } = require('./support');

const KEY = 'wxlogin.session';

describe('getAccessToken()', () => {
  let server;
  let phoneServer;
  before(async () => {
    server = await startLocalServer({ ACCESS_TOKEN_TTL: '60' });
    phoneServer = await startLocalServer({ SIGNUP_MODE: 'phone' });
  });
  after(async () => {
    if (server) await server.stop();
    if (phoneServer) await phoneServer.stop();
  });

  it('logs in on first use and answers the stored access token after that', async () => {
    const wx = createFakeWx({ user: 'tokenfirst' });
    const client = createClient({ baseUrl: server.url, wx });

    const token = await client.getAccessToken();
    const claims = decodeJwtPayload(token);
    assert.equal(claims.aud, 'wxlogin-api', 'an access token, not a bind token');
    assert.equal(claims.token_use, 'access');
    assert.equal(claims.sub, client.getUser().id);
    assert.equal(wx.calls.login, 1);

    const requestsBefore = wx.calls.requests.length;
    assert.equal(await client.getAccessToken(), token);
    assert.equal(wx.calls.requests.length, requestsBefore, 'no network call for a fresh token');
  });

  it('renews a token about to expire with the refresh token, without wx.login', async () => {
    const wx = createFakeWx({ user: 'tokenrenew' });
    const client = createClient({ baseUrl: server.url, wx });
    const first = await client.getAccessToken();
    const stored = wx.getStorageSync(KEY);
    stored.access_expires_at = Date.now() + 1000;
    wx.setStorageSync(KEY, stored);

    const renewed = await client.getAccessToken();
    assert.notEqual(renewed, first);
    assert.equal(decodeJwtPayload(renewed).sub, decodeJwtPayload(first).sub);
    assert.equal(wx.requestsTo('/auth/refresh').length, 1);
    assert.equal(wx.calls.login, 1);
  });

  it('a phone_required session rejects with PHONE_REQUIRED and hands out no bind token', async () => {
    const wx = createFakeWx({ user: 'tokenphone' });
    const client = createClient({ baseUrl: phoneServer.url, wx });
    const outcome = await client.getAccessToken().then((value) => ({ value }), (err) => ({ err }));
    assert.ok(outcome.err, `expected a rejection, got ${JSON.stringify(outcome.value)}`);
    assert.equal(outcome.err.code, 'PHONE_REQUIRED');
  });
});
