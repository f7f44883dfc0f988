"""The official `openai` SDK's Responses API (`client.responses.create`, and the `responses.stream`
helper) against MetaClaw: every answer — plain, streamed, with a function tool — must equal the one
the SDK gets from the upstream directly, and errors must surface as the same SDK exceptions."""

import json

import openai
import pytest
from openai import OpenAI


@pytest.fixture
def direct(standin_url):
    return OpenAI(base_url=standin_url, api_key="sk-test", max_retries=0)


@pytest.fixture
def proxied(proxy_url):
    return OpenAI(base_url=proxy_url, api_key="sk-test", max_retries=0)


TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "strict": False,
    }
]


def both(direct, proxied, **kw):
    return direct.responses.create(**kw), proxied.responses.create(**kw)


def test_a_plain_response_is_identical(direct, proxied):
    a, b = both(direct, proxied, model="standin-small", instructions="be terse", input="hello responses")
    assert b.output_text == "Echo: hello responses"
    assert b.usage.total_tokens > 0
    assert a.model_dump() == b.model_dump()


def test_streamed_events_are_identical(direct, proxied):
    kw = dict(model="standin-small", input="stream these words please [[reasoning]]", stream=True)
    a, b = both(direct, proxied, **kw)
    a = [e.model_dump() for e in a]
    b = [e.model_dump() for e in b]
    assert a == b
    assert b[0]["type"] == "response.created"
    assert b[-1]["type"] == "response.completed"
    assert b[-1]["response"]["usage"]["total_tokens"] > 0
    text = "".join(e["delta"] for e in b if e["type"] == "response.output_text.delta")
    assert text == "Echo: stream these words please (reasoning)"
    assert any(e["type"] == "response.reasoning_summary_text.delta" for e in b)


def test_a_function_tool_call_and_its_answer_round_trip(direct, proxied):
    first = [{"role": "user", "content": "weather in paris? [[tool]]"}]
    a, b = both(direct, proxied, model="standin-small", input=first, tools=TOOLS)
    assert a.model_dump() == b.model_dump()
    call = b.output[0]
    assert (call.type, call.name) == ("function_call", "get_weather")
    assert json.loads(call.arguments) == {"city": "Paris"}
    follow = first + [
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21C"},
        {"role": "user", "content": "thanks, summarise"},
    ]
    a, b = both(direct, proxied, model="standin-small", input=follow, tools=TOOLS)
    assert a.model_dump() == b.model_dump()
    assert b.output_text == "Echo: thanks, summarise"


def test_streamed_function_call_arguments_are_identical(direct, proxied):
    kw = dict(model="standin-small", input="call it [[tool]]", tools=TOOLS, stream=True)
    a, b = both(direct, proxied, **kw)
    a = [e.model_dump() for e in a]
    b = [e.model_dump() for e in b]
    assert a == b
    args = "".join(e["delta"] for e in b if e["type"] == "response.function_call_arguments.delta")
    assert json.loads(args) == {"city": "Paris"}


def test_the_stream_helper_assembles_the_same_final_response(direct, proxied):
    finals = []
    for client in (direct, proxied):
        with client.responses.stream(model="standin-small", input="assemble this [[tool]]", tools=TOOLS) as s:
            finals.append(s.get_final_response())
    assert finals[0].model_dump() == finals[1].model_dump()
    assert finals[1].output[0].name == "get_weather"


def test_upstream_errors_raise_the_same_exceptions(direct, proxied):
    for status, exc in [(400, openai.BadRequestError), (429, openai.RateLimitError), (500, openai.InternalServerError)]:
        errors = []
        for client in (direct, proxied):
            with pytest.raises(exc) as e:
                client.responses.create(model="m", input=f"fail [[status:{status}]]")
            errors.append(e.value)
        assert errors[0].body == errors[1].body
        assert errors[1].status_code == status


def test_a_bad_request_from_the_proxy_is_a_bad_request_error(proxied):
    with pytest.raises(openai.BadRequestError) as e:
        proxied.responses.create(model="m", input=5)
    assert e.value.body["param"] == "input"
    assert e.value.body["type"] == "invalid_request_error"


def test_a_broken_stream_ends_with_an_error_event(proxied):
    events = list(proxied.responses.create(model="m", input="go on [[stream_break]]", stream=True))
    assert events[-1].type == "error"
    assert "broke off" in events[-1].message


# A Responses client on an upstream that only speaks Chat Completions: MetaClaw translates both
# ways. The answers must match what the same stand-in gives through its own Responses API.

from conftest import _serve, _start  # noqa: E402


@pytest.fixture(scope="module")
def chat_only_proxied():
    import os

    standin, addr = _start([os.environ["METACLAW_STANDIN_BIN"], "--chat-only"], prefix="listening on ")
    proc, url = _serve("[skills]\nbuiltin = false\n", ["--upstream", addr + "/v1"])
    yield OpenAI(base_url=url, api_key="sk-test", max_retries=0)
    proc.terminate()
    assert proc.wait(timeout=20) == 0
    standin.terminate()
    standin.wait()


def same_answer(a, b):
    assert b.status == a.status == "completed"
    assert b.output_text == a.output_text
    assert [i.type for i in b.output] == [i.type for i in a.output]
    for x, y in zip(a.output, b.output):
        if x.type == "function_call":
            assert (y.name, y.arguments) == (x.name, x.arguments)
    assert b.usage.total_tokens == a.usage.total_tokens


def test_a_chat_only_upstream_gives_the_same_answer(direct, chat_only_proxied):
    kw = dict(model="standin-small", instructions="be terse", input="hello translated")
    a, b = direct.responses.create(**kw), chat_only_proxied.responses.create(**kw)
    same_answer(a, b)
    assert b.output_text == "Echo: hello translated"
    assert b.id.startswith("resp_")


def test_a_chat_only_upstream_streams_the_same_events(direct, chat_only_proxied):
    for text in ["stream these words [[reasoning]]", "call it [[tool]]"]:
        kw = dict(model="standin-small", input=text, tools=TOOLS, stream=True)
        a = list(direct.responses.create(**kw))
        b = list(chat_only_proxied.responses.create(**kw))
        assert [e.type for e in b] == [e.type for e in a]
        assert [e.sequence_number for e in b] == list(range(len(b)))
        deltas = lambda evs: [getattr(e, "delta", None) for e in evs]  # noqa: E731
        assert deltas(b) == deltas(a)
        same_answer(a[-1].response, b[-1].response)


def test_a_chat_only_upstream_works_with_the_stream_helper_and_previous_response_id(direct, chat_only_proxied):
    with chat_only_proxied.responses.stream(model="standin-small", input="weather? [[tool]]", tools=TOOLS) as s:
        first = s.get_final_response()
    call = first.output[0]
    assert (call.type, call.name, json.loads(call.arguments)) == ("function_call", "get_weather", {"city": "Paris"})
    follow = chat_only_proxied.responses.create(
        model="standin-small",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}, {"role": "user", "content": "thanks"}],
        tools=TOOLS,
    )
    assert follow.output_text == "Echo: thanks"
    assert follow.previous_response_id == first.id
    assert chat_only_proxied.responses.retrieve(follow.id).model_dump() == follow.model_dump()
    chat_only_proxied.responses.delete(follow.id)
    with pytest.raises(openai.NotFoundError):
        chat_only_proxied.responses.retrieve(follow.id)
