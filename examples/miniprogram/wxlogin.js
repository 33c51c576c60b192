/**
 * wxlogin.js — the mini-program side of wxlogin: log in with wx.login, keep the tokens, call
 * your API with them, bind and change the phone number (WeChat's button or an SMS code), set and
 * log in with a password, read and edit the profile, log out. One file, CommonJS, no
 * dependencies, no build step; it only talks to `wx.*` and to your wxlogin deployment. It never
 * sees the session_key or the app secret (those stay on the server).
 *
 * Copy this file into your mini program (e.g. `utils/wxlogin.js`) and create ONE client for the
 * whole app (in app.js), so that every page shares its in-flight login/refresh:
 *
 *   const { createClient } = require('./utils/wxlogin')
 *   App({ auth: createClient({ baseUrl: 'https://abc.execute-api.ap-east-1.amazonaws.com' }) })
 *   // in a page:  const { auth } = getApp();  const res = await auth.request({ url: '/orders' })
 *
 * ─── Exports ──────────────────────────────────────────────────────────────────────────────────
 *
 * createClient({ baseUrl, appid?, storageKey?, timeout?, wx? }) → client
 *   baseUrl     your wxlogin API, e.g. 'https://api.example.com' (no trailing path needed).
 *   appid       sent with /auth/login and /auth/password/login when one deployment serves
 *               several mini programs; leave it out when the deployment has a single app.
 *   storageKey  where the session is kept with wx.setStorageSync (default 'wxlogin.session').
 *               Use a different key per baseUrl/appid if one mini program talks to several.
 *   timeout     per-HTTP-call timeout in ms handed to wx.request (default 10000).
 *   wx          the wx API object; defaults to the global `wx` (tests pass a fake).
 *
 * isWxLoginError(err) → true for the errors this module raises (see "Errors" below).
 *
 * ─── The client ───────────────────────────────────────────────────────────────────────────────
 *
 * client.login({ force? }) → Promise<{ status: 'ok', user } | { status: 'phone_required' }>
 *   Makes sure there is a session. A stored session whose refresh token is still valid is
 *   reused when wx.checkSession says the WeChat session is alive (no wx.login, no network call);
 *   otherwise it calls wx.login and POST /auth/login. `force: true` always calls wx.login (use it
 *   after SESSION_KEY_STALE, or to switch WeChat sessions). Calling login() is optional: the
 *   first call that needs a token (request(), bindPhone(), setPassword(), ...) logs in by
 *   itself. `user` is the server's `{ id, phone_bound, phone?, created }` (`created` is true
 *   only on the very first login). With SIGNUP_MODE=phone a new WeChat user gets
 *   `{ status: 'phone_required' }`: the client keeps the short-lived bind token; show the
 *   getPhoneNumber button and call bindPhone() (or bindPhoneBySms(), or loginWithPassword()).
 *
 * client.request(options) → Promise<{ statusCode, data, header }>
 *   wx.request with `Authorization: Bearer <access token>`. options are wx.request's (url,
 *   method, data, header, timeout, dataType, responseType, ...) plus `auth: false` to send no
 *   token. A url starting with '/' is appended to baseUrl; an absolute url is used as is (the
 *   token goes wherever you point it: only use your own API). Resolves for 2xx answers,
 *   rejects with an error (below) for everything else.
 *   Token handling:
 *   - an access token about to expire (within min(60 s, 10% of its lifetime)) is refreshed
 *     before the call (POST /auth/refresh, which rotates the refresh token);
 *   - an answer that says the token was refused — 401 (except INVALID_CODE, SESSION_KEY_STALE
 *     and INVALID_CREDENTIALS) or API Gateway's authorizer deny `403 {"message":"Forbidden"}`
 *     (not a 403 with our error body, e.g. PHONE_REQUIRED) — refreshes ONCE and
 *     retries ONCE; if the refresh itself is refused (REFRESH_REVOKED, expired, ...) it logs in
 *     again with wx.login and retries once. A second refusal is returned to you as an error.
 *   - one client runs at most one login/refresh at a time: concurrent calls that all find the
 *     token expired wait for the same refresh (or the same wx.login).
 *   With a pending `phone_required` session it rejects with PHONE_REQUIRED (nothing is sent).
 *
 * client.bindPhone(e) → Promise<{ status: 'ok', user }>
 *   The handler for <button open-type="getPhoneNumber" bindgetphonenumber="onPhone">:
 *   `onPhone(e) { getApp().auth.bindPhone(e).then(...) }`. Posts `{ code: e.detail.code }`
 *   (base library ≥ 2.21.2) or, on older clients, `{ encrypted_data, iv }` from
 *   e.detail.encryptedData / e.detail.iv to POST /auth/phone, with the access token as Bearer —
 *   or with the bind token when the login answered phone_required. On success the returned
 *   tokens replace the stored ones (in phone signup mode this is where the account is made).
 *   A user who refuses the prompt gives PHONE_DENIED (no network call). On SESSION_KEY_STALE
 *   the client has already called wx.login again before rejecting: ask the user to tap again.
 *
 * client.loginWithPhone(e) → Promise<{ status: 'ok' | 'phone_required', user, phoneError }>
 *   Signs in AND binds the phone in one request, for a "log in with my phone number" button
 *   (<button open-type="getPhoneNumber" bindgetphonenumber="onPhone">): POST /auth/login with
 *   a wx.login code and the proof of `e` — `{ code, phone_code: e.detail.code }` (new style), or
 *   legacy `{ code, encrypted_data, iv }` — plus `appid` when the client has one. The answer
 *   is stored as login() stores it (it replaces any session the client had), and
 *   `user` is the server's user (null with phone_required). `phoneError` is null when the phone
 *   is bound (or was bound already: then the proof is ignored and nothing is spent); when the
 *   server refused the proof but the login went through, it is an error of this module
 *   (`.code` PHONE_TAKEN, INVALID_CODE, DECRYPT_FAILED, RATE_LIMITED + `.retryAfter`, ...;
 *   `.status` the HTTP status the bind would have had) — NOT thrown: the session stands.
 *   With SIGNUP_MODE=phone a refused proof gives `{ status: 'phone_required', user: null,
 *   phoneError }` and the bind token is kept. Either way the next tap goes to bindPhone(e)
 *   (the server holds the session_key of the code just sent, so legacy data works there).
 *   The code: legacy data is encrypted under the session_key of the LATEST wx.login before the
 *   tap, and a wx.login after it may change that key, so the code must come from before the
 *   tap: call prepareLogin() when the button is shown. A code it holds is used for both styles;
 *   new-style codes without one get a fresh wx.login. Legacy data without a held code rejects
 *   with NOT_PREPARED (nothing sent) and prepares a code, so the next tap works; so does
 *   a legacy attempt that failed (INVALID_CODE, NETWORK_ERROR, ...). A refused prompt is
 *   PHONE_DENIED (nothing sent). Errors of the login itself reject as login()'s do and keep
 *   the session. Other callers that need a token meanwhile wait for this login.
 *
 * client.prepareLogin() → Promise<{ expiresIn }>
 *   Calls wx.login now and holds the code (memory only, never sent) for loginWithPhone(): for
 *   `expiresIn` = 240 s (WeChat's codes live 300 s). Call it in the page's onShow (again on a
 *   timer if the page may stay open longer). A later call replaces the held code; a wx.login
 *   of the client's own (login(), a re-login after a refused refresh) while a code is held
 *   replaces it with another (one more wx.login), since that wx.login may have changed
 *   WeChat's session_key. Rejects with WX_LOGIN_FAILED when wx.login fails.
 *
 * client.sendSmsCode(phone) → Promise<{ status: 'sent', expires_in }>
 *   POST /auth/sms/send: texts a 6-digit code (valid expires_in = 300 s) to `phone` (11 mainland
 *   digits, or E.164 '+86…'). Sends no token. The server allows 1 send a minute and 10 a day per
 *   phone (and 20 an hour per caller IP): RATE_LIMITED with err.retryAfter past that.
 *
 * client.bindPhoneBySms(phone, code) → Promise<{ status: 'ok', user }>
 *   Like bindPhone(), with the code the user typed: posts `{ phone, sms_code }` to POST
 *   /auth/phone with the access token, or the bind token after phone_required (then this is
 *   where the account is made). Stores the returned tokens. A wrong, expired or used code is
 *   INVALID_CODE (5 tries per code, then send a new one).
 *
 * client.changePhone(e | { phone, smsCode }) → Promise<{ status: 'ok', user }>
 *   Replaces the account's bound phone with a new number, proved like a bind: the
 *   getPhoneNumber event `e` (`{ code }`, or legacy `{ encrypted_data, iv }`, as bindPhone()
 *   sends), or `{ phone, smsCode }` with a code sent to the NEW number (sendSmsCode first),
 *   posted as `{ phone, sms_code }`. POST /auth/phone/change through request() (the access
 *   token; same token handling). The server moves the number in one step (the old one is free
 *   at once), ENDS EVERY OTHER SESSION of the user and restarts this one: the fresh tokens it
 *   answers with are stored. The current number again is a success with nothing moved.
 *   A number another account owns is PHONE_TAKEN; an account without a phone is PHONE_REQUIRED
 *   (bind one with bindPhone() / bindPhoneBySms()); with a phone_required session it is
 *   PHONE_REQUIRED on the device (nothing is sent). A refused prompt is PHONE_DENIED, a wrong
 *   SMS code INVALID_CODE, SESSION_KEY_STALE as for bindPhone(). Errors keep the session.
 *
 * client.setPassword(password, oldPassword?) → Promise<{ status: 'ok', user }>
 *   POST /auth/password with the access token. The account needs a bound phone
 *   (PHONE_REQUIRED); changing an existing password needs `oldPassword` (INVALID_CREDENTIALS when
 *   it is missing or wrong); a password the policy refuses is WEAK_PASSWORD (the message says
 *   why). The server ends EVERY session of the user, on every device, and answers with fresh
 *   tokens for this one, which the client stores.
 *
 * client.loginWithPassword(phone, password) → Promise<{ status: 'ok', user }>
 *   POST /auth/password/login (with `appid` when the client has one); no wx.login. After a
 *   phone_required login the client sends its bind token, so that the server links this WeChat
 *   user to the account (DESIGN §3: PHONE_TAKEN when the account already has another WeChat user
 *   of this app). Otherwise it sends no token: the account must have used this mini program
 *   before. Stores the returned tokens (replacing any session the client had). Wrong password
 *   and unknown phone are the same INVALID_CREDENTIALS; 5 failures in a 15-minute window lock
 *   the phone (RATE_LIMITED + retryAfter).
 *
 * client.resetPassword(phone, smsCode, password) → Promise<{ status: 'ok' }>
 *   POST /auth/password/reset (no token): a forgotten password replaced with an SMS code sent to
 *   the account's phone (sendSmsCode first). Every session of the account ends, this device's
 *   included: the stored session is forgotten; log in again with loginWithPassword(). A weak
 *   password is WEAK_PASSWORD and leaves the code usable.
 *
 * client.getProfile() → Promise<{ id, appid, phone_bound, phone?, nickname?, avatar_url?, created_at }>
 *   GET /auth/me through request() (same token handling).
 *
 * client.exportData() → Promise<{ exported_at, user, wechat, current_session, not_listed }>
 *   GET /auth/me/export through request(): every personal datum the server holds about the user
 *   (for a "download my data" page; PIPL). The phone is whole; no secret is in it.
 *
 * client.deleteAccount() → Promise<{ deleted: true }>
 *   DELETE /auth/me through request(): deletes the user's account on the server (PIPL; 注销),
 *   then forgets the stored session. The next login() makes a new user. Ask the user to confirm
 *   first: nothing can bring the account back.
 *
 * client.updateProfile({ nickname?, avatarUrl? }) → Promise<profile>
 *   PUT /auth/me with `{ nickname, avatar_url }` (only the fields given; nickname 1–32
 *   characters, avatar an https URL) through request(); resolves the updated profile. PUT,
 *   not PATCH: wx.request documents no PATCH method.
 *
 * client.logout({ all? }) → Promise<{ revoked: boolean, error? }>
 *   Forgets the stored session at once, then asks the server to revoke it (POST /auth/logout,
 *   `{"all": true}` revokes every session of the user). Never rejects: `revoked` says whether
 *   the server confirmed; when it is false the old refresh token simply expires on its own.
 *
 * client.getUser() → the stored `user` object, or null (no network call).
 *
 * ─── Errors ───────────────────────────────────────────────────────────────────────────────────
 *
 * Every rejection is an Error with
 *   .code       the server's error code (DESIGN §6), or one of this module's codes below;
 *               an answer without our error body gives 'HTTP_<status>'.
 *   .status     the HTTP status, or 0 when no HTTP answer was involved.
 *   .requestId  the server's request_id (quote it in bug reports), or '' .
 *   .retryAfter seconds from a Retry-After header, or undefined.
 *   .data       the parsed response body, when there was one.
 * Codes a mini program must handle:
 *   INVALID_CODE          the wx.login code was refused (used twice, expired): call login() again.
 *                         From bindPhoneBySms() or changePhone(): the SMS code is wrong,
 *                         expired or used up: ask again, or send a new one.
 *   SESSION_KEY_STALE     the phone data was encrypted under an old WeChat session; the client has
 *                         already run wx.login again: ask the user to tap the phone button again.
 *   PHONE_TAKEN           the phone number belongs to another account: tell the user.
 *   PHONE_ALREADY_BOUND   this account already has a different phone number: tell the user.
 *   INVALID_CREDENTIALS   (401) wrong phone or password, or a missing/wrong old password in
 *                         setPassword(): ask again. Never treated as a refused token.
 *   WEAK_PASSWORD         (400) setPassword(): too short, too common, or the phone number;
 *                         show err.message and ask for another.
 *   INVALID_REQUEST       (400) a malformed phone number, SMS code, nickname or avatar URL.
 *   PHONE_REQUIRED        the account needs a phone number first: raised on the device
 *                         (status 0) while the session is phone_required (SIGNUP_MODE=phone), or
 *                         by the server (403) when setPassword() or changePhone() finds no bound
 *                         phone. Bind one (bindPhone() or bindPhoneBySms()), then try again.
 *   DECRYPT_FAILED        the legacy encrypted phone data was not valid: ask the user to tap again.
 *   RATE_LIMITED          WeChat's quota, the SMS send limits, or the password lock: wait
 *                         err.retryAfter seconds before retrying.
 *   UPSTREAM_UNAVAILABLE, SERVICE_UNAVAILABLE, MISCONFIGURED
 *                         the server or WeChat is unavailable: retry later (honour retryAfter).
 *   LOGIN_BLOCKED         WeChat refused this user (risk control): nothing to retry.
 *   UNKNOWN_APP           the `appid` option is not configured on the server: a setup bug.
 * Codes raised on the device (status 0):
 *   NETWORK_ERROR         wx.request failed (offline, timeout, domain not whitelisted).
 *   WX_LOGIN_FAILED       wx.login failed.
 *   PHONE_DENIED          the user refused the phone prompt (e.detail had no code/encryptedData).
 *   NOT_LOGGED_IN         the session was cleared (logout) while a call was waiting for it.
 *   NOT_PREPARED          loginWithPhone() got legacy phone data without a code from
 *                         prepareLogin(): it has prepared one now; ask the user to tap again.
 *   BAD_RESPONSE          the server answered 2xx with a body this client does not understand.
 *
 * Written in ES5 plus Promise (no classes, arrow functions, async/await or spread), so it runs on
 * any base library without "enhanced compile". Expiry times are kept as "device clock at receipt
 * + expires_in", so a device clock that is off does not make a fresh token look expired.
 */
'use strict';

var DEFAULT_STORAGE_KEY = 'wxlogin.session';
var DEFAULT_TIMEOUT_MS = 10000;
/** A refresh token (or bind token) this close to its end is treated as gone. */
var TOKEN_END_MARGIN_MS = 30 * 1000;
/**
 * How long a code from prepareLogin() is held for loginWithPhone(): WeChat's login codes live 5
 * minutes; a minute is left for the user's tap and the request.
 */
var PREPARED_CODE_MS = 4 * 60 * 1000;
/** 401 codes that are about something else than the token (no refresh, no retry). */
var NOT_TOKEN_401 = { INVALID_CODE: true, SESSION_KEY_STALE: true, INVALID_CREDENTIALS: true };

function makeError(code, message, extra) {
  var err = new Error(message || code);
  err.name = 'WxLoginError';
  err.code = code;
  err.status = 0;
  err.requestId = '';
  err.retryAfter = undefined;
  err.isWxLoginError = true;
  if (extra) {
    Object.keys(extra).forEach(function (k) { err[k] = extra[k]; });
  }
  return err;
}

function isWxLoginError(err) {
  return !!(err && err.isWxLoginError === true);
}

function headerValue(headers, name) {
  if (!headers) return undefined;
  var wanted = name.toLowerCase();
  var keys = Object.keys(headers);
  for (var i = 0; i < keys.length; i++) {
    if (keys[i].toLowerCase() === wanted) return headers[keys[i]];
  }
  return undefined;
}

function parseBody(data) {
  if (typeof data === 'string') {
    try { return JSON.parse(data); } catch (_) { return data; }
  }
  return data;
}

/** The error for a non-2xx answer: our `{"error":{code,message,request_id}}` when present. */
function errorFromResponse(res) {
  var body = parseBody(res.data);
  var e = body && typeof body === 'object' && body.error && typeof body.error === 'object' ? body.error : null;
  var retry = headerValue(res.header, 'Retry-After');
  var retryAfter = retry !== undefined && /^\d+$/.test(String(retry).trim()) ? Number(retry) : undefined;
  var code = e && typeof e.code === 'string' ? e.code : 'HTTP_' + res.statusCode;
  var message = e && e.message
    ? e.message
    : (body && typeof body === 'object' && typeof body.message === 'string' ? body.message : 'HTTP ' + res.statusCode);
  return makeError(code, message, {
    status: res.statusCode,
    requestId: e && typeof e.request_id === 'string' ? e.request_id : '',
    retryAfter: retryAfter,
    data: body,
    header: res.header,
  });
}

function isOk(res) {
  return res.statusCode >= 200 && res.statusCode < 300;
}

/** Whether an answer says "your token was refused" (so a refresh can help). */
function isTokenRefused(res) {
  var body = parseBody(res.data);
  var e = body && typeof body === 'object' ? body.error : null;
  if (res.statusCode === 401) {
    return !(e && typeof e.code === 'string' && NOT_TOKEN_401[e.code]);
  }
  // API Gateway HTTP API: a Lambda authorizer's simple response {isAuthorized:false} is a 403
  // with exactly this body, which is what an expired or revoked token gets there.
  return res.statusCode === 403 && !e && !!body && typeof body === 'object' && body.message === 'Forbidden';
}

function createClient(options) {
  options = options || {};
  if (!options.baseUrl || typeof options.baseUrl !== 'string') {
    throw new TypeError('createClient: baseUrl is required, e.g. "https://api.example.com"');
  }
  var baseUrl = options.baseUrl.replace(/\/+$/, '');
  var appid = options.appid;
  var storageKey = options.storageKey || DEFAULT_STORAGE_KEY;
  var timeout = options.timeout || DEFAULT_TIMEOUT_MS;

  /** The one login/refresh in flight: { mode: 'login' | 'renew', promise }. */
  var inflight = null;
  /** Bumped by logout(): a login/refresh that started before it must not save its tokens. */
  var epoch = 0;
  /**
   * The wx.login code prepareLogin() holds for loginWithPhone(): { code, at, promise } (code
   * null while wx.login runs), or null. Memory only: a code is single-use and short-lived.
   */
  var prepared = null;

  function api() {
    if (options.wx) return options.wx;
    if (typeof wx !== 'undefined') return wx; // eslint-disable-line no-undef
    throw new Error('wxlogin: no `wx` object (pass createClient({ wx }) outside a mini program)');
  }

  // ── storage ──────────────────────────────────────────────────────────────────────────────

  function load() {
    var s;
    try { s = api().getStorageSync(storageKey); } catch (_) { return null; }
    if (typeof s === 'string' && s) {
      try { s = JSON.parse(s); } catch (_) { return null; }
    }
    if (!s || typeof s !== 'object') return null;
    if (s.status === 'ok' && typeof s.access_token === 'string' && typeof s.refresh_token === 'string') return s;
    if (s.status === 'phone_required' && typeof s.bind_token === 'string') return s;
    return null;
  }

  function store(s) {
    try { api().setStorageSync(storageKey, s); } catch (_) { /* storage full: keep working in memory-less mode */ }
  }

  function clear() {
    try { api().removeStorageSync(storageKey); } catch (_) { /* nothing stored */ }
  }

  function refreshUsable(s) {
    return !!s && s.status === 'ok' && Date.now() < s.refresh_expires_at - TOKEN_END_MARGIN_MS;
  }

  function bindUsable(s) {
    return !!s && s.status === 'phone_required' && Date.now() < s.bind_expires_at - TOKEN_END_MARGIN_MS;
  }

  function accessFresh(s) {
    if (!s || s.status !== 'ok') return false;
    var ttlMs = (s.access_ttl || 0) * 1000;
    var early = Math.min(60 * 1000, ttlMs / 10);
    return Date.now() < s.access_expires_at - early;
  }

  /** Saves a login/refresh/phone answer (unless a logout happened since `startEpoch`). */
  function saveAnswer(data, startEpoch) {
    var now = Date.now();
    var s;
    if (data && data.status === 'ok' && typeof data.access_token === 'string' && typeof data.refresh_token === 'string') {
      var ttl = Number(data.expires_in) || 0;
      s = {
        status: 'ok',
        access_token: data.access_token,
        access_ttl: ttl,
        access_expires_at: now + ttl * 1000,
        refresh_token: data.refresh_token,
        refresh_expires_at: now + (Number(data.refresh_expires_in) || 0) * 1000,
        user: data.user || null,
      };
    } else if (data && data.status === 'phone_required' && typeof data.bind_token === 'string') {
      s = {
        status: 'phone_required',
        bind_token: data.bind_token,
        bind_expires_at: now + (Number(data.expires_in) || 0) * 1000,
      };
    } else {
      throw makeError('BAD_RESPONSE', 'The server answered with an unexpected body.', { data: data });
    }
    if (startEpoch === epoch) store(s);
    return s;
  }

  function result(s) {
    return s.status === 'ok' ? { status: 'ok', user: s.user } : { status: 'phone_required' };
  }

  // ── wx wrappers ──────────────────────────────────────────────────────────────────────────

  function wxRequest(opts) {
    return new Promise(function (resolve, reject) {
      var params = {};
      Object.keys(opts).forEach(function (k) { if (k !== 'auth') params[k] = opts[k]; });
      params.timeout = opts.timeout || timeout;
      params.success = resolve;
      params.fail = function (err) {
        reject(makeError('NETWORK_ERROR', (err && err.errMsg) || 'request failed', { cause: err }));
      };
      api().request(params);
    });
  }

  function absolute(url) {
    if (typeof url !== 'string' || !url) throw new TypeError('wxlogin: request needs a url');
    return /^https?:\/\//i.test(url) ? url : baseUrl + (url.charAt(0) === '/' ? url : '/' + url);
  }

  function withBearer(header, token) {
    var h = {};
    Object.keys(header || {}).forEach(function (k) {
      if (k.toLowerCase() !== 'authorization') h[k] = header[k];
    });
    if (token) h.Authorization = 'Bearer ' + token;
    return h;
  }

  /** POST to one of our /auth routes: resolves the body of a 2xx, rejects otherwise. */
  function postAuth(path, body, token) {
    return wxRequest({
      url: baseUrl + path,
      method: 'POST',
      data: body,
      header: withBearer({ 'content-type': 'application/json' }, token),
    }).then(function (res) {
      if (!isOk(res)) throw errorFromResponse(res);
      return parseBody(res.data);
    });
  }

  /**
   * A wx.login code for a login of this client. wx.login may give WeChat a new session_key, and
   * legacy phone data is encrypted under the latest one: a code prepareLogin() holds would no
   * longer match it, so it is replaced by a fresh one (one more wx.login, after this one).
   */
  function wxLoginCode() {
    return rawWxLogin().then(function (code) {
      if (prepared && (prepared.code === null || preparedFresh(prepared))) {
        prepareLogin().then(null, function () { /* the next loginWithPhone() says NOT_PREPARED */ });
      }
      return code;
    });
  }

  function rawWxLogin() {
    return new Promise(function (resolve, reject) {
      api().login({
        timeout: timeout,
        success: function (res) {
          if (res && res.code) resolve(res.code);
          else reject(makeError('WX_LOGIN_FAILED', (res && res.errMsg) || 'wx.login gave no code'));
        },
        fail: function (err) {
          reject(makeError('WX_LOGIN_FAILED', (err && err.errMsg) || 'wx.login failed', { cause: err }));
        },
      });
    });
  }

  function wxSessionAlive() {
    return new Promise(function (resolve) {
      try {
        api().checkSession({
          success: function () { resolve(true); },
          fail: function () { resolve(false); },
        });
      } catch (_) {
        resolve(false);
      }
    });
  }

  // ── login / refresh (one at a time) ──────────────────────────────────────────────────────

  function doLogin() {
    var startEpoch = epoch;
    return wxLoginCode().then(function (code) {
      var body = { code: code };
      if (appid) body.appid = appid;
      return postAuth('/auth/login', body);
    }).then(function (data) {
      return saveAnswer(data, startEpoch);
    });
  }

  /** Refresh when the stored refresh token allows it; when the server refuses it, log in. */
  function doRenew() {
    var s = load();
    if (!refreshUsable(s)) return doLogin();
    var startEpoch = epoch;
    return postAuth('/auth/refresh', { refresh_token: s.refresh_token }).then(function (data) {
      return saveAnswer(data, startEpoch);
    }, function (err) {
      // 400/401 (REFRESH_REVOKED, UNAUTHORIZED, INVALID_REQUEST): this token is dead for good.
      // Anything else (network, 429, 5xx) is passing: keep the session and report it.
      if (err.status === 400 || err.status === 401) {
        if (startEpoch === epoch) {
          var now = load();
          if (now && now.refresh_token === s.refresh_token) clear();
        }
        return doLogin();
      }
      throw err;
    });
  }

  /**
   * Runs `mode` ('login' = wx.login; 'renew' = refresh, else wx.login) unless one is in flight,
   * in which case the caller shares it. A forced login waits for a running refresh and then
   * starts (or joins) a login.
   */
  function runExclusive(mode) {
    if (inflight) {
      if (mode === 'login' && inflight.mode !== 'login') {
        var settle = function () { return runExclusive('login'); };
        return inflight.promise.then(settle, settle);
      }
      return inflight.promise;
    }
    var entry = { mode: mode, promise: null };
    var done = function () { if (inflight === entry) inflight = null; };
    entry.promise = (mode === 'login' ? doLogin() : doRenew()).then(function (s) {
      done();
      return s;
    }, function (err) {
      done();
      throw err;
    });
    inflight = entry;
    return entry.promise;
  }

  function login(opts) {
    var force = !!(opts && opts.force);
    if (!force) {
      if (inflight) return inflight.promise.then(result);
      var s = load();
      if (refreshUsable(s) || bindUsable(s)) {
        return wxSessionAlive().then(function (alive) {
          if (alive) {
            var again = load();
            if (refreshUsable(again) || bindUsable(again)) return result(again);
          }
          return runExclusive('login').then(result);
        });
      }
    }
    return runExclusive('login').then(result);
  }

  function currentAccessToken() {
    var s = load();
    if (s && s.status === 'ok') return s.access_token;
    if (s && s.status === 'phone_required') {
      throw makeError('PHONE_REQUIRED', 'This account needs a phone number: call bindPhone() from the getPhoneNumber button.');
    }
    throw makeError('NOT_LOGGED_IN', 'The session was cleared.');
  }

  /** A usable access token: the stored one, refreshed in advance, or from a first login. */
  function accessToken() {
    var s = load();
    if (accessFresh(s)) return Promise.resolve(s.access_token);
    if (s && s.status === 'ok') return runExclusive('renew').then(currentAccessToken);
    if (bindUsable(s)) return Promise.resolve().then(currentAccessToken);
    return runExclusive('login').then(currentAccessToken);
  }

  /** After `token` was refused: a newer token if someone already renewed, else renew once. */
  function tokenAfterRefusal(token) {
    var s = load();
    if (!inflight && accessFresh(s) && s.access_token !== token) return Promise.resolve(s.access_token);
    return runExclusive('renew').then(currentAccessToken);
  }

  // ── public methods ───────────────────────────────────────────────────────────────────────

  /**
   * A current access token, for a call request() does not make for you (exchanging it for AWS
   * credentials, a WebSocket): the stored one, renewed when it is about to expire, or from a
   * first login. Never a bind token: a phone_required session rejects with PHONE_REQUIRED.
   */
  function getAccessToken() {
    return Promise.resolve().then(accessToken);
  }

  function request(opts) {
    return Promise.resolve().then(function () { return authorizedRequest(opts || {}); });
  }

  function authorizedRequest(opts) {
    var url = absolute(opts.url);
    var send = function (token) {
      var o = {};
      Object.keys(opts).forEach(function (k) { o[k] = opts[k]; });
      o.url = url;
      o.header = withBearer(opts.header, token);
      return wxRequest(o);
    };
    var finish = function (res) {
      if (!isOk(res)) throw errorFromResponse(res);
      return res;
    };
    if (opts.auth === false) return send(null).then(finish);
    return accessToken().then(function (token) {
      return send(token).then(function (res) {
        if (!isTokenRefused(res)) return finish(res);
        return tokenAfterRefusal(token).then(send).then(finish);
      });
    });
  }

  /** The Bearer for /auth/phone: the access token, else the bind token, else log in first. */
  function phoneBearer(loggedIn) {
    var s = load();
    if (s && s.status === 'ok') {
      return accessToken().then(function (t) { return { kind: 'access', token: t }; });
    }
    if (bindUsable(s)) return Promise.resolve({ kind: 'bind', token: s.bind_token });
    if (loggedIn) return Promise.reject(makeError('NOT_LOGGED_IN', 'The session was cleared.'));
    return runExclusive('login').then(function () { return phoneBearer(true); });
  }

  /** The proof in a getPhoneNumber event (or its detail): `{code}`, else legacy `{encrypted_data, iv}`. */
  function buttonProof(e) {
    var detail = (e && e.detail) || e || {};
    if (detail.code) return { code: detail.code };
    if (detail.encryptedData && detail.iv) return { encrypted_data: detail.encryptedData, iv: detail.iv };
    throw makeError('PHONE_DENIED', detail.errMsg || 'The user did not share a phone number.');
  }

  // ── login and phone in one request ───────────────────────────────────────────────────────

  /**
   * Runs `task` (a function returning a promise of a saved session) as THE login in flight,
   * after any login/refresh in flight has settled: callers that need a token meanwhile wait
   * for it instead of starting a wx.login of their own.
   */
  function exclusiveLogin(task) {
    var ignore = function () {};
    if (inflight) {
      return inflight.promise.then(ignore, ignore).then(function () { return exclusiveLogin(task); });
    }
    var entry = { mode: 'login', promise: null };
    var done = function () { if (inflight === entry) inflight = null; };
    entry.promise = Promise.resolve().then(task).then(function (s) {
      done();
      return s;
    }, function (err) {
      done();
      throw err;
    });
    inflight = entry;
    return entry.promise;
  }

  function preparedFresh(p) {
    return !!p && p.code !== null && Date.now() < p.at + PREPARED_CODE_MS;
  }

  function prepareLogin() {
    var entry = { code: null, at: Date.now(), promise: null };
    prepared = entry;
    entry.promise = rawWxLogin().then(function (code) {
      if (prepared === entry) entry.code = code;
      return { expiresIn: Math.round((entry.at + PREPARED_CODE_MS - Date.now()) / 1000) };
    }, function (err) {
      if (prepared === entry) prepared = null;
      throw err;
    });
    return entry.promise;
  }

  /** The held code if it is still fresh (waiting for a prepareLogin() in flight), taken; else null. */
  function takePrepared() {
    var p = prepared;
    if (!p) return Promise.resolve(null);
    var take = function () {
      if (prepared !== p || !preparedFresh(p)) {
        if (prepared === p) prepared = null;
        return null;
      }
      prepared = null;
      return p.code;
    };
    return p.promise.then(take, function () { return null; });
  }

  /** A phone_error beside a login answer, as an error of this module (not thrown). */
  function phoneErrorFrom(pe) {
    if (!pe || typeof pe !== 'object') return null;
    var code = typeof pe.code === 'string' ? pe.code : 'PHONE_ERROR';
    return makeError(code, typeof pe.message === 'string' ? pe.message : code, {
      status: Number(pe.status) || 0,
      requestId: typeof pe.request_id === 'string' ? pe.request_id : '',
      retryAfter: typeof pe.retry_after === 'number' ? pe.retry_after : undefined,
      data: pe,
    });
  }

  function loginWithPhone(e) {
    var proof;
    try { proof = buttonProof(e); } catch (err) { return Promise.reject(err); }
    var legacy = !proof.code;
    var notPrepared = function () {
      // WeChat encrypted the data under the session_key of its latest wx.login, which this
      // client cannot name: get a code now so that the next tap works.
      prepareLogin().then(null, function () {});
      return makeError('NOT_PREPARED', 'Legacy phone data needs a wx.login code from before the tap: call prepareLogin() when the phone button is shown, then ask the user to tap again.');
    };
    if (legacy && !prepared) return Promise.reject(notPrepared());
    var phoneError = null;
    return exclusiveLogin(function () {
      var startEpoch = epoch;
      return takePrepared().then(function (heldCode) {
        if (legacy && !heldCode) throw notPrepared();
        return heldCode || wxLoginCode();
      }).then(function (code) {
        var body = { code: code };
        if (appid) body.appid = appid;
        if (legacy) {
          body.encrypted_data = proof.encrypted_data;
          body.iv = proof.iv;
        } else {
          body.phone_code = proof.code;
        }
        return postAuth('/auth/login', body);
      }).then(function (data) {
        phoneError = phoneErrorFrom(data && data.phone_error);
        return saveAnswer(data, startEpoch);
      });
    }).then(function (s) {
      // No new wx.login here, even when the phone was refused: the server now holds the
      // session_key of the code just sent, which is WeChat's current one, so bindPhone(e)
      // (with the session or the bind token just stored) decrypts the next tap's data.
      var r = result(s);
      return { status: r.status, user: r.status === 'ok' ? r.user : null, phoneError: phoneError };
    }, function (err) {
      // The held code is spent or refused (INVALID_CODE, network, ...): hold a fresh one so
      // that the next tap works.
      if (legacy && err && err.code !== 'NOT_PREPARED') prepareLogin().then(null, function () {});
      throw err;
    });
  }

  function bindPhone(e) {
    var body;
    try { body = buttonProof(e); } catch (err) { return Promise.reject(err); }
    return postPhone(body);
  }

  function bindPhoneBySms(phone, smsCode) {
    return postPhone({ phone: String(phone), sms_code: String(smsCode) });
  }

  /** POST /auth/phone with `body`, as the access token or the bind token; stores the answer. */
  function postPhone(body) {
    var startEpoch = epoch;
    var send = function (bearer) { return wxRequest({
      url: baseUrl + '/auth/phone',
      method: 'POST',
      data: body,
      header: withBearer({ 'content-type': 'application/json' }, bearer.token),
    }); };
    return phoneBearer(false).then(function (bearer) {
      return send(bearer).then(function (res) {
        if (!isTokenRefused(res)) return res;
        // An expired access token is refreshed; an expired bind token needs a new wx.login.
        var renewed = bearer.kind === 'access'
          ? tokenAfterRefusal(bearer.token).then(function (t) { return { kind: 'access', token: t }; })
          : runExclusive('login').then(function () { return phoneBearer(true); });
        return renewed.then(send);
      });
    }).then(function (res) {
      if (!isOk(res)) throw errorFromResponse(res);
      var data = parseBody(res.data);
      if (data && typeof data.access_token === 'string') return result(saveAnswer(data, startEpoch));
      // An answer without new tokens: keep the session, update the user.
      var s = load();
      if (data && data.user && s && s.status === 'ok' && startEpoch === epoch) {
        s.user = data.user;
        store(s);
      }
      return { status: 'ok', user: data && data.user ? data.user : (s && s.user) || null };
    }).catch(afterStaleKey);
  }

  /** Rethrows `err`; after SESSION_KEY_STALE, once a wx.login has run. */
  function afterStaleKey(err) {
    if (err && err.code === 'SESSION_KEY_STALE') {
      // Get WeChat and the server a fresh session_key so that the next tap works.
      var rethrow = function () { throw err; };
      return runExclusive('login').then(rethrow, rethrow);
    }
    throw err;
  }

  function changePhone(proof) {
    var body;
    if (proof && !proof.detail && (proof.phone !== undefined || proof.smsCode !== undefined)) {
      // An SMS proof; a half one goes as is and the server says INVALID_REQUEST.
      body = {};
      if (proof.phone !== undefined) body.phone = String(proof.phone);
      if (proof.smsCode !== undefined) body.sms_code = String(proof.smsCode);
    } else {
      try { body = buttonProof(proof); } catch (err) { return Promise.reject(err); }
    }
    var startEpoch = epoch;
    return request({ url: '/auth/phone/change', method: 'POST', data: body, header: { 'content-type': 'application/json' } })
      .then(function (res) {
        // The server ended every other session and restarted this one: these tokens replace it.
        return result(saveAnswer(parseBody(res.data), startEpoch));
      })
      .catch(afterStaleKey);
  }

  function sendSmsCode(phone) {
    // No token: the server does not need one (it limits sends per phone and per caller IP).
    return Promise.resolve().then(function () {
      return postAuth('/auth/sms/send', { phone: String(phone) });
    });
  }

  function setPassword(password, oldPassword) {
    var body = { password: password };
    if (oldPassword !== undefined && oldPassword !== null) body.old_password = oldPassword;
    var startEpoch = epoch;
    return request({ url: '/auth/password', method: 'POST', data: body, header: { 'content-type': 'application/json' } })
      .then(function (res) {
        // The server ended every session, this one included: these tokens are the only live ones.
        return result(saveAnswer(parseBody(res.data), startEpoch));
      });
  }

  function resetPassword(phone, smsCode, password) {
    var body = { phone: String(phone), sms_code: String(smsCode), password: password };
    return postAuth('/auth/password/reset', body).then(function (data) {
      // Every session of the account ended on the server; a session stored here is dead.
      epoch += 1;
      clear();
      return data;
    });
  }

  function loginWithPassword(phone, password) {
    var body = { phone: String(phone), password: password };
    if (appid) body.appid = appid;
    var send = function (bindToken) { return wxRequest({
      url: baseUrl + '/auth/password/login',
      method: 'POST',
      data: body,
      header: withBearer({ 'content-type': 'application/json' }, bindToken),
    }); };
    var ignore = function () {};
    // A wx.login in flight may bring the bind token this login should carry: let it finish.
    var settled = inflight ? inflight.promise.then(ignore, ignore) : Promise.resolve();
    return settled.then(function () {
      var startEpoch = epoch;
      var s = load();
      // Only a bind token goes along (it links this WeChat user to the account); an access
      // token would add nothing, since this login replaces that session anyway.
      var bindToken = bindUsable(s) ? s.bind_token : null;
      return send(bindToken).then(function (res) {
        if (!bindToken || !isTokenRefused(res)) return res;
        // The bind token was refused (expired, keys rotated): wx.login once and try again.
        return runExclusive('login').then(function (fresh) {
          return send(fresh && fresh.status === 'phone_required' ? fresh.bind_token : null);
        });
      }).then(function (res) {
        if (!isOk(res)) throw errorFromResponse(res);
        return result(saveAnswer(parseBody(res.data), startEpoch));
      });
    });
  }

  function getProfile() {
    return request({ url: '/auth/me' }).then(function (res) { return profileFrom(res); });
  }

  function exportData() {
    return request({ url: '/auth/me/export' }).then(function (res) {
      var data = parseBody(res.data);
      if (!data || typeof data !== 'object' || !data.user || typeof data.user.id !== 'string') {
        throw makeError('BAD_RESPONSE', 'The server answered with an unexpected body.', { status: res.statusCode, data: data });
      }
      return data;
    });
  }

  function deleteAccount() {
    return request({ url: '/auth/me', method: 'DELETE' }).then(function (res) {
      var data = parseBody(res.data);
      if (!data || data.status !== 'deleted') {
        throw makeError('BAD_RESPONSE', 'The server answered with an unexpected body.', { status: res.statusCode, data: data });
      }
      // The session went with the account: forget it (a login or refresh in flight is not saved).
      epoch += 1;
      clear();
      return { deleted: true };
    });
  }

  function updateProfile(fields) {
    fields = fields || {};
    var body = {};
    if (fields.nickname !== undefined) body.nickname = fields.nickname;
    if (fields.avatarUrl !== undefined) body.avatar_url = fields.avatarUrl;
    return request({ url: '/auth/me', method: 'PUT', data: body, header: { 'content-type': 'application/json' } })
      .then(function (res) { return profileFrom(res); });
  }

  function profileFrom(res) {
    var data = parseBody(res.data);
    if (!data || typeof data !== 'object' || typeof data.id !== 'string') {
      throw makeError('BAD_RESPONSE', 'The server answered with an unexpected body.', { status: res.statusCode, data: data });
    }
    return data;
  }

  function logout(opts) {
    var all = !!(opts && opts.all);
    var stored = load();
    // A login/refresh in flight will not be saved any more (epoch), but its tokens are what
    // the server must revoke: wait for it rather than racing it with a second refresh.
    var pending = inflight ? inflight.promise : null;
    epoch += 1;
    clear();
    var session = pending
      ? pending.then(function (s) { return s; }, function () { return stored; })
      : Promise.resolve(stored);
    return session.then(function (s) {
      if (!s || s.status !== 'ok') return { revoked: false };
      var token;
      if (accessFresh(s)) {
        token = Promise.resolve(s.access_token);
      } else if (refreshUsable(s)) {
        // Not saved: it only serves to authenticate the logout of the same family.
        token = postAuth('/auth/refresh', { refresh_token: s.refresh_token }).then(function (d) { return d.access_token; });
      } else {
        return { revoked: false };
      }
      return token.then(function (t) {
        return postAuth('/auth/logout', all ? { all: true } : {}, t);
      }).then(function () {
        return { revoked: true };
      }, function (err) {
        return { revoked: false, error: err };
      });
    });
  }

  function getUser() {
    var s = load();
    return s && s.status === 'ok' ? s.user || null : null;
  }

  return {
    login: login,
    prepareLogin: prepareLogin,
    loginWithPhone: loginWithPhone,
    request: request,
    getAccessToken: getAccessToken,
    bindPhone: bindPhone,
    sendSmsCode: sendSmsCode,
    bindPhoneBySms: bindPhoneBySms,
    changePhone: changePhone,
    setPassword: setPassword,
    loginWithPassword: loginWithPassword,
    resetPassword: resetPassword,
    getProfile: getProfile,
    exportData: exportData,
    deleteAccount: deleteAccount,
    updateProfile: updateProfile,
    logout: logout,
    getUser: getUser,
  };
}

module.exports = {
  createClient: createClient,
  isWxLoginError: isWxLoginError,
};
