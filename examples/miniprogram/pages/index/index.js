// The example page: log in, bind the phone number, call a protected route, log out, and turn
// each error code into something a user can act on.
const app = getApp();

Page({
  data: { status: 'logging in…', user: null, needPhone: false, message: '' },

  onLoad() {
    this.onLogin();
  },

  onLogin() {
    app.auth.login()
      .then((res) => this.showSession(res))
      .catch((err) => this.showError(err));
  },

  onGetPhoneNumber(e) {
    app.auth.bindPhone(e)
      .then((res) => {
        this.showSession(res);
        this.setData({ message: 'Phone number bound.' });
      })
      .catch((err) => this.showError(err));
  },

  onCallApi() {
    // Any route of your API works the same way; the token is attached and renewed for you.
    app.auth.request({ url: '/auth/me' })
      .then((res) => this.setData({ message: JSON.stringify(res.data) }))
      .catch((err) => this.showError(err));
  },

  onLogout() {
    app.auth.logout().then(() => {
      this.setData({ status: 'logged out', user: null, needPhone: false, message: '' });
    });
  },

  showSession(res) {
    const user = res.user || null;
    this.setData({
      status: res.status === 'ok' ? 'logged in' : 'phone number needed',
      user,
      needPhone: res.status === 'phone_required' || !(user && user.phone_bound),
    });
  },

  showError(err) {
    const wait = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : ' Try again later.';
    const messages = {
      INVALID_CODE: 'The login expired. Tap "Log in" again.',
      SESSION_KEY_STALE: 'Your WeChat session was renewed. Please tap the phone button again.',
      DECRYPT_FAILED: 'The phone number could not be read. Please tap the phone button again.',
      PHONE_TAKEN: 'This phone number already belongs to another account.',
      PHONE_ALREADY_BOUND: 'Your account already has a different phone number.',
      PHONE_DENIED: 'No phone number shared.',
      PHONE_REQUIRED: 'Please share your phone number first.',
      INVALID_CREDENTIALS: 'Wrong phone number or password.',
      WEAK_PASSWORD: `Please choose another password: ${err.message}`,
      LOGIN_BLOCKED: 'WeChat did not allow this login.',
      RATE_LIMITED: `Too many attempts.${wait}`,
      UPSTREAM_UNAVAILABLE: `WeChat is not answering.${wait}`,
      SERVICE_UNAVAILABLE: `The service is busy.${wait}`,
      MISCONFIGURED: 'The service is being fixed. Try again later.',
      NETWORK_ERROR: 'No connection.',
    };
    if (err.code === 'PHONE_REQUIRED') this.setData({ needPhone: true });
    const text = messages[err.code] || err.message;
    this.setData({ message: err.requestId ? `${text} (request ${err.requestId})` : text });
  },
});
