"""Fixtures: the stand-in upstream and a real `metaclaw serve`, both as processes on loopback.

The binaries come from METACLAW_BIN and METACLAW_STANDIN_BIN (set by scripts/test.sh).
"""

import os
import subprocess
import tempfile

import pytest


def _start(cmd, env=None, prefix=""):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = proc.stdout.readline().strip()
    if not line.startswith(prefix):
        proc.kill()
        raise RuntimeError(f"{cmd[0]} did not start: {line!r}")
    return proc, line[len(prefix):]


@pytest.fixture(scope="session")
def standin_url():
    proc, addr = _start([os.environ["METACLAW_STANDIN_BIN"]], prefix="listening on ")
    yield addr + "/v1"
    proc.terminate()
    proc.wait()


def _serve(config, args=()):
    home = tempfile.mkdtemp(prefix="metaclaw-pytest-")
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(config)
    env = dict(os.environ, METACLAW_HOME=home, METACLAW_NO_KEYRING="1")
    env.pop("METACLAW_UPSTREAM_API_KEY", None)
    proc, url = _start(
        [os.environ["METACLAW_BIN"], "serve", "--port", "0", *args],
        env=env,
        prefix="MetaClaw listening on ",
    )
    proc.home = home  # for tests that run the CLI against this engine
    return proc, url


@pytest.fixture(scope="session")
def proxy_url(standin_url):
    # These tests compare answers with the upstream's byte for byte, so no skills are injected.
    proc, url = _serve("[skills]\nbuiltin = false\n", ["--upstream", standin_url])
    yield url
    proc.terminate()
    assert proc.wait(timeout=20) == 0, "metaclaw serve exits cleanly on SIGTERM"


@pytest.fixture(scope="session")
def multi_proxy_url(standin_url):
    """A proxy with an Anthropic upstream for claude-* models and an OpenAI one for the rest."""
    config = f"""
[skills]
builtin = false

[routing]
max_attempts = 1

[[upstreams]]
name = "claude"
kind = "anthropic"
base_url = "{standin_url}"
models = ["claude-*"]

[[upstreams]]
name = "local"
kind = "openai"
base_url = "{standin_url}"
default = true
"""
    proc, url = _serve(config)
    yield url
    proc.terminate()
    assert proc.wait(timeout=20) == 0
