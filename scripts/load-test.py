#!/usr/bin/env python3
"""Load test for `atelier serve` (loopback only, bounded).

usage: load-test.py BASE_URL API_KEY MODEL_ID [CLIENTS] [MAX_TOKENS]

1. Serves each of CLIENTS greedy prompts alone, one after another (the reference, and the
   one-at-a-time throughput).
2. Sends all of them at once as streaming requests.
Every streamed answer must equal its alone answer token for token, with correct usage counts.
Prints both aggregate throughputs (completion tokens / wall seconds) and their ratio.
"""
import sys
import threading
import time

import openai

BASE, KEY, MODEL = sys.argv[1], sys.argv[2], sys.argv[3]
CLIENTS = int(sys.argv[4]) if len(sys.argv) > 4 else 32
MAX_TOKENS = int(sys.argv[5]) if len(sys.argv) > 5 else 32
client = openai.OpenAI(base_url=BASE, api_key=KEY, max_retries=0, timeout=600)

SUBJECTS = ["the sea", "a cat", "the moon", "bread", "a river", "winter", "a library", "the wind", "mountains", "a clock",
            "coffee", "a garden", "trains", "the desert", "a violin", "rain", "a lighthouse", "snow", "bees", "a bridge",
            "the forest", "a kite", "stars", "a market", "the harbour", "apples", "a storm", "a candle", "whales", "a map",
            "the city at night", "a old letter"]
PROMPTS = [f"Write two sentences about {SUBJECTS[i % len(SUBJECTS)]}." + (" Be brief." if i >= len(SUBJECTS) else "")
           for i in range(CLIENTS)]


def ask(prompt):
    r = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt}], temperature=0, max_tokens=MAX_TOKENS,
                                       logprobs=True)
    return [t.token for t in r.choices[0].logprobs.content], r.choices[0].message.content, r.usage


start = time.time()
alone = [ask(p) for p in PROMPTS]
alone_seconds = time.time() - start
alone_tokens = sum(u.completion_tokens for _, _, u in alone)

results = [None] * CLIENTS
errors = []


def stream(i):
    try:
        tokens, text, usage = [], "", None
        for chunk in client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": PROMPTS[i]}], temperature=0,
                                                    max_tokens=MAX_TOKENS, stream=True, logprobs=True,
                                                    stream_options={"include_usage": True}):
            if chunk.usage:
                usage = chunk.usage
            for c in chunk.choices:
                if c.delta.content:
                    text += c.delta.content
                if c.logprobs and c.logprobs.content:
                    tokens += [t.token for t in c.logprobs.content]
        results[i] = (tokens, text, usage)
    except Exception as e:  # noqa: BLE001 - reported below
        errors.append(f"client {i}: {e!r}")


start = time.time()
threads = [threading.Thread(target=stream, args=(i,)) for i in range(CLIENTS)]
for t in threads: t.start()
for t in threads: t.join()
together_seconds = time.time() - start

failed = list(errors)
for i, (tokens, text, usage) in enumerate(r for r in results if r is not None):
    a_tokens, a_text, a_usage = alone[i]
    if tokens != a_tokens or text != a_text:
        failed.append(f"client {i}: streamed {text!r} != alone {a_text!r}")
    if usage is None or usage.completion_tokens != len(tokens) or usage.prompt_tokens != a_usage.prompt_tokens:
        failed.append(f"client {i}: usage {usage} for {len(tokens)} tokens (alone: {a_usage})")
together_tokens = sum(len(r[0]) for r in results if r is not None)
print(f"one at a time: {alone_tokens} tokens in {alone_seconds:.2f} s = {alone_tokens / alone_seconds:.1f} tokens/s")
print(f"{CLIENTS} concurrent streams: {together_tokens} tokens in {together_seconds:.2f} s = {together_tokens / together_seconds:.1f} tokens/s")
print(f"ratio: {(together_tokens / together_seconds) / (alone_tokens / alone_seconds):.2f}x")
if failed:
    print("FAIL:\n" + "\n".join(failed[:10]))
    sys.exit(1)
print(f"all {CLIENTS} streams complete, identical to their alone answers, usage counts correct")
