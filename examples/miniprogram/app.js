// The example mini program: one wxlogin client for the whole app, shared by every page
// through getApp().auth. Replace baseUrl with your API Gateway URL (and add it to the
// request domain list in the mini program console); http://127.0.0.1:3000 is the local
// server (`cargo run -p wxlogin-local`), reachable from the devtools simulator with
// "do not verify request domains" ticked.
const { createClient } = require('./wxlogin');

App({
  auth: createClient({ baseUrl: 'http://127.0.0.1:3000' }),

  onLaunch() {
    // Optional: the first auth.request() would log in by itself.
    this.auth.login().catch((err) => console.warn('wxlogin: login failed', err.code, err.message));
  },
});
