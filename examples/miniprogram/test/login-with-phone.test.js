// loginWithPhone() and prepareLogin(): sign in and bind in one POST /auth/login, against the
// real local server (both signup modes, a number someone owns) and a stub that records what the
// client sends (the prepared code goes with legacy data; a refused prompt sends nothing).
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { createClient } = require('../wxlogin');
const { createFakeWx } = require('./fake-wx');
const { startLocalServer } = require('./support');

const KEY = 'wxlogin.session';

describe('loginWithPhone() against the local server', () => {
  let server;
  let phoneServer;
  before(async () => {
    server = await startLocalServer();
    phoneServer = await startLocalServer({ SIGNUP_MODE: 'phone' });
  });
  after(async () => {
    if (server) await server.stop();
    if (phoneServer) await phoneServer.stop();
  });

  it('signs up and binds the phone in one request', async () => {
    const wx = createFakeWx({ user: 'lwpana' });
    const client = createClient({ baseUrl: server.url, wx });
    const r = await client.loginWithPhone({ detail: { code: '13800138401-1' } });
    assert.equal(r.status, 'ok');
    assert.equal(r.phoneError, null);
    assert.equal(r.user.phone_bound, true);
    assert.equal(r.user.created, true);
    assert.equal(r.user.phone, '138****8401');
    assert.equal(wx.requestsTo('/auth/login').length, 1);
    assert.equal(wx.requestsTo('/auth/phone').length, 0, 'no second request');
    assert.equal(wx.getStorageSync(KEY).status, 'ok');
  });

  it('in phone signup mode there is no phone_required step', async () => {
    const wx = createFakeWx({ user: 'lwpben' });
    const r = await createClient({ baseUrl: phoneServer.url, wx }).loginWithPhone({ detail: { code: '13800138402-1' } });
    assert.equal(r.status, 'ok');
    assert.equal(r.user.created, true);
    assert.equal(r.user.phone_bound, true);
  });

  it('a number someone owns is refused beside a login that stands', async () => {
    await createClient({ baseUrl: server.url, wx: createFakeWx({ user: 'lwpcat' }) })
      .loginWithPhone({ detail: { code: '13800138403-1' } });
    const wx = createFakeWx({ user: 'lwpdog' });
    const client = createClient({ baseUrl: server.url, wx });
    const r = await client.loginWithPhone({ detail: { code: '13800138403-2' } });
    assert.equal(r.status, 'ok');
    assert.equal(r.user.phone_bound, false);
    assert.equal(r.phoneError.code, 'PHONE_TAKEN');
    assert.equal(r.phoneError.status, 409);
    assert.equal(wx.getStorageSync(KEY).status, 'ok', 'the session is kept');
  });

  it('in phone mode a refused number leaves the bind token for bindPhone()', async () => {
    await createClient({ baseUrl: phoneServer.url, wx: createFakeWx({ user: 'lwpelk' }) })
      .loginWithPhone({ detail: { code: '13800138404-1' } });
    const wx = createFakeWx({ user: 'lwpfox' });
    const r = await createClient({ baseUrl: phoneServer.url, wx }).loginWithPhone({ detail: { code: '13800138404-2' } });
    assert.equal(r.status, 'phone_required');
    assert.equal(r.phoneError.code, 'PHONE_TAKEN');
    assert.equal(wx.getStorageSync(KEY).status, 'phone_required');
  });
});

describe('loginWithPhone() request shape (stub /auth/login)', () => {
  let stub;
  const calls = [];
  before(async () => {
    stub = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        calls.push({ path: req.url, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({
          status: 'ok', access_token: 'a.b.c', token_type: 'Bearer', expires_in: 7200, refresh_token: 'r1',
          refresh_expires_in: 2592000, user: { id: 'u_1', phone_bound: true, phone: '138****8000', created: false },
        }));
      });
    });
    await new Promise((r) => stub.listen(0, '127.0.0.1', r));
  });
  after(async () => { stub.closeAllConnections(); await new Promise((r) => stub.close(r)); });
  const url = () => `http://127.0.0.1:${stub.address().port}`;

  it('legacy data goes with the code prepareLogin() kept', async () => {
    const wx = createFakeWx({ user: 'shape' });
    const client = createClient({ baseUrl: url(), wx });
    await client.prepareLogin();
    const logins = wx.calls.login;
    const r = await client.loginWithPhone({ detail: { encryptedData: 'ENC', iv: 'IV' } });
    assert.equal(r.status, 'ok');
    assert.equal(wx.calls.login, logins, 'no second wx.login: its session_key would not match the data');
    const sent = calls[calls.length - 1];
    assert.equal(sent.path, '/auth/login');
    assert.deepEqual(Object.keys(sent.body).sort(), ['code', 'encrypted_data', 'iv']);
    assert.match(sent.body.code, /^shape-/);
  });

  it('legacy data without a prepared code, or a refused prompt, sends nothing', async () => {
    const before = calls.length;
    const client = createClient({ baseUrl: url(), wx: createFakeWx({ user: 'shape' }) });
    await assert.rejects(client.loginWithPhone({ detail: { encryptedData: 'ENC', iv: 'IV' } }), { code: 'NOT_PREPARED' });
    await assert.rejects(client.loginWithPhone({ detail: { errMsg: 'getPhoneNumber:fail user deny' } }), { code: 'PHONE_DENIED' });
    assert.equal(calls.length, before);
  });

  it('a new-style code is sent as phone_code with a fresh wx.login code', async () => {
    const wx = createFakeWx({ user: 'shape' });
    await createClient({ baseUrl: url(), wx }).loginWithPhone({ detail: { code: 'PHONECODE' } });
    const sent = calls[calls.length - 1];
    assert.equal(sent.body.phone_code, 'PHONECODE');
    assert.ok(sent.body.code && !sent.body.encrypted_data);
  });
});
