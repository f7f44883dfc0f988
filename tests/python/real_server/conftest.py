"""Fixtures for the real-server suite: the shared llama-server, MetaClaw in front of it, and
servers and MetaClaw instances of a test's own (see llama_harness.py)."""

import shutil
import tempfile

import pytest

from .llama_harness import LlamaServer, Metaclaw, upstream_config


@pytest.fixture(scope="session")
def llama_tmp():
    d = tempfile.mkdtemp(prefix="llama-test-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def llama(llama_tmp):
    """The shared llama-server: the suite's pass-through and recording checks talk to it."""
    server = LlamaServer(llama_tmp).start()
    yield server
    server.kill()


@pytest.fixture
def own_llama(llama_tmp):
    """A llama-server of the test's own, for tests that kill it."""
    server = LlamaServer(llama_tmp, parallel=1).start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def proxy(llama):
    """MetaClaw in front of the shared server, without judge or evolver (nothing else loads it)."""
    m = Metaclaw(upstream_config(llama.url))
    try:
        m.start()
    except Exception:
        m.cleanup()
        raise
    yield m
    code = m.terminate(timeout=60)
    m.cleanup()
    assert code == 0, "metaclaw serve exits cleanly on SIGTERM"


@pytest.fixture
def fresh_metaclaw():
    """Makes MetaClaw instances with their own homes; kills and removes them after the test."""
    made = []

    def make(config):
        m = Metaclaw(config)
        made.append(m)
        return m

    yield make
    for m in made:
        m.cleanup()
