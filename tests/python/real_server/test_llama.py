"""MetaClaw in front of a real LLM server: llama.cpp's `llama-server` with SmolLM2-135M, driven by
the official `openai` and `anthropic` SDKs. Protocol facts only, never speed or answer quality:
at temperature 0 the proxy's answers equal the server's own, every turn is recorded with the status
the protocol says it ended with (streams the SDK closes right after `[DONE]` included), a server
killed mid-stream and a SIGTERM mid-stream each leave a correctly recorded turn, and the judge and
the evolver either produce results or say in `status` why they did not.
"""

import contextlib
import json
import socket
import threading
import time
import urllib.parse
import uuid

import anthropic
import openai
import pytest

from .llama_harness import MODEL, upstream_config

# Volatile fields llama-server puts in every answer: ids, clocks and its own timing report.
VOLATILE = {"id", "created", "timings", "system_fingerprint"}


def drain(secs):
    """Config for how long a clean shutdown waits for answers still streaming."""
    return f"\n[proxy]\ndrain_timeout_secs = {secs}\n"


MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
    {"role": "user", "content": "Name three colors of the rainbow."},
]


def stable(obj):
    """The answer without what differs between two identical calls: ids, clocks, timings and how
    much of the prompt the server's prefix cache held."""
    out = {k: v for k, v in obj.items() if k not in VOLATILE}
    if isinstance(out.get("usage"), dict):
        out["usage"] = {k: v for k, v in out["usage"].items() if k != "prompt_tokens_details"}
    return out


def session_id(name):
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def direct(llama):
    return openai.OpenAI(base_url=llama.url + "/v1", api_key="sk-test", max_retries=0, timeout=120)


@pytest.fixture
def proxied(proxy):
    return openai.OpenAI(base_url=proxy.url, api_key="sk-test", max_retries=0, timeout=120)


# --- pass-through equals direct ------------------------------------------------------------------


def test_json_completion_through_the_proxy_equals_direct(direct, proxied, proxy):
    kw = dict(model=MODEL, messages=MESSAGES, temperature=0, max_tokens=24, seed=1)
    a = direct.chat.completions.create(**kw)
    raw = proxied.chat.completions.with_raw_response.create(**kw, extra_headers={"x-session-id": session_id("json")})
    b = raw.parse()
    assert b.choices[0].message.content, "the model answered something"
    assert stable(b.model_dump()) == stable(a.model_dump())
    turn = proxy.turn(int(raw.headers["x-metaclaw-turn-id"]))
    assert (turn["status"], turn["response_text"]) == ("ok", a.choices[0].message.content)


def test_stream_through_the_proxy_equals_direct(direct, proxied, proxy):
    kw = dict(model=MODEL, messages=MESSAGES, temperature=0, max_tokens=24, seed=1, stream=True,
              stream_options={"include_usage": True})
    a = [stable(c.model_dump()) for c in direct.chat.completions.create(**kw)]
    raw = proxied.chat.completions.with_raw_response.create(**kw, extra_headers={"x-session-id": session_id("sse")})
    b = [stable(c.model_dump()) for c in raw.parse()]
    assert len(b) > 3
    assert b == a
    text = "".join(c["choices"][0]["delta"]["content"] or "" for c in b if c["choices"])
    assert b[-1]["usage"]["completion_tokens"] > 0
    turn = proxy.turn(int(raw.headers["x-metaclaw-turn-id"]))
    assert (turn["status"], turn["response_text"]) == ("ok", text)


def anthropic_client(proxy):
    return anthropic.Anthropic(base_url=proxy.base, api_key="sk-test", max_retries=0, timeout=120)


def anthropic_kw():
    return dict(model=MODEL, max_tokens=24, extra_body={"temperature": 0}, system=MESSAGES[0]["content"],
                messages=[{"role": "user", "content": MESSAGES[1]["content"]}])


def test_anthropic_client_translated_to_the_openai_upstream_gets_the_same_text(direct, proxy):
    a = direct.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=0, max_tokens=24)
    b = anthropic_client(proxy).messages.create(**anthropic_kw())
    assert [c.type for c in b.content] == ["text"]
    assert b.content[0].text == a.choices[0].message.content
    assert b.stop_reason == {"stop": "end_turn", "length": "max_tokens"}[a.choices[0].finish_reason]
    assert (b.usage.input_tokens, b.usage.output_tokens) == (a.usage.prompt_tokens, a.usage.completion_tokens)


def test_anthropic_stream_translated_to_the_openai_upstream_gets_the_same_text(direct, proxy):
    a = direct.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=0, max_tokens=24)
    with anthropic_client(proxy).messages.stream(**anthropic_kw()) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == a.choices[0].message.content
    assert final.content[0].text == text
    assert final.stop_reason == {"stop": "end_turn", "length": "max_tokens"}[a.choices[0].finish_reason]
    assert final.usage.output_tokens == a.usage.completion_tokens


def test_anthropic_stream_translated_reports_the_upstreams_input_tokens(direct, proxy):
    """Issue 19 scope 1 (real-model Bug 10): `message_delta` carries `input_tokens`, so the SDK's
    final message has the upstream's prompt token count, not the 0 of `message_start`."""
    a = direct.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=0, max_tokens=24)
    with anthropic_client(proxy).messages.stream(**anthropic_kw()) as s:
        final = s.get_final_message()
    assert final.usage.input_tokens == a.usage.prompt_tokens


# --- every turn recorded with the right status -----------------------------------------------------


def test_every_stream_the_openai_sdk_read_to_done_is_recorded_ok(proxied, proxy):
    """Real-model Bug 1: the openai SDK closes the connection right after `data: [DONE]`, and
    llama-server writes `[DONE]` and the chunked terminator apart; a stream the client read to its
    protocol end is `ok`, never `cancelled`."""
    sid = session_id("streams")
    got = {}
    for _ in range(60):  # the race is timing-dependent: about 1 stream in 25 lost it before the fix
        raw = proxied.chat.completions.with_raw_response.create(
            model=MODEL, temperature=0, max_tokens=3, stream=True,
            messages=[{"role": "user", "content": "Say hi."}],  # the same prompt: the server's cache keeps it quick
            extra_headers={"x-session-id": sid},
        )
        chunks = list(raw.parse())  # the SDK stops at [DONE] and closes the response
        assert any(c.choices and c.choices[0].finish_reason for c in chunks), "the stream ended with a finish_reason"
        got[int(raw.headers["x-metaclaw-turn-id"])] = "".join(
            c.choices[0].delta.content or "" for c in chunks if c.choices
        )
    turns = proxy.wait_for_turns(len(got), session=sid)
    assert sorted(t["id"] for t in turns) == sorted(got)
    statuses = {t["id"]: t["status"] for t in turns}
    not_ok = {i: s for i, s in statuses.items() if s != "ok"}
    assert not not_ok, f"streams read to [DONE] but recorded otherwise: {not_ok}"
    for turn_id, text in got.items():
        assert proxy.turn(turn_id)["response_text"] == text


class RawStream:
    """One HTTP/1.1 request on a plain socket, its chunked response decoded here, so that how the
    body ended is visible: the terminating zero-length chunk, or the connection closed before it
    (which http.client would report as a clean end)."""

    def __init__(self, url, path, body, headers):
        u = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=180)
        data = json.dumps(body).encode()
        head = [f"POST {u.path}{path} HTTP/1.1", f"Host: {u.hostname}:{u.port}", "Content-Type: application/json",
                f"Content-Length: {len(data)}", *(f"{k}: {v}" for k, v in headers.items())]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        self.buf = b""
        status_line, *lines = self._until(b"\r\n\r\n").decode().split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in lines if ":" in h)}
        assert self.headers.get("transfer-encoding") == "chunked", self.headers

    def _until(self, sep):
        while sep not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("closed")
            self.buf += d
        out, self.buf = self.buf.split(sep, 1)
        return out

    def _exactly(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("closed")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def chunks(self):
        """The body's chunks; raises ConnectionError if it closes before the zero-length chunk."""
        while True:
            size = int(self._until(b"\r\n").split(b";")[0], 16)
            data = self._exactly(size + 2)[:-2]
            if size == 0:
                return
            yield data

    def close(self):
        self.sock.close()


def read_sse(resp, on_chunk=None):
    """Reads an SSE response: the text relayed, whether `[DONE]` came, the error events, and
    whether the body was cut off (closed before its terminating chunk)."""
    text, done, errors, cut, pending = "", False, [], False, b""
    try:
        for chunk in resp.chunks():
            pending += chunk
            while b"\n\n" in pending:
                event, pending = pending.split(b"\n\n", 1)
                for line in event.decode().splitlines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        continue
                    obj = json.loads(data)
                    if "error" in obj:
                        errors.append(obj["error"])
                        continue
                    for c in obj.get("choices") or []:
                        text += (c.get("delta") or {}).get("content") or ""
                    if on_chunk:
                        on_chunk(text)
    except (OSError, ValueError):
        cut = True
    return text, done, errors, cut


@contextlib.contextmanager
def long_stream(url, sid, max_tokens):
    """A raw SSE stream that runs for exactly `max_tokens` tokens (llama-server's `ignore_eos`)."""
    body = {"model": MODEL, "stream": True, "temperature": 0, "max_tokens": max_tokens, "ignore_eos": True,
            "messages": [{"role": "user", "content": "Count from one to one thousand in words."}]}
    resp = RawStream(url, "/chat/completions", body, {"x-session-id": sid})
    try:
        yield resp
    finally:
        resp.close()


def test_server_killed_mid_stream_records_a_failed_turn_with_the_partial_text(own_llama, fresh_metaclaw):
    m = fresh_metaclaw(upstream_config(own_llama.url)).start()
    sid = session_id("killed")

    killed = []

    def kill_after_some_text(text):
        if len(text) > 40 and not killed:
            own_llama.proc.kill()
            killed.append(len(text))

    with long_stream(m.url, sid, 4000) as resp:
        assert resp.status == 200
        turn_id = int(resp.headers["x-metaclaw-turn-id"])
        read = read_sse(resp, kill_after_some_text)
    text, done, errors, cut = read
    assert killed, f"the server was killed mid-stream: {read}\n{m.tail()}"
    assert not done, "no [DONE] after the upstream died"
    assert not cut, "the proxy ended its response with the terminating chunk, not by dropping the connection"
    assert len(errors) == 1, f"the client got one SSE error event: {errors}"
    assert errors[0].get("message"), errors
    turns = m.wait_for_turns(1, session=sid)
    assert [t["id"] for t in turns] == [turn_id]
    turn = m.turn(turn_id)
    assert turn["status"] == "failed", turn
    assert turn["error"], "a failed turn says why"
    assert len(text) > 40
    assert turn["response_text"] == text, "the partial text is recorded exactly as relayed"


def sigterm_mid_stream(own_llama, fresh_metaclaw, max_tokens, extra=""):
    """A short turn, then a stream of `max_tokens` tokens during which metaclaw gets SIGTERM;
    then a restart on the same home. Returns (metaclaw, short turn id, stream turn id, what the
    client read, the exit code)."""
    m = fresh_metaclaw(upstream_config(own_llama.url, extra)).start()
    sid = session_id("sigterm")
    c = openai.OpenAI(base_url=m.url, api_key="sk-test", max_retries=0, timeout=120)
    first = c.chat.completions.with_raw_response.create(
        model=MODEL, temperature=0, max_tokens=4, messages=[{"role": "user", "content": "Say hi."}],
        extra_headers={"x-session-id": sid},
    )
    first_id = int(first.headers["x-metaclaw-turn-id"])
    m.wait_for_turns(1, session=sid)
    exit_code = {}

    def terminate_once(text):
        if len(text) > 20 and not exit_code:
            exit_code["pending"] = True
            threading.Thread(target=lambda: exit_code.update(code=m.terminate(timeout=180)), daemon=True).start()

    with long_stream(m.url, sid, max_tokens) as resp:
        assert resp.status == 200
        stream_id = int(resp.headers["x-metaclaw-turn-id"])
        read = read_sse(resp, terminate_once)
    assert exit_code, "SIGTERM was sent mid-stream"
    m.proc.wait(timeout=180)
    code = m.proc.returncode
    log = m.tail()
    m.start()
    return m, first_id, stream_id, read, code, log


def check_the_interrupted_turn(m, first_id, stream_id, read):
    text, done, errors, cut = read
    status, turn = m.api(f"/api/turns/{stream_id}")
    assert status == 200, f"the turn streamed during SIGTERM is in the database after a restart: {turn}"
    if done:
        assert turn["status"] == "ok", "the client got [DONE]: the turn is ok"
        assert turn["response_text"] == text
    else:
        assert turn["status"] in ("cancelled", "failed"), turn["status"]
        assert text.startswith(turn["response_text"] or ""), "the recorded text is what was relayed"
    c = openai.OpenAI(base_url=m.url, api_key="sk-test", max_retries=0, timeout=120)
    after = c.chat.completions.with_raw_response.create(
        model=MODEL, temperature=0, max_tokens=4, messages=[{"role": "user", "content": "Say bye."}]
    )
    new_id = int(after.headers["x-metaclaw-turn-id"])
    assert new_id > stream_id > first_id, "ids are never reused after a restart"


def test_sigterm_mid_stream_lets_a_short_stream_finish_and_records_it_ok(own_llama, fresh_metaclaw):
    m, first_id, stream_id, read, code, log = sigterm_mid_stream(own_llama, fresh_metaclaw, 24, drain(300))
    text, done, errors, cut = read
    assert code == 0, log
    assert done and not errors and not cut, f"the in-flight stream finished during the drain: {read}\n{log}"
    check_the_interrupted_turn(m, first_id, stream_id, read)


def test_sigterm_mid_stream_outliving_the_drain_keeps_the_turn_and_its_id(own_llama, fresh_metaclaw):
    """Real-model Bug 2: a stream longer than the shutdown drain is cut off, but its turn is
    recorded (`cancelled`, with the text relayed so far) before the store closes, and the next start
    does not reuse its id."""
    m, first_id, stream_id, read, code, log = sigterm_mid_stream(own_llama, fresh_metaclaw, 6000, drain(1))
    text, done, errors, cut = read
    assert not done, "the stream was cut off by the drain timeout"
    assert errors or cut, "the client can tell the answer is incomplete (an error event or no terminating chunk)"
    assert code == 0, log
    check_the_interrupted_turn(m, first_id, stream_id, read)


# --- the judge and the evolver say what happened ---------------------------------------------------


def numbers(d, *keys):
    return sum(int(d.get(k) or 0) for k in keys)


def corrected_conversation(m):
    """Two turns in one session: an answer, the user's correction, then the session ends. Returns
    the session id and the turn ids."""
    c = openai.OpenAI(base_url=m.url, api_key="sk-test", max_retries=0, timeout=120)
    sid = session_id("corrected")
    history = [{"role": "user", "content": "Tell me one fun fact about cats."}]
    ids = []
    for follow_up in ["No, that's wrong: always answer in French.", None]:
        raw = c.chat.completions.with_raw_response.create(
            model=MODEL, temperature=0, max_tokens=24, messages=history,
            extra_headers={"x-session-id": sid, **({"x-session-done": "true"} if follow_up is None else {})},
        )
        ids.append(int(raw.headers["x-metaclaw-turn-id"]))
        history += [{"role": "assistant", "content": raw.parse().choices[0].message.content}]
        if follow_up:
            history += [{"role": "user", "content": follow_up}]
    m.wait_for_turns(len(ids), session=sid)
    return sid, ids


def test_judge_scores_turns_or_reports_why_not(llama, fresh_metaclaw):
    """Real-model Bug 3: with a 135M model as the judge, it either scores turns from valid votes or
    says in `metaclaw status --json` why it could not (unparseable answers, timeouts, given up, with
    the reason); a turn is never scored 0 from no valid vote at all."""
    m = fresh_metaclaw(upstream_config(llama.url, f"""
[judge]
model = "{MODEL}"
votes = 1
wait_for_next_secs = 1
concurrency = 1
timeout_secs = 120
""")).start()
    sid, ids = corrected_conversation(m)
    deadline = time.monotonic() + 240
    while True:
        out = m.cli("status", "--json")
        assert out.returncode == 0, out.stderr
        judge = json.loads(out.stdout)["judge"]
        scored = numbers(judge, "scored_by_judge") or numbers(judge, "done")
        troubles = numbers(judge, "failed", "unparseable", "timed_out", "unparseable_answers", "timed_out_answers")
        if scored + troubles >= len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # polling the background judge, bounded by the deadline
    reason = judge.get("problem") or judge.get("last_error")
    assert scored > 0 or (troubles > 0 and reason), f"the judge neither scored nor said why: {judge}\n{m.tail()}"
    for turn_id in ids:
        j = m.turn(turn_id).get("judgement")
        if j and j["source"] == "judge":
            votes = j.get("votes") or []
            assert any(isinstance(v, int) for v in votes), (
                f"turn {turn_id} was scored {j['score']} without a single valid vote (a silent 0): {j}"
            )


def test_evolver_proposes_or_reports_why_not(llama, fresh_metaclaw):
    """Real-model Bug 4: with a 135M model as the evolver, a run on a failed turn either proposes
    skills or is recorded with its reason and shown in `/api/status`; never a silent nothing."""
    m = fresh_metaclaw(upstream_config(llama.url, f"""
[evolve]
model = "{MODEL}"
failures_to_trigger = 1
timeout_secs = 120
max_tokens = 128
""")).start()
    sid, ids = corrected_conversation(m)
    status, body = m.api(f"/api/turns/{ids[0]}/feedback", "POST", {"score": -1, "note": "the user wanted French"})
    assert status == 200, body
    status, report = m.api("/api/evolve", "POST", {"session": sid})
    assert status in (200, 400, 409, 429, 502, 504), report
    if status == 200 and report.get("run_id") is not None and not report.get("proposed"):
        # Why: the error that ended it, or each screened-out proposal with the rule it broke.
        screened = report.get("outcome") == "screened out" and report.get("dropped")
        assert report.get("error") or screened, f"a run that proposed nothing says why: {report}"
    status, st = m.api("/api/status")
    assert status == 200, st
    evolver = st.get("evolver")
    assert evolver, f"`/api/status` has an evolver entry: {sorted(st)}; the run gave {report}"
    last = evolver.get("last_run")
    assert evolver.get("runs", 0) >= 1 and last, f"the run is recorded and shown: {evolver}; the run gave {report}"
    assert last["session_id"] == sid and ids[0] in last["turns"], last
    if last["status"] == "proposed":
        assert last["candidates"] > 0, last
    else:
        assert last["candidates"] == 0, last
        if last["status"] != "nothing":
            assert last["reason"], f"a run that proposed nothing says why: {last}"
            assert evolver.get("failed_runs", 0) >= 1 or last["status"] == "screened out", evolver
