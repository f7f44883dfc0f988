"""The official SDKs against a proxy whose policy is served by the (stand-in) Tinker service:
the agent gets the policy's answer through either SDK, streamed or not, the proxy asks the
service for logprobs so training can use the turn, and `metaclaw train` reports on it."""

import json
import os
import subprocess
import tempfile

import anthropic
import pytest
from openai import OpenAI

from conftest import _serve, _start


@pytest.fixture(scope="module")
def tinker():
    tok = tempfile.mkdtemp(prefix="metaclaw-tok-")
    proc, url = _start([os.environ["METACLAW_STANDIN_BIN"], "--tinker", tok], prefix="listening on ")
    yield url, tok
    proc.terminate()
    proc.wait()


@pytest.fixture(scope="module")
def policy(standin_url, tinker):
    url, tok = tinker
    config = f"""
[skills]
builtin = false

[train]
enabled = true
base_model = "standin/tiny-chat"
base_url = "{url}"
serve_models = ["agent-*"]
tokenizer_dir = "{tok}"
"""
    proc, proxy = _serve(config, ["--upstream", standin_url])
    yield proxy, proc.home
    proc.terminate()
    assert proc.wait(timeout=20) == 0


def test_openai_sdk_gets_the_policy_answer_plain_and_streamed(policy):
    proxy, _ = policy
    client = OpenAI(base_url=proxy, api_key="sk-test", max_retries=0)
    r = client.chat.completions.create(model="agent-1", messages=[{"role": "user", "content": "alpha please"}])
    assert r.choices[0].message.content == "sure thing"
    # The logprobs the proxy asked for are part of OpenAI's schema, so the SDK parses them.
    assert [t.token for t in r.choices[0].logprobs.content] == ["sure", " thing", "<|im_end|>"]
    chunks = list(
        client.chat.completions.create(
            model="agent-1", messages=[{"role": "user", "content": "bravo please"}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "sure thing"
    # Models the policy does not serve go to the usual upstream, without logprobs.
    other = client.chat.completions.create(model="standin-small", messages=[{"role": "user", "content": "hello"}])
    assert other.choices[0].message.content != "sure thing"
    assert other.choices[0].logprobs is None


def test_anthropic_sdk_is_translated_to_the_policy(policy):
    proxy, _ = policy
    client = anthropic.Anthropic(base_url=proxy.removesuffix("/v1"), api_key="sk-test", max_retries=0)
    m = client.messages.create(model="agent-2", max_tokens=64, messages=[{"role": "user", "content": "charlie please"}])
    assert m.content[0].text == "sure thing"
    assert m.stop_reason == "end_turn"


def test_cli_reports_training(policy):
    _, home = policy
    env = dict(os.environ, METACLAW_HOME=home, METACLAW_NO_KEYRING="1")
    out = subprocess.run([os.environ["METACLAW_BIN"], "train", "status"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "model:     standin/tiny-chat" in out.stdout, out.stdout
    assert "serving:   standin/tiny-chat" in out.stdout, out.stdout
    js = subprocess.run([os.environ["METACLAW_BIN"], "train", "status", "--json"], env=env, capture_output=True, text=True)
    status = json.loads(js.stdout)
    assert status["enabled"] is True and status["state"] in ("idle", "waiting"), status
    hist = subprocess.run([os.environ["METACLAW_BIN"], "train", "history"], env=env, capture_output=True, text=True)
    assert hist.returncode == 0 and hist.stdout.strip() == "(none)", hist.stdout  # no run yet
    cps = subprocess.run([os.environ["METACLAW_BIN"], "train", "checkpoints", "--json"], env=env, capture_output=True, text=True)
    assert cps.returncode == 0 and json.loads(cps.stdout) == [], cps.stdout
    bad = subprocess.run([os.environ["METACLAW_BIN"], "train", "rollback", "42"], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "no step 42" in bad.stderr, bad.stderr
