// A fake `wx` for Node tests: wx.request over Node's http module (against real servers),
// wx.login handing out fresh codes "<user>-<counter>" (the local server's fake WeChat treats
// the part before '-' as the user), wx.checkSession, and storage in a Map. Every call is
// recorded so that tests can count logins and refreshes.
'use strict';

const http = require('node:http');

/** Codes must never repeat within one server (a code works once), so the counter is global. */
let codeCounter = 0;

function createFakeWx({ user = 'alice' } = {}) {
  const storage = new Map();
  const fake = {
    /** The fake WeChat user that wx.login logs in as; tests may switch it. */
    user,
    /** Codes to hand out before fresh ones (e.g. an already used code). */
    nextCodes: [],
    /** Make wx.login fail with this errMsg. */
    loginFailure: null,
    /** What wx.checkSession says; wx.login makes it true again, like WeChat does. */
    sessionAlive: false,
    calls: { login: 0, checkSession: 0, requests: [] },
    storage,

    /** The recorded requests whose path is `path` (e.g. '/auth/refresh'). */
    requestsTo(path) {
      return fake.calls.requests.filter((r) => new URL(r.url).pathname === path);
    },

    login({ success, fail, complete } = {}) {
      fake.calls.login += 1;
      setImmediate(() => {
        if (fake.loginFailure) {
          const err = { errMsg: fake.loginFailure };
          if (fail) fail(err);
          if (complete) complete(err);
          return;
        }
        codeCounter += 1;
        const code = fake.nextCodes.length ? fake.nextCodes.shift() : `${fake.user}-${codeCounter}`;
        fake.sessionAlive = true;
        const res = { code, errMsg: 'login:ok' };
        if (success) success(res);
        if (complete) complete(res);
      });
    },

    checkSession({ success, fail, complete } = {}) {
      fake.calls.checkSession += 1;
      setImmediate(() => {
        const res = { errMsg: fake.sessionAlive ? 'checkSession:ok' : 'checkSession:fail session time out' };
        if (fake.sessionAlive) { if (success) success(res); } else if (fail) fail(res);
        if (complete) complete(res);
      });
    },

    request({ url, method = 'GET', data, header = {}, timeout = 60000, dataType = 'json', success, fail, complete } = {}) {
      const m = String(method).toUpperCase();
      const headers = {};
      for (const [k, v] of Object.entries(header)) headers[k.toLowerCase()] = String(v);
      let target = new URL(url);
      let body = null;
      if (data !== undefined && data !== null) {
        if (m === 'GET') {
          // Like wx.request: an object becomes the query string of a GET.
          if (typeof data === 'object') {
            for (const [k, v] of Object.entries(data)) target.searchParams.append(k, String(v));
          } else target = new URL(url + (url.includes('?') ? '&' : '?') + String(data));
        } else if (typeof data === 'string' || Buffer.isBuffer(data)) {
          body = data;
        } else {
          body = JSON.stringify(data);
          if (!headers['content-type']) headers['content-type'] = 'application/json';
        }
      }
      const record = { method: m, url: target.toString(), header: { ...headers }, data };
      fake.calls.requests.push(record);
      let settled = false;
      const finish = (ok, res) => {
        if (settled) return;
        settled = true;
        if (ok) { if (success) success(res); } else if (fail) fail(res);
        if (complete) complete(res);
      };
      const req = http.request(target, { method: m, headers, timeout }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed = text;
          if (dataType === 'json') {
            try { parsed = JSON.parse(text); } catch { parsed = text; }
          }
          record.statusCode = res.statusCode;
          finish(true, { statusCode: res.statusCode, data: parsed, header: res.headers, errMsg: 'request:ok' });
        });
        res.on('error', (e) => finish(false, { errMsg: `request:fail ${e.message}` }));
      });
      req.on('timeout', () => { req.destroy(new Error('timeout')); });
      req.on('error', (e) => finish(false, { errMsg: `request:fail ${e.message}` }));
      if (body !== null) req.write(body);
      req.end();
      return { abort: () => req.destroy(new Error('abort')) };
    },

    setStorageSync(key, value) {
      storage.set(key, structuredClone(value));
    },
    getStorageSync(key) {
      // Like WeChat: a copy, and '' for a missing key.
      return storage.has(key) ? structuredClone(storage.get(key)) : '';
    },
    removeStorageSync(key) {
      storage.delete(key);
    },
  };
  return fake;
}

module.exports = { createFakeWx };
