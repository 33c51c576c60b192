"""The local server (target/debug/wxlogin-local) on a free port, for the Python test tiers: start
it with an issuer and environment of the test's choosing, GET and POST JSON, stop it. Nothing
else: what a test checks stays in the test. WXLOGIN_LOCAL names another binary (the test
command builds the default one first)."""
import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("WXLOGIN_LOCAL", ROOT / "target" / "debug" / "wxlogin-local"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """`issuer` is TOKEN_ISSUER (default: the server's own base URL); `env` adds variables."""

    def __init__(self, issuer=None, **env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.issuer = issuer or self.base
        variables = dict(os.environ, **env, PORT=str(self.port), TOKEN_ISSUER=self.issuer)
        self.process = subprocess.Popen(
            [str(BINARY)], env=variables, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(100):
            try:
                self.get("/.well-known/jwks.json")
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the local server ({BINARY}) did not start")

    def get(self, path):
        return self.get_url(self.base + path)

    @staticmethod
    def get_url(url):
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)

    def post(self, path, body):
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            return json.load(r)

    def stop(self):
        self.process.kill()
        self.process.wait()
