"""The official `anthropic` SDK against MetaClaw's /v1/messages: relayed faithfully to an
Anthropic upstream (answers equal to asking it directly, streams included), translated to and
from an OpenAI-compatible upstream, and errors surfacing as the SDK's own exceptions. Also the
`openai` SDK on an Anthropic upstream."""

import json

import anthropic
import openai
import pytest


def root(url):
    return url.removesuffix("/v1")


@pytest.fixture
def direct(standin_url):
    return anthropic.Anthropic(base_url=root(standin_url), api_key="sk-test", max_retries=0)


@pytest.fixture
def proxied(multi_proxy_url):
    return anthropic.Anthropic(base_url=root(multi_proxy_url), api_key="sk-test", max_retries=0)


TOOLS = [{"name": "get_weather", "description": "Weather for a city", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]


def test_message_is_identical_to_the_upstreams(direct, proxied):
    kw = dict(model="claude-test", max_tokens=64, system="be brief", messages=[{"role": "user", "content": "hello sdk"}])
    a, b = direct.messages.create(**kw), proxied.messages.create(**kw)
    assert b.content[0].text == "Echo: hello sdk"
    assert a.model_dump() == b.model_dump()


def test_stream_events_are_identical(direct, proxied):
    kw = dict(model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "stream these words [[thinking]]"}])
    with direct.messages.stream(**kw) as s:
        a = [e.model_dump() for e in s]
        a_final = s.get_final_message().model_dump()
    with proxied.messages.stream(**kw) as s:
        b = [e.model_dump() for e in s]
        b_final = s.get_final_message().model_dump()
    assert a == b
    assert a_final == b_final
    assert b_final["content"][0]["type"] == "thinking"
    assert b_final["content"][1]["text"] == "Echo: stream these words (thinking)"


def test_tool_use_round_trip(direct, proxied):
    messages = [{"role": "user", "content": "weather in paris? [[tool]]"}]
    b = proxied.messages.create(model="claude-test", max_tokens=64, tools=TOOLS, messages=messages)
    assert b.stop_reason == "tool_use"
    use = b.content[0]
    assert (use.name, use.input) == ("get_weather", {"city": "Paris"})
    messages += [
        {"role": "assistant", "content": [c.model_dump() for c in b.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}, {"type": "text", "text": "thanks"}]},
    ]
    a = direct.messages.create(model="claude-test", max_tokens=64, tools=TOOLS, messages=messages)
    b = proxied.messages.create(model="claude-test", max_tokens=64, tools=TOOLS, messages=messages)
    assert a.model_dump() == b.model_dump()
    assert b.content[0].text == "Echo: thanks"


def test_errors_are_the_sdks_exceptions(proxied):
    with pytest.raises(anthropic.RateLimitError) as e:
        proxied.messages.create(model="claude-test", max_tokens=8, messages=[{"role": "user", "content": "[[status:429]]"}])
    assert e.value.response.headers["retry-after"] == "7"
    with pytest.raises(anthropic.APIStatusError) as e:
        proxied.messages.create(model="claude-test", max_tokens=8, messages=[{"role": "user", "content": "[[status:529]]"}])
    assert e.value.status_code == 529
    assert e.value.body["error"]["type"] == "overloaded_error"
    with pytest.raises(anthropic.BadRequestError) as e:
        proxied.messages.create(model="claude-test", max_tokens=8, messages=[])
    assert e.value.body["type"] == "error"


def test_count_tokens(proxied):
    n = proxied.messages.count_tokens(model="claude-test", system="one two", messages=[{"role": "user", "content": "three four five"}])
    assert n.input_tokens == 5


def test_translated_to_an_openai_upstream(proxied):
    m = proxied.messages.create(model="standin-small", max_tokens=64, system="be brief", messages=[{"role": "user", "content": "hi"}])
    assert (m.content[0].text, m.stop_reason, m.role) == ("Echo: hi", "end_turn", "assistant")
    assert m.usage.input_tokens > 0 and m.usage.output_tokens > 0
    m = proxied.messages.create(model="standin-small", max_tokens=64, tools=TOOLS, messages=[{"role": "user", "content": "go [[tool]]"}])
    assert m.stop_reason == "tool_use"
    assert m.content[0].input == {"city": "Paris"}
    with proxied.messages.stream(model="standin-small", max_tokens=64, messages=[{"role": "user", "content": "stream via openai"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "Echo: stream via openai"
    assert final.stop_reason == "end_turn"
    with proxied.messages.stream(model="standin-small", max_tokens=64, tools=TOOLS, messages=[{"role": "user", "content": "go [[tool]]"}]) as s:
        final = s.get_final_message()
    assert final.content[0].input == {"city": "Paris"}


def test_openai_sdk_on_an_anthropic_upstream(multi_proxy_url):
    client = openai.OpenAI(base_url=multi_proxy_url, api_key="sk-test", max_retries=0)
    r = client.chat.completions.create(model="claude-test", messages=[{"role": "user", "content": "hello"}])
    assert r.choices[0].message.content == "Echo: hello"
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    chunks = list(client.chat.completions.create(model="claude-test", messages=[{"role": "user", "content": "go [[tool]]"}], tools=tools, stream=True))
    args = "".join(tc.function.arguments or "" for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or []))
    assert json.loads(args) == {"city": "Paris"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
