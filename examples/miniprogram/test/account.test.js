// SMS codes, passwords and the profile against the real local server: sendSmsCode(),
// bindPhoneBySms(), changePhone() by SMS, setPassword(), loginWithPassword(), resetPassword(),
// getProfile(), exportData(), deleteAccount(), updateProfile().
// The local server prints each SMS instead of sending it; the tests read the code from its output.
// Every test uses its own phone numbers: the server allows 1 send a minute and 10 a day per
// phone (and 20 an hour per caller IP and 30 an hour per block of 10,000 numbers, 1380013xxxx
// being one block, so each server here sends well under 20).
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { createClient } = require('../wxlogin');
const { createFakeWx } = require('./fake-wx');
const { startLocalServer, decodeJwtPayload, smsCodeFor } = require('./support');

const KEY = 'wxlogin.session';
const PASSWORD = 'plum-kettle-47-orbit';

let phoneCounter = 0;
/** A mainland number no other test in this file uses: 1380013xxxx. */
function nextPhone() {
  phoneCounter += 1;
  return `1380013${String(phoneCounter).padStart(4, '0')}`;
}

let userCounter = 0;
function freshWx(prefix) {
  userCounter += 1;
  return createFakeWx({ user: `${prefix}${userCounter}` });
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise) {
  const outcome = await promise.then((value) => ({ value }), (err) => ({ err }));
  assert.ok(outcome.err, `expected a rejection, got ${JSON.stringify(outcome.value)}`);
  return outcome.err;
}

/** A six-digit code that is not `code`. */
function otherCode(code) {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
}

/**
 * The per-phone limit counts sends in fixed calendar minutes: two sends that straddle a minute
 * boundary would both pass. Wait out the last seconds of a minute before a test that needs both
 * sends in the same one.
 */
async function awayFromMinuteEdge() {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 55_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 200));
}

/** Sends a code to `phone` through `client` and reads it from the server's output. */
async function sendAndRead(server, client, phone) {
  const from = server.lines.length;
  const sent = await client.sendSmsCode(phone);
  assert.deepEqual(sent, { status: 'sent', expires_in: 300 });
  return smsCodeFor(server, phone, from);
}

/** A logged-in client (SIGNUP_MODE=openid) whose account has `phone` bound by SMS. */
async function withBoundPhone(server, prefix) {
  const wx = freshWx(prefix);
  const client = createClient({ baseUrl: server.url, wx });
  await client.login();
  const phone = nextPhone();
  const code = await sendAndRead(server, client, phone);
  const res = await client.bindPhoneBySms(phone, code);
  assert.equal(res.user.phone_bound, true);
  return { wx, client, phone, user: res.user };
}

describe('SMS codes, passwords and the profile (real server, SIGNUP_MODE=openid)', () => {
  let server;
  before(async () => { server = await startLocalServer(); });
  after(async () => { if (server) await server.stop(); });

  it('sendSmsCode → the printed code → bindPhoneBySms binds and stores the new tokens', async () => {
    const wx = freshWx('sms');
    const client = createClient({ baseUrl: server.url, wx });
    const login = await client.login();
    assert.equal(login.user.phone_bound, false);
    const before = wx.getStorageSync(KEY);
    const phone = nextPhone();

    const from = server.lines.length;
    const sent = await client.sendSmsCode(phone);
    assert.deepEqual(sent, { status: 'sent', expires_in: 300 });
    const send = wx.requestsTo('/auth/sms/send')[0];
    assert.deepEqual(send.data, { phone });
    assert.equal(send.header.authorization, undefined, 'sending a code needs no token');
    const code = await smsCodeFor(server, phone, from);
    assert.match(code, /^\d{6}$/);

    const res = await client.bindPhoneBySms(phone, code);

    assert.equal(res.status, 'ok');
    assert.equal(res.user.id, login.user.id);
    assert.equal(res.user.phone_bound, true);
    assert.equal(res.user.phone, `${phone.slice(0, 3)}****${phone.slice(-4)}`);
    const call = wx.requestsTo('/auth/phone')[0];
    assert.deepEqual(call.data, { phone, sms_code: code });
    assert.equal(call.header.authorization, `Bearer ${before.access_token}`);
    const stored = wx.getStorageSync(KEY);
    assert.notEqual(stored.access_token, before.access_token, 'the answer’s tokens are stored');
    assert.equal(stored.user.phone_bound, true);
    assert.equal(client.getUser().phone_bound, true);
  });

  it('a second send within the minute is RATE_LIMITED with retryAfter', async () => {
    const client = createClient({ baseUrl: server.url, wx: freshWx('limit') });
    const phone = nextPhone();
    await awayFromMinuteEdge();
    await client.sendSmsCode(phone);

    const err = await rejection(client.sendSmsCode(phone));

    assert.equal(err.code, 'RATE_LIMITED');
    assert.equal(err.status, 429);
    assert.equal(typeof err.retryAfter, 'number');
    assert.ok(err.retryAfter >= 1 && err.retryAfter <= 60, `retryAfter ${err.retryAfter}`);
    assert.match(err.requestId, /^\w+$/);
  });

  it('a malformed phone number is INVALID_REQUEST', async () => {
    const err = await rejection(createClient({ baseUrl: server.url, wx: freshWx('badphone') }).sendSmsCode('12345'));
    assert.equal(err.code, 'INVALID_REQUEST');
    assert.equal(err.status, 400);
  });

  it('a wrong code is INVALID_CODE, keeps the session, and the right code still works', async () => {
    const wx = freshWx('wrong');
    const client = createClient({ baseUrl: server.url, wx });
    await client.login();
    const before = wx.getStorageSync(KEY);
    const phone = nextPhone();
    const code = await sendAndRead(server, client, phone);

    const err = await rejection(client.bindPhoneBySms(phone, otherCode(code)));

    assert.equal(err.code, 'INVALID_CODE');
    assert.equal(err.status, 401);
    assert.match(err.requestId, /^\w+$/);
    assert.equal(wx.requestsTo('/auth/refresh').length, 0, 'not mistaken for a refused token');
    assert.equal(wx.calls.login, 1);
    assert.deepEqual(wx.getStorageSync(KEY), before);

    const res = await client.bindPhoneBySms(phone, code);
    assert.equal(res.user.phone_bound, true);
  });

  it('setPassword stores fresh tokens; loginWithPassword on a cleared client is the same user', async () => {
    const { wx, client, phone, user } = await withBoundPhone(server, 'pw');
    const before = wx.getStorageSync(KEY);

    const set = await client.setPassword(PASSWORD);

    assert.equal(set.status, 'ok');
    assert.equal(set.user.id, user.id);
    const call = wx.requestsTo('/auth/password')[0];
    assert.deepEqual(call.data, { password: PASSWORD });
    assert.equal(call.header.authorization, `Bearer ${before.access_token}`);
    const afterSet = wx.getStorageSync(KEY);
    assert.notEqual(afterSet.refresh_token, before.refresh_token, 'the fresh tokens are stored');
    // Every other session ended, the old refresh token included.
    const old = await fetch(`${server.url}/auth/refresh`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: before.refresh_token }),
    });
    assert.equal(old.status, 401);
    // ...and the new session works.
    assert.equal((await client.getProfile()).id, user.id);

    // The same phone, storage cleared, a new client: no wx.login, no token, just the password.
    wx.removeStorageSync(KEY);
    const logins = wx.calls.login;
    const fresh = createClient({ baseUrl: server.url, wx });

    const res = await fresh.loginWithPassword(phone, PASSWORD);

    assert.equal(res.status, 'ok');
    assert.equal(res.user.id, user.id);
    assert.equal(res.user.phone_bound, true);
    assert.equal(wx.calls.login, logins);
    const login = wx.requestsTo('/auth/password/login')[0];
    assert.deepEqual(login.data, { phone, password: PASSWORD });
    assert.equal(login.header.authorization, undefined);
    const stored = wx.getStorageSync(KEY);
    assert.equal(stored.status, 'ok');
    assert.equal(decodeJwtPayload(stored.access_token).sub, user.id);
    assert.equal(fresh.getUser().id, user.id);
  });

  it('changing a password needs the old one (INVALID_CREDENTIALS without a refresh)', async () => {
    const { wx, client, phone } = await withBoundPhone(server, 'change');
    await client.setPassword(PASSWORD);
    const refreshes = wx.requestsTo('/auth/refresh').length;

    const missing = await rejection(client.setPassword('another-fine-secret-9'));
    const wrong = await rejection(client.setPassword('another-fine-secret-9', 'not-the-old-one-1'));

    for (const err of [missing, wrong]) {
      assert.equal(err.code, 'INVALID_CREDENTIALS');
      assert.equal(err.status, 401);
    }
    assert.equal(wx.requestsTo('/auth/refresh').length, refreshes, 'a wrong password is not a refused token');
    assert.equal(wx.requestsTo('/auth/password').length, 3, 'no retry');

    await client.setPassword('another-fine-secret-9', PASSWORD);
    const other = createClient({ baseUrl: server.url, wx: freshWx('change-other') });
    assert.equal((await other.loginWithPassword(phone, 'another-fine-secret-9')).status, 'ok');
  });

  it('a wrong password and an unknown phone both get INVALID_CREDENTIALS', async () => {
    const { phone } = await withBoundPhone(server, 'cred');
    const setter = await withBoundPhone(server, 'cred-set');
    await setter.client.setPassword(PASSWORD);
    const wx = freshWx('cred-try');
    const client = createClient({ baseUrl: server.url, wx });

    const wrong = await rejection(client.loginWithPassword(setter.phone, 'not-the-password-1'));
    const unknown = await rejection(client.loginWithPassword(nextPhone(), PASSWORD));
    const noPassword = await rejection(client.loginWithPassword(phone, PASSWORD));

    for (const err of [wrong, unknown, noPassword]) {
      assert.equal(err.code, 'INVALID_CREDENTIALS');
      assert.equal(err.status, 401);
      assert.match(err.requestId, /^\w+$/);
      assert.equal(err.message, wrong.message, 'one answer for every case');
    }
    assert.equal(wx.requestsTo('/auth/refresh').length, 0);
    assert.equal(wx.getStorageSync(KEY), '', 'nothing stored');
    assert.equal(client.getUser(), null);
  });

  it('a weak password is WEAK_PASSWORD and keeps the session', async () => {
    const { wx, client, phone } = await withBoundPhone(server, 'weak');
    const before = wx.getStorageSync(KEY);

    for (const weak of ['short1', 'password', phone]) {
      const err = await rejection(client.setPassword(weak));
      assert.equal(err.code, 'WEAK_PASSWORD', weak);
      assert.equal(err.status, 400);
      assert.ok(err.message.length > 0);
    }
    assert.deepEqual(wx.getStorageSync(KEY), before);
  });

  it('setPassword without a bound phone is PHONE_REQUIRED (403, no refresh)', async () => {
    const wx = freshWx('nophone');
    const client = createClient({ baseUrl: server.url, wx });
    await client.login();
    const before = wx.getStorageSync(KEY);

    const err = await rejection(client.setPassword(PASSWORD));

    assert.equal(err.code, 'PHONE_REQUIRED');
    assert.equal(err.status, 403);
    assert.match(err.requestId, /^\w+$/);
    assert.equal(wx.requestsTo('/auth/refresh').length, 0, 'a 403 with our error body is not the authorizer’s deny');
    assert.deepEqual(wx.getStorageSync(KEY), before);
  });

  it('updateProfile sets the nickname and avatar; getProfile shows them', async () => {
    const wx = freshWx('prof');
    const client = createClient({ baseUrl: server.url, wx });
    const { user } = await client.login();
    const before = await client.getProfile();
    assert.equal(before.id, user.id);
    assert.equal(before.phone_bound, false);
    assert.equal(before.nickname, undefined);

    const updated = await client.updateProfile({ nickname: '小明', avatarUrl: 'https://example.com/a.png' });

    const call = wx.requestsTo('/auth/me').find((r) => r.method === 'PUT');
    assert.deepEqual(call.data, { nickname: '小明', avatar_url: 'https://example.com/a.png' });
    assert.equal(updated.nickname, '小明');
    assert.equal(updated.avatar_url, 'https://example.com/a.png');
    const profile = await client.getProfile();
    assert.equal(profile.id, user.id);
    assert.equal(profile.nickname, '小明');
    assert.equal(profile.avatar_url, 'https://example.com/a.png');

    // Only the fields given are sent.
    await client.updateProfile({ nickname: '小红' });
    assert.deepEqual(wx.requestsTo('/auth/me').filter((r) => r.method === 'PUT')[1].data, { nickname: '小红' });
    assert.equal((await client.getProfile()).avatar_url, 'https://example.com/a.png');
  });

  it('exportData returns what the server holds about the user, whole phone, no token', async () => {
    const { wx, client, phone, user } = await withBoundPhone(server, 'export');
    const data = await client.exportData();
    assert.equal(data.user.id, user.id);
    assert.equal(data.user.phone, `+86${phone}`);
    assert.equal(data.user.password_set, false);
    assert.equal(data.wechat.length, 1);
    assert.equal(data.wechat[0].session_key_held, true);
    assert.ok(data.current_session.expires_at.endsWith('Z'));
    const stored = wx.getStorageSync(KEY);
    assert.equal(typeof stored.access_token, 'string');
    assert.ok(!JSON.stringify(data).includes(stored.access_token), 'no token in the export');
    assert.equal(wx.requestsTo('/auth/me/export').length, 1);
  });

  it('deleteAccount deletes the user and forgets the session; the next login is a new user', async () => {
    const { wx, client, phone, user } = await withBoundPhone(server, 'delete');
    await client.setPassword(PASSWORD);
    assert.deepEqual(await client.deleteAccount(), { deleted: true });
    assert.equal(wx.requestsTo('/auth/me').filter((r) => r.method === 'DELETE').length, 1);
    assert.equal(wx.getStorageSync(KEY), '', 'the stored session is forgotten');
    assert.equal(client.getUser(), null);
    // The same WeChat user logs in again: a new account without the phone.
    const again = await client.login();
    assert.notEqual(again.user.id, user.id);
    assert.equal(again.user.phone_bound, false);
    // The deleted account's password login is gone with it (the phone has no owner now).
    const err = await rejection(client.loginWithPassword(phone, PASSWORD));
    assert.equal(err.code, 'INVALID_CREDENTIALS');
  });

  it('an invalid avatar URL is INVALID_REQUEST', async () => {
    const client = createClient({ baseUrl: server.url, wx: freshWx('badavatar') });
    const err = await rejection(client.updateProfile({ avatarUrl: 'http://example.com/a.png' }));
    assert.equal(err.code, 'INVALID_REQUEST');
    assert.equal(err.status, 400);
  });
});

describe('SMS and password with a bind token (real server, SIGNUP_MODE=phone)', () => {
  let server;
  before(async () => { server = await startLocalServer({ SIGNUP_MODE: 'phone' }); });
  after(async () => { if (server) await server.stop(); });

  it('bindPhoneBySms with the bind token creates the account', async () => {
    const wx = freshWx('psms');
    const client = createClient({ baseUrl: server.url, wx });
    assert.deepEqual(await client.login(), { status: 'phone_required' });
    const bind = wx.getStorageSync(KEY).bind_token;
    const phone = nextPhone();
    const code = await sendAndRead(server, client, phone);

    const res = await client.bindPhoneBySms(phone, code);

    assert.equal(res.status, 'ok');
    assert.equal(res.user.phone_bound, true);
    assert.equal(wx.requestsTo('/auth/phone')[0].header.authorization, `Bearer ${bind}`);
    assert.equal(wx.getStorageSync(KEY).status, 'ok', 'the account exists now');
  });

  it('loginWithPassword sends the bind token (another WeChat user of the app: PHONE_TAKEN)', async () => {
    // An account with a phone and a password, made from one WeChat user...
    const owner = createClient({ baseUrl: server.url, wx: freshWx('powner') });
    await owner.login();
    const phone = nextPhone();
    const code = await sendAndRead(server, owner, phone);
    await owner.bindPhoneBySms(phone, code);
    await owner.setPassword(PASSWORD);

    // ...and a second WeChat user of the same app. The server would link its openid to an
    // account that has none for this app (DESIGN §3); this one already has one, so it refuses.
    const wx = freshWx('pnew');
    const client = createClient({ baseUrl: server.url, wx });
    assert.deepEqual(await client.login(), { status: 'phone_required' });
    const before = wx.getStorageSync(KEY);

    const err = await rejection(client.loginWithPassword(phone, PASSWORD));

    assert.equal(err.code, 'PHONE_TAKEN');
    assert.equal(err.status, 409);
    const call = wx.requestsTo('/auth/password/login')[0];
    assert.equal(call.header.authorization, `Bearer ${before.bind_token}`);
    assert.deepEqual(call.data, { phone, password: PASSWORD });
    assert.equal(wx.calls.login, 1, 'a refusal that is not about the token needs no new wx.login');
    assert.deepEqual(wx.getStorageSync(KEY), before, 'the bind session is kept');
  });

  it('loginWithPassword from a phone_required client: a wrong password is INVALID_CREDENTIALS', async () => {
    const wx = freshWx('pwrong');
    const client = createClient({ baseUrl: server.url, wx });
    await client.login();
    const err = await rejection(client.loginWithPassword(nextPhone(), PASSWORD));
    assert.equal(err.code, 'INVALID_CREDENTIALS');
    assert.equal(wx.getStorageSync(KEY).status, 'phone_required');
  });
});

describe('loginWithPassword() with a refused bind token (stub server)', () => {
  it('runs wx.login once and retries with the fresh bind token', async () => {
    const calls = [];
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        calls.push({ path: req.url, auth: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') });
        const send = (status, body) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
        if (req.url === '/auth/login') return send(200, { status: 'phone_required', bind_token: 'bind.new.tok', expires_in: 600 });
        if (req.headers.authorization === 'Bearer bind.new.tok') {
          return send(200, {
            status: 'ok', access_token: 'a.b.c', token_type: 'Bearer', expires_in: 7200, refresh_token: 'r1',
            refresh_expires_in: 2592000, user: { id: 'u_1', phone_bound: true, phone: '138****0001', created: false },
          });
        }
        return send(401, { error: { code: 'UNAUTHORIZED', message: 'Missing, expired or invalid token.', request_id: 'stub-1' } });
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
      const wx = freshWx('stub');
      wx.setStorageSync(KEY, { status: 'phone_required', bind_token: 'bind.old.tok', bind_expires_at: Date.now() + 600_000 });
      const client = createClient({ baseUrl: `http://127.0.0.1:${server.address().port}`, wx, appid: 'wxstub000000000001' });

      const res = await client.loginWithPassword('13800130001', PASSWORD);

      assert.equal(res.status, 'ok');
      assert.equal(res.user.id, 'u_1');
      assert.deepEqual(calls.map((c) => [c.path, c.auth]), [
        ['/auth/password/login', 'Bearer bind.old.tok'],
        ['/auth/login', undefined],
        ['/auth/password/login', 'Bearer bind.new.tok'],
      ]);
      assert.deepEqual(calls[0].body, { phone: '13800130001', password: PASSWORD, appid: 'wxstub000000000001' });
      assert.equal(wx.getStorageSync(KEY).access_token, 'a.b.c');
    } finally {
      await new Promise((r) => { server.closeAllConnections(); server.close(r); });
    }
  });
});

describe('resetPassword (real server, 5 SMS a minute per phone)', () => {
  let server;
  before(async () => { server = await startLocalServer({ LIMIT_SMS_PER_PHONE: '5/1m' }); });
  after(async () => { if (server) await server.stop(); });

  it('an SMS code replaces a forgotten password; the stored session is forgotten', async () => {
    const { wx, client, phone, user } = await withBoundPhone(server, 'reset');
    await client.setPassword(PASSWORD);
    const from = server.lines.length;
    await client.sendSmsCode(phone);
    const code = await smsCodeFor(server, phone, from);
    const weak = await rejection(client.resetPassword(phone, code, 'short'));
    assert.equal(weak.code, 'WEAK_PASSWORD');
    assert.deepEqual(await client.resetPassword(phone, code, 'lantern-orbit-93-plum'), { status: 'ok' });
    assert.equal(wx.getStorageSync(KEY), '', 'the stored session is forgotten');
    const old = await rejection(client.loginWithPassword(phone, PASSWORD));
    assert.equal(old.code, 'INVALID_CREDENTIALS');
    await new Promise((r) => setTimeout(r, 1100));
    const again = await client.loginWithPassword(phone, 'lantern-orbit-93-plum');
    assert.equal(again.user.id, user.id);
  });
});

describe('changePhone by SMS (real server, 5 SMS a minute per phone)', () => {
  let server;
  before(async () => { server = await startLocalServer({ LIMIT_SMS_PER_PHONE: '5/1m' }); });
  after(async () => { if (server) await server.stop(); });

  it('a code sent to the new number moves the account; the new tokens are stored', async () => {
    const { wx, client, phone, user } = await withBoundPhone(server, 'chgsms');
    await client.setPassword(PASSWORD);
    const before = wx.getStorageSync(KEY);
    const next = nextPhone();
    const code = await sendAndRead(server, client, next);

    const wrong = await rejection(client.changePhone({ phone: next, smsCode: otherCode(code) }));
    assert.equal(wrong.code, 'INVALID_CODE');
    assert.equal(wrong.status, 401);
    assert.equal(wx.requestsTo('/auth/refresh').length, 0, 'not mistaken for a refused token');
    assert.deepEqual(wx.getStorageSync(KEY), before, 'an error keeps the session');

    const res = await client.changePhone({ phone: next, smsCode: code });

    assert.equal(res.status, 'ok');
    assert.equal(res.user.id, user.id);
    assert.equal(res.user.phone, `${next.slice(0, 3)}****${next.slice(-4)}`);
    const call = wx.requestsTo('/auth/phone/change').at(-1);
    assert.deepEqual(call.data, { phone: next, sms_code: code });
    assert.equal(call.header.authorization, `Bearer ${before.access_token}`);
    const stored = wx.getStorageSync(KEY);
    assert.notEqual(stored.refresh_token, before.refresh_token, 'the restarted session is stored');
    assert.equal(decodeJwtPayload(stored.access_token).sub, user.id);
    assert.equal((await client.exportData()).user.phone, `+86${next}`);

    // The password now goes with the new number; the old one names no account.
    await new Promise((r) => setTimeout(r, 1100));
    const other = createClient({ baseUrl: server.url, wx: freshWx('chgsmsother') });
    const old = await rejection(other.loginWithPassword(phone, PASSWORD));
    assert.equal(old.code, 'INVALID_CREDENTIALS');
    assert.equal((await client.loginWithPassword(next, PASSWORD)).user.id, user.id);
  });

  it('a number another account owns is PHONE_TAKEN (the code proves it, the rules refuse it)', async () => {
    const owner = await withBoundPhone(server, 'chgsmsowner');
    const { wx, client } = await withBoundPhone(server, 'chgsmstaker');
    const before = wx.getStorageSync(KEY);
    const code = await sendAndRead(server, client, owner.phone);

    const err = await rejection(client.changePhone({ phone: owner.phone, smsCode: code }));

    assert.equal(err.code, 'PHONE_TAKEN');
    assert.equal(err.status, 409);
    assert.match(err.requestId, /^\w+$/);
    assert.deepEqual(wx.getStorageSync(KEY), before);
  });
});
