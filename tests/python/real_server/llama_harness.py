"""Processes for the real-server suite: llama.cpp's own `llama-server` serving SmolLM2-135M on
loopback, and `metaclaw serve` in front of it, each in its own temporary home.

The server and the model come from LLAMA_SERVER_BIN and LLAMA_MODEL (`need_llama_server` in
scripts/lib.sh builds and caches them); MetaClaw from METACLAW_BIN. Without them the suite is skipped.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

MODEL = "smollm2"


def _need(var):
    value = os.environ.get(var)
    if not value or not os.path.exists(value):
        pytest.skip(f"{var} is not set to an existing file (scripts/test.sh sets it via need_llama_server)")
    return value


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, headers=None, timeout=5):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


class LlamaServer:
    """One llama-server process on a free loopback port, with its log kept for failure reports."""

    def __init__(self, tmp, parallel=4):
        self.bin, self.model = _need("LLAMA_SERVER_BIN"), _need("LLAMA_MODEL")
        self.tmp = tmp
        self.parallel = parallel
        self.proc = None

    def start(self, timeout=120):
        for _ in range(3):  # a free port can be taken between probing and binding
            self.port = _free_port()
            self.log_path = os.path.join(self.tmp, f"llama-{self.port}.log")
            self.log = open(self.log_path, "wb")
            self.proc = subprocess.Popen(
                [self.bin, "-m", self.model, "--host", "127.0.0.1", "--port", str(self.port), "-c", "8192",
                 "-t", "2", "-np", str(self.parallel), "--alias", MODEL, "--no-webui"],
                stdout=self.log, stderr=subprocess.STDOUT,
            )
            self.url = f"http://127.0.0.1:{self.port}"
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    status, body = _get(self.url + "/health", timeout=2)
                    if status == 200 and json.loads(body).get("status") == "ok":
                        return self
                except (OSError, ValueError, urllib.error.URLError):
                    pass
                time.sleep(0.1)  # polling for readiness, bounded by the deadline
            self.kill()
        raise RuntimeError(f"llama-server did not become healthy; log: {self.tail()}")

    def tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)


class Metaclaw:
    """`metaclaw serve` with its own home; can be stopped (SIGTERM) and started again on that home."""

    def __init__(self, config):
        self.bin = _need("METACLAW_BIN")
        self.home = tempfile.mkdtemp(prefix="metaclaw-llama-")
        with open(os.path.join(self.home, "config.toml"), "w") as f:
            f.write(config)
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        env = dict(os.environ, METACLAW_HOME=self.home, METACLAW_NO_KEYRING="1", METACLAW_LOG="metaclaw=debug")
        env.pop("METACLAW_UPSTREAM_API_KEY", None)
        self.log_path = os.path.join(self.home, f"serve-{self.starts}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [self.bin, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=self.log, text=True, env=env
        )
        line = self.proc.stdout.readline().strip()
        prefix = "MetaClaw listening on "
        if not line.startswith(prefix):
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"metaclaw serve did not start: {line!r}; log: {self.tail()}")
        self.url = line[len(prefix):]  # …/v1
        self.base = self.url.removesuffix("/v1")
        with open(os.path.join(self.home, "admin.token")) as f:
            self.token = f.read().strip()
        return self

    def tail(self, n=6000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def api(self, path, method="GET", body=None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"authorization": f"Bearer {self.token}"}
        if data is not None:
            headers["content-type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode("utf-8", "replace")

    def turns(self, **filters):
        q = "&".join(f"{k}={v}" for k, v in {"limit": 500, **filters}.items())
        status, page = self.api(f"/api/turns?{q}")
        assert status == 200, page
        return page["turns"]

    def turn(self, turn_id, timeout=30):
        """One recorded turn, waiting for it to reach the database (finished turns are written
        within the flush interval, ~100 ms, after the response ends)."""
        deadline = time.monotonic() + timeout
        while True:
            status, t = self.api(f"/api/turns/{turn_id}")
            if status != 404 or time.monotonic() > deadline:
                assert status == 200, t
                return t
            time.sleep(0.05)  # polling the store's flush, bounded by the deadline

    def wait_for_turns(self, n, timeout=30, **filters):
        """The recorded turns once at least `n` are in the database (they are written within ~100 ms)."""
        deadline = time.monotonic() + timeout
        while True:
            turns = self.turns(**filters)
            if len(turns) >= n or time.monotonic() > deadline:
                return turns
            time.sleep(0.05)  # polling the store's flush, bounded by the deadline

    def cli(self, *args):
        env = dict(os.environ, METACLAW_HOME=self.home, METACLAW_NO_KEYRING="1")
        return subprocess.run([self.bin, *args], env=env, capture_output=True, text=True, timeout=60)

    def terminate(self, timeout=120):
        """SIGTERM, then the exit code (the engine drains in-flight requests first)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.home, ignore_errors=True)


def upstream_config(llama_url, extra=""):
    """A config for one OpenAI-kind upstream at llama-server, no skills (answers must equal direct)."""
    return f"""
[upstream]
base_url = "{llama_url}/v1"

[skills]
builtin = false
{extra}
"""


