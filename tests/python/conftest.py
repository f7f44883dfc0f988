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


@pytest.fixture(scope="session")
def proxy_url(standin_url):
    home = tempfile.mkdtemp(prefix="metaclaw-pytest-")
    # These tests compare answers with the upstream's byte for byte, so no skills are injected.
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write("[skills]\nbuiltin = false\n")
    env = dict(os.environ, METACLAW_HOME=home, METACLAW_NO_KEYRING="1")
    env.pop("METACLAW_UPSTREAM_API_KEY", None)
    proc, url = _start(
        [os.environ["METACLAW_BIN"], "serve", "--port", "0", "--upstream", standin_url],
        env=env,
        prefix="MetaClaw listening on ",
    )
    yield url
    proc.terminate()
    assert proc.wait(timeout=20) == 0, "metaclaw serve exits cleanly on SIGTERM"
