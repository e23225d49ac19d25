#!/usr/bin/env python3
"""Checks `atelier serve` with the official `openai` package (and raw HTTP for malformed input).

usage: openai-client-test.py BASE_URL API_KEY MODEL_ID [SERVER_PID]
The server must run with --api-key API_KEY, --parallel 2 and --queue 2 (the 429 check fills it).
With SERVER_PID, the last check sends it SIGTERM while a request is in flight: that request must
complete, and the server must then stop accepting connections.
Exits 1 on the first failed check, naming it.
"""
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

import openai

BASE, KEY, MODEL = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=BASE, api_key=KEY, max_retries=0, timeout=120)
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def check(condition, what):
    if not condition:
        print(f"FAIL: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


def expect_error(call, error_type, status, param=None, what=""):
    try:
        call()
    except error_type as e:
        body = e.body if isinstance(e.body, dict) else {}
        check(e.status_code == status, f"{what}: status {e.status_code} == {status}")
        if param is not None:
            check(body.get("param") == param, f"{what}: param {body.get('param')!r} == {param!r}")
        check("message" in body and "type" in body, f"{what}: OpenAI error shape {body}")
        return
    check(False, f"{what}: expected {error_type.__name__}")


def raw(path, data, headers=None):
    request = urllib.request.Request(BASE + path, data=data, method="POST",
                                     headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


# Models
models = client.models.list()
check([m.id for m in models.data] == [MODEL], f"models.list → [{MODEL}]")

# Chat, not streaming
chat = client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0, max_tokens=24)
text = chat.choices[0].message.content
check(len(text) > 0, f"chat answer {text!r}")
u = chat.usage
check(u.prompt_tokens > 0 and 0 < u.completion_tokens <= 24 and u.total_tokens == u.prompt_tokens + u.completion_tokens, f"chat usage {u}")
check(chat.choices[0].finish_reason in ("stop", "length"), "chat finish_reason")

# Chat, streaming: same text, usage in the last chunk
pieces, usage, finish = [], None, None
for chunk in client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0, max_tokens=24, stream=True,
                                            stream_options={"include_usage": True}):
    if chunk.usage:
        usage = chunk.usage
    for c in chunk.choices:
        if c.delta.content:
            pieces.append(c.delta.content)
        if c.finish_reason:
            finish = c.finish_reason
check("".join(pieces) == text, "streamed chat text equals the non-streamed text")
check(usage is not None and usage.completion_tokens == u.completion_tokens and usage.prompt_tokens == u.prompt_tokens, f"stream usage {usage}")
# The same prompt again: every token but the last comes from the slot's cache, and usage says so.
check(usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == u.prompt_tokens - 1,
      f"repeated prompt's cached tokens {usage.prompt_tokens_details} (prompt {u.prompt_tokens})")
check(finish == chat.choices[0].finish_reason, "stream finish_reason")

# Completions, streaming and not
prompt = "The three primary colours are"
comp = client.completions.create(model=MODEL, prompt=prompt, temperature=0, max_tokens=20)
ctext = comp.choices[0].text
check(len(ctext) > 0 and comp.usage.completion_tokens > 0, f"completion {ctext!r}")
streamed = "".join(c.choices[0].text for c in client.completions.create(model=MODEL, prompt=prompt, temperature=0, max_tokens=20, stream=True) if c.choices)
check(streamed == ctext, "streamed completion equals the non-streamed one")

# Stop sequences: the text ends just before the stop string
words = ctext.split()
stop_word = next((w for w in words[1:] if len(w) > 3), None)
if stop_word:
    stopped = client.completions.create(model=MODEL, prompt=prompt, temperature=0, max_tokens=20, stop=[stop_word])
    check(stopped.choices[0].text == ctext[:ctext.index(stop_word)], f"stop {stop_word!r} → {stopped.choices[0].text!r}")
    check(stopped.choices[0].finish_reason == "stop", "stop finish_reason")
    stopped_chat = client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0, max_tokens=24, stop=[text.split()[-1]])
    check(stopped_chat.choices[0].message.content == text[:text.index(text.split()[-1])], "chat stop")

# Seeds: reproducible at temperature 1
def sampled(seed):
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Tell me a story."}],
                                          temperature=1.0, top_p=0.95, seed=seed, max_tokens=24).choices[0].message.content
a, b, c = sampled(42), sampled(42), sampled(7)
check(a == b, "same seed, same text")
check(a != c, "another seed, another text")

# Penalties are accepted and change sampling
pen = client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0, max_tokens=24, frequency_penalty=2.0, presence_penalty=2.0)
check(pen.usage.completion_tokens > 0, "penalties accepted")

# Logprobs
lp = client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0, max_tokens=8, logprobs=True, top_logprobs=3)
content = lp.choices[0].logprobs.content
check(len(content) == lp.usage.completion_tokens, "one logprob per completion token")
check(all(len(t.top_logprobs) == 3 and t.logprob <= 0 for t in content), "top_logprobs has 3 entries, logprob ≤ 0")
check(all(t.token == t.top_logprobs[0].token for t in content), "greedy token is the most likely one")
clp = client.completions.create(model=MODEL, prompt=prompt, temperature=0, max_tokens=5, logprobs=2)
check(len(clp.choices[0].logprobs.tokens) == clp.usage.completion_tokens, "completions logprobs")

# max_completion_tokens
mct = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Count to fifty."}], temperature=0, max_completion_tokens=5)
check(mct.usage.completion_tokens == 5 and mct.choices[0].finish_reason == "length", "max_completion_tokens 5 → length")

# Errors
expect_error(lambda: client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=7), openai.BadRequestError, 400, "temperature", "temperature 7")
expect_error(lambda: client.chat.completions.create(model=MODEL, messages=QUESTION, top_p=0), openai.BadRequestError, 400, "top_p", "top_p 0")
expect_error(lambda: client.chat.completions.create(model=MODEL, messages=QUESTION, max_tokens=0), openai.BadRequestError, 400, "max_tokens", "max_tokens 0")
expect_error(lambda: client.chat.completions.create(model=MODEL, messages=QUESTION, n=2), openai.BadRequestError, 400, "n", "n 2")
expect_error(lambda: client.chat.completions.create(model=MODEL, messages=[]), openai.BadRequestError, 400, "messages", "empty messages")
expect_error(lambda: client.chat.completions.create(model=MODEL, messages=[{"role": "wizard", "content": "x"}]), openai.BadRequestError, 400, None, "bad role")
expect_error(lambda: client.chat.completions.create(model=MODEL, messages=QUESTION, stop=["a", "b", "c", "d", "e"]), openai.BadRequestError, 400, "stop", "5 stop strings")
# One model served: any model name gets it (clients hard-code names), and the answer says which.
other = client.chat.completions.create(model="gpt-4o", messages=QUESTION, temperature=0, max_tokens=2)
check(other.model == MODEL, f"model 'gpt-4o' is answered by {other.model}")
expect_error(lambda: client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "word " * 20000}]), openai.BadRequestError, 400, "messages", "prompt longer than the context")
bad_key = openai.OpenAI(base_url=BASE, api_key="wrong", max_retries=0)
expect_error(lambda: bad_key.models.list(), openai.AuthenticationError, 401, None, "wrong API key")
status, body = raw("/chat/completions", b'{"model": "x", "messages": [')
check(status == 400 and "error" in body, f"malformed JSON → 400 ({status})")
status, body = raw("/chat/completions", b'{"messages": "hello"}')
check(status == 400 and body["error"]["param"] == "messages", f"wrong type → 400 naming messages ({body})")
status, body = raw("/chat/completions", b'{"messages": [{"role": "user"' + b' ' * (5 << 20) + b'}]}')
check(status == 413, f"oversize body → 413 ({status})")

# A full queue answers 429: 2 slots and 2 queue places, 8 long requests at once
statuses = []
def long_request():
    try:
        client.completions.create(model=MODEL, prompt="Once upon a time", temperature=0, max_tokens=48)
        statuses.append(200)
    except openai.RateLimitError as e:
        statuses.append(e.status_code)
threads = [threading.Thread(target=long_request) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
check(429 in statuses and 200 in statuses, f"queue full → some 429, the rest served ({sorted(statuses)})")

# Disconnect mid-stream frees the slot
def health():
    with urllib.request.urlopen(BASE.rsplit("/v1", 1)[0] + "/health", timeout=10) as r:
        return json.loads(r.read())
stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Write a long story."}], temperature=0, max_tokens=400, stream=True)
for i, _ in enumerate(stream):
    if i == 3:
        break
stream.close()
deadline = time.time() + 2
while time.time() < deadline and health()["slots_busy"] != 0:
    time.sleep(0.01)
check(health()["slots_busy"] == 0, "a disconnected stream frees its slot")
# SIGTERM: the request in flight completes, new connections are refused
if len(sys.argv) > 4:
    pid = int(sys.argv[4])
    finished = []
    def in_flight():
        r = client.completions.create(model=MODEL, prompt="Once upon a time", temperature=0, max_tokens=40)
        finished.append(r)
    t = threading.Thread(target=in_flight)
    t.start()
    deadline = time.time() + 10
    while time.time() < deadline and health()["slots_busy"] == 0:
        time.sleep(0.01)
    os.kill(pid, signal.SIGTERM)
    t.join()
    check(len(finished) == 1 and finished[0].usage.completion_tokens == 40, "a request in flight at SIGTERM completes")
    refused = False
    deadline = time.time() + 10
    while time.time() < deadline and not refused:
        try:
            health()
            time.sleep(0.05)
        except Exception:  # noqa: BLE001 - connection refused is the point
            refused = True
    check(refused, "after SIGTERM the server stops accepting connections")
print("all checks passed")
