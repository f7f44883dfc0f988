"""The official `openai` SDK against MetaClaw: every answer must equal the one the SDK gets from
the upstream directly — plain, streamed, with tools — and errors must surface as the same SDK
exceptions."""

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
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


def both(direct, proxied, **kw):
    return direct.chat.completions.create(**kw), proxied.chat.completions.create(**kw)


def test_plain_completion_is_identical(direct, proxied):
    kw = dict(model="standin-small", messages=[{"role": "system", "content": "terse"}, {"role": "user", "content": "hello sdk"}])
    a, b = both(direct, proxied, **kw)
    assert b.choices[0].message.content == "Echo: hello sdk"
    assert a.model_dump() == b.model_dump()


def test_streaming_chunks_are_identical_including_usage(direct, proxied):
    kw = dict(
        model="standin-small",
        messages=[{"role": "user", "content": "stream these words please [[reasoning]]"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    a, b = both(direct, proxied, **kw)
    a = [c.model_dump() for c in a]
    b = [c.model_dump() for c in b]
    assert len(b) > 3
    assert a == b
    assert "".join(c["choices"][0]["delta"]["content"] or "" for c in b if c["choices"]) == "Echo: stream these words please (reasoning)"
    assert b[-1]["usage"]["total_tokens"] > 0


def test_tool_calling_round_trip(direct, proxied):
    messages = [{"role": "user", "content": "weather in paris? [[tool]]"}]
    a, b = both(direct, proxied, model="standin-small", messages=messages, tools=TOOLS)
    assert a.model_dump() == b.model_dump()
    call = b.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    messages += [
        b.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"},
        {"role": "user", "content": "thanks, summarise"},
    ]
    a, b = both(direct, proxied, model="standin-small", messages=messages, tools=TOOLS)
    assert a.model_dump() == b.model_dump()
    assert b.choices[0].finish_reason == "stop"


def test_streamed_tool_call_deltas_are_identical(direct, proxied):
    kw = dict(model="standin-small", messages=[{"role": "user", "content": "call it [[tool]]"}], tools=TOOLS, stream=True)
    a, b = both(direct, proxied, **kw)
    a = [c.model_dump() for c in a]
    b = [c.model_dump() for c in b]
    assert a == b
    args = "".join(
        tc["function"]["arguments"] or "" for c in b for tc in (c["choices"][0]["delta"].get("tool_calls") or [])
    )
    assert json.loads(args) == {"city": "Paris"}


def test_models_list_is_the_upstreams(direct, proxied):
    assert [m.id for m in proxied.models.list()] == [m.id for m in direct.models.list()]


def test_rate_limit_surfaces_with_retry_after(proxied):
    with pytest.raises(openai.RateLimitError) as e:
        proxied.chat.completions.create(model="m", messages=[{"role": "user", "content": "[[status:429]]"}])
    assert e.value.response.headers["retry-after"] == "7"
    assert e.value.status_code == 429


def test_upstream_500_is_an_internal_server_error(proxied):
    with pytest.raises(openai.InternalServerError) as e:
        proxied.chat.completions.create(model="m", messages=[{"role": "user", "content": "[[status:500]]"}])
    assert e.value.status_code == 500


def test_bad_request_from_the_proxy_is_a_bad_request_error(proxied):
    with pytest.raises(openai.BadRequestError) as e:
        proxied.chat.completions.create(model="m", messages=[])
    assert "at least one message" in str(e.value)
    assert e.value.body["type"] == "invalid_request_error"


def test_broken_stream_raises_an_api_error(proxied):
    stream = proxied.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "go [[stream_break]]"}], stream=True
    )
    with pytest.raises(openai.APIError) as e:
        for _ in stream:
            pass
    assert "broke off" in str(e.value)
