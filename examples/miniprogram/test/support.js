// Test support: start the real local server binary on a free port (and stop it), a tiny
// stand-in for a customer API behind the authorizer, and small helpers.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const LOCAL_BIN = process.env.WXLOGIN_LOCAL_BIN || path.join(REPO_ROOT, 'target', 'debug', 'wxlogin-local');
const LOCAL_APPID = 'wxlocal0000000000';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

/**
 * Starts target/debug/wxlogin-local with `env` on a free port; resolves once it has printed its
 * first line and accepts connections, with
 *   url, port     where it listens;
 *   stop()        kills it;
 *   output()      the last 8000 characters it printed (stdout and stderr);
 *   lines         every complete line it printed so far (grows as it prints);
 *   waitForLine(match, { from, timeout })  the first line from index `from` that `match` accepts.
 */
async function startLocalServer(env = {}) {
  if (!fs.existsSync(LOCAL_BIN)) {
    throw new Error(`${LOCAL_BIN} is missing: build it first with \`cargo build -p wxlogin-local\` (from the repo root), or set WXLOGIN_LOCAL_BIN`);
  }
  let lastError;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    try {
      return await spawnOn(port, env);
    } catch (e) {
      lastError = e; // most likely the port was taken in between: try another one
    }
  }
  throw lastError;
}

function spawnOn(port, env) {
  const child = spawn(LOCAL_BIN, [], {
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // Every complete output line (stdout and stderr), in order, for tests that read the server's
  // log (e.g. the SMS codes the local server prints instead of sending).
  const lines = [];
  const waiters = new Set();
  const partial = { stdout: '', stderr: '' };
  const keep = (stream) => (chunk) => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-8000);
    const parts = (partial[stream] + text).split('\n');
    partial[stream] = parts.pop();
    for (const line of parts) lines.push(line.replace(/\r$/, ''));
    if (parts.length) for (const w of [...waiters]) w();
  };
  child.stdout.on('data', keep('stdout'));
  child.stderr.on('data', keep('stderr'));

  /**
   * The first line at index >= `from` for which `match(line)` is truthy, waiting up to
   * `timeout` ms for it to be printed; resolves `{ index, line, match }` (match: what
   * `match` returned, e.g. a RegExp match array).
   */
  const waitForLine = (match, { from = 0, timeout = 5000 } = {}) => new Promise((resolve, reject) => {
    let next = from;
    const check = () => {
      for (; next < lines.length; next += 1) {
        const found = match(lines[next]);
        if (found) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve({ index: next, line: lines[next], match: found });
          return;
        }
      }
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`no matching server output line within ${timeout} ms; last lines:\n${lines.slice(-10).join('\n')}`));
    }, timeout);
    waiters.add(check);
    check();
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const stop = () => new Promise((resolve) => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGINT');
  });

  return new Promise((resolve, reject) => {
    let done = false;
    const fail = (why) => {
      if (done) return;
      done = true;
      stop().then(() => reject(new Error(`wxlogin-local did not start (${why}):\n${output}`)));
    };
    const timer = setTimeout(() => fail('no answer within 20 s'), 20000);
    child.once('exit', (code, signal) => fail(`exited with ${code ?? signal}`));
    child.once('error', (e) => fail(e.message));
    child.stdout.once('data', async () => {
      // The first line is printed after bind; still confirm that it accepts connections.
      for (let i = 0; i < 50 && !done; i += 1) {
        if (await canConnect(port)) {
          done = true;
          clearTimeout(timer);
          resolve({ url: `http://127.0.0.1:${port}`, port, stop, output: () => output, lines, waitForLine });
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      fail('port not accepting connections');
    });
  });
}

function decodeJwtPayload(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) return null;
  try {
    return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

/**
 * A stand-in for a customer API behind the authorizer. It cannot check signatures (the local
 * server publishes no keys yet), so it refuses what an authorizer would refuse that it CAN see:
 * a malformed token, an expired one, a non-access token, or one the test marked `revoked`.
 *   GET|POST /api/profile    200 {sub, method, body} or 401 {"message":"Unauthorized"} (API Gateway's shape)
 *   GET      /api/gateway    like /api/profile but refuses with API Gateway's 403 {"message":"Forbidden"}
 *   GET      /api/always401  401 UNAUTHORIZED whatever the token
 *   GET      /api/limited    429 RATE_LIMITED with Retry-After: 7
 *   GET      /api/teapot     418 text/plain (an answer without our error body)
 *   GET      /api/public     200, no token needed
 */
async function startFakeApi() {
  const revoked = new Set();
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const auth = req.headers.authorization || '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : null;
      const { pathname } = new URL(req.url, 'http://x');
      seen.push({ method: req.method, path: pathname, token });
      const send = (status, body, headers = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      const claims = token ? decodeJwtPayload(token) : null;
      const valid = !!claims && claims.token_use === 'access' && typeof claims.sub === 'string'
        && typeof claims.exp === 'number' && claims.exp * 1000 > Date.now() && !revoked.has(token);
      const text = Buffer.concat(chunks).toString('utf8');
      switch (pathname) {
        case '/api/profile':
          if (!valid) return send(401, { message: 'Unauthorized' });
          return send(200, { sub: claims.sub, method: req.method, body: text ? JSON.parse(text) : null });
        case '/api/gateway':
          if (!valid) return send(403, { message: 'Forbidden' });
          return send(200, { sub: claims.sub });
        case '/api/always401':
          return send(401, { error: { code: 'UNAUTHORIZED', message: 'Missing, expired or invalid token.', request_id: 'fake-401' } });
        case '/api/limited':
          return send(429, { error: { code: 'RATE_LIMITED', message: 'Too many requests; try again later.', request_id: 'fake-429' } }, { 'retry-after': '7' });
        case '/api/teapot':
          res.writeHead(418, { 'content-type': 'text/plain' });
          return res.end('short and stout');
        case '/api/public':
          return send(200, { public: true, sawToken: token !== null });
        default:
          return send(404, { error: { code: 'NOT_FOUND', message: 'No such route.', request_id: 'fake-404' } });
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    revoked,
    seen,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Whether the server answers `method path` (anything but 404 NOT_FOUND). */
async function serves(baseUrl, method, path) {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: method === 'GET' ? undefined : '{}',
  });
  await res.text();
  return res.status !== 404;
}

/**
 * The SMS code the local server printed for `phone` (11 mainland digits) at or after output line
 * `from` (take `server.lines.length` just before the send). The local server logs
 * `phone=138****8000 sms="Your verification code is 123456. …"` instead of sending an SMS.
 */
async function smsCodeFor(server, phone, from = 0) {
  const masked = `${phone.slice(0, 3)}****${phone.slice(-4)}`;
  const { match } = await server.waitForLine((line) => {
    const m = /Your verification code is (\d{6})/.exec(line);
    return m && (!line.includes('phone=') || line.includes(`phone=${masked}`)) ? m : null;
  }, { from });
  return match[1];
}

module.exports = { startLocalServer, startFakeApi, decodeJwtPayload, serves, smsCodeFor, LOCAL_APPID, LOCAL_BIN };
