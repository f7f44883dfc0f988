#!/usr/bin/env python3
"""A small real agent for MetaClaw-Bench runs, on the official `openai` Python SDK.

    sdk_agent.py SESSION MESSAGE_FILE WORKSPACE BASE_URL MODEL [--state DIR] [--no-stream] [--max-steps N]

It is what `metaclaw bench run --agent command` drives in the test suite:

    --agent-cmd 'python3 tests/bench/sdk_agent.py {session} {message_file} {workspace} {base_url} {model}'

One call is one user turn: the message is read from MESSAGE_FILE, appended to the session's
transcript (a JSON file per session under the state dir, so a session is kept across rounds), and
answered with a tool loop: the model may call `write_file`, `read_file` and `list_dir`, confined to
WORKSPACE (paths that leave it are refused with an error result, never followed), until it answers
with text, which is printed to stdout (the round's answer). The system prompt is the workspace's
identity files (AGENTS.md, IDENTITY.md, SOUL.md, TOOLS.md, USER.md), as OpenClaw builds its own.
Every request carries `X-Session-Id: SESSION`, so MetaClaw files the turns under the day's session.

The state dir is --state, else $METACLAW_BENCH_AGENT_DIR, else the folder above MESSAGE_FILE's
(bench run writes messages to <agent dir>/messages/). Streams by default (--no-stream: JSON).
Exit status 0 with the answer; 1 with the reason on stderr (API error, too many tool steps).
"""

import argparse
import json
import os
import re
import sys
import tempfile

import openai

IDENTITY_FILES = ["AGENTS.md", "IDENTITY.md", "SOUL.md", "TOOLS.md", "USER.md"]
MAX_READ = 64 * 1024
MAX_WRITE = 4 * 1024 * 1024
MAX_LIST = 500

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "write_file",
            "description": "Write a text file in the workspace (creating folders as needed), replacing it if it exists.",
            "parameters": {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Path relative to the workspace."},
                    "content": {"type": "string", "description": "The whole new content of the file."},
                },
                "required": ["path", "content"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a text file in the workspace (at most 64 KiB).",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string", "description": "Path relative to the workspace."}},
                "required": ["path"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "list_dir",
            "description": "List a folder of the workspace ('.' for its top).",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string", "description": "Folder relative to the workspace."}},
                "required": ["path"],
            },
        },
    },
]


class ToolError(Exception):
    pass


def inside(workspace, path):
    """The absolute path of `path` in the workspace; ToolError when it would leave it."""
    if not isinstance(path, str) or not path or "\0" in path:
        raise ToolError("a path is required")
    root = os.path.realpath(workspace)
    full = os.path.realpath(os.path.join(root, path))
    if full != root and not full.startswith(root + os.sep):
        raise ToolError(f"{path} is outside the workspace")
    return full


def run_tool(workspace, name, raw_args):
    """Runs one tool call; returns its result text (errors are results too, as agents do)."""
    try:
        args = json.loads(raw_args or "{}")
        if not isinstance(args, dict):
            raise ToolError("the arguments must be a JSON object")
        if name == "write_file":
            content = args.get("content")
            if not isinstance(content, str):
                raise ToolError("content must be a string")
            if len(content.encode()) > MAX_WRITE:
                raise ToolError("content is too large")
            full = inside(workspace, args.get("path"))
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8") as f:
                f.write(content)
            return f"wrote {len(content.encode())} bytes to {args['path']}"
        if name == "read_file":
            full = inside(workspace, args.get("path"))
            with open(full, encoding="utf-8", errors="replace") as f:
                return f.read(MAX_READ)
        if name == "list_dir":
            full = inside(workspace, args.get("path") or ".")
            names = sorted(os.listdir(full))[:MAX_LIST]
            return "\n".join(n + ("/" if os.path.isdir(os.path.join(full, n)) else "") for n in names)
        raise ToolError(f"unknown tool {name}")
    except ToolError as e:
        return f"error: {e}"
    except (OSError, ValueError) as e:
        return f"error: {e}"


def system_prompt(workspace):
    parts = ["You are an agent working in a workspace folder. Use the tools to read and write its files; "
             "paths are relative to the workspace. Answer briefly when the task is done."]
    for name in IDENTITY_FILES:
        try:
            with open(os.path.join(workspace, name), encoding="utf-8") as f:
                parts.append(f.read(MAX_READ).strip())
        except OSError:
            pass
    return "\n\n".join(parts)


def save(path, messages):
    """Writes the transcript atomically."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(messages, f, ensure_ascii=False, indent=1)
    os.replace(tmp, path)


def complete(client, model, messages, stream):
    """One chat completion; returns the assistant message as a dict for the transcript."""
    if not stream:
        r = client.chat.completions.create(model=model, messages=messages, tools=TOOLS)
        m = r.choices[0].message
        out = {"role": "assistant", "content": m.content}
        if m.tool_calls:
            out["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
                for c in m.tool_calls
            ]
        return out
    text, calls = [], {}
    for chunk in client.chat.completions.create(model=model, messages=messages, tools=TOOLS, stream=True):
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        if delta.content:
            text.append(delta.content)
        for c in delta.tool_calls or []:
            call = calls.setdefault(c.index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
            if c.id:
                call["id"] = c.id
            if c.function and c.function.name:
                call["function"]["name"] += c.function.name
            if c.function and c.function.arguments:
                call["function"]["arguments"] += c.function.arguments
    out = {"role": "assistant", "content": "".join(text) or None}
    if calls:
        out["tool_calls"] = [calls[i] for i in sorted(calls)]
    return out


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("session")
    p.add_argument("message_file")
    p.add_argument("workspace")
    p.add_argument("base_url")
    p.add_argument("model")
    p.add_argument("--state")
    p.add_argument("--no-stream", action="store_true")
    p.add_argument("--max-steps", type=int, default=8)
    a = p.parse_args(argv)

    state = a.state or os.environ.get("METACLAW_BENCH_AGENT_DIR") or os.path.dirname(
        os.path.dirname(os.path.abspath(a.message_file)))
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", a.session)[:200] or "session"
    transcript = os.path.join(state, "sdk-sessions", safe + ".json")
    with open(a.message_file, encoding="utf-8") as f:
        message = f.read()
    try:
        with open(transcript, encoding="utf-8") as f:
            messages = json.load(f)
    except FileNotFoundError:
        messages = [{"role": "system", "content": system_prompt(a.workspace)}]
    messages.append({"role": "user", "content": message})

    client = openai.OpenAI(
        base_url=a.base_url,
        api_key=os.environ.get("OPENAI_API_KEY", "metaclaw"),
        default_headers={"X-Session-Id": a.session},
        max_retries=0,
        timeout=300,
    )
    try:
        for _ in range(max(1, a.max_steps)):
            reply = complete(client, a.model, messages, not a.no_stream)
            messages.append(reply)
            save(transcript, messages)
            if not reply.get("tool_calls"):
                print(reply.get("content") or "")
                return 0
            for call in reply["tool_calls"]:
                result = run_tool(a.workspace, call["function"]["name"], call["function"]["arguments"])
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
            save(transcript, messages)
    except openai.OpenAIError as e:
        save(transcript, messages)
        print(f"sdk_agent: the model call failed: {e}", file=sys.stderr)
        return 1
    print(f"sdk_agent: no answer after {a.max_steps} tool steps", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
