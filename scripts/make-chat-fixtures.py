#!/usr/bin/env python3
"""Writes llama.cpp's greedy chat answers that `atelier chat` is tested against.

Each case is rendered with the model's own `tokenizer.chat_template` by jinja2 (as llama.cpp's
`--jinja` mode does), then continued greedily by llama.cpp's `llama-server` (/completion with
n_probs 2, so each step's margin between the best and second-best token is recorded: a step
whose margin is under 0.1 nats is fragile, and tests compare ids only before it).
Development-time only (never run by the tests):
    python3 -m pip install gguf==0.19.0 jinja2==3.1.6
    LLAMACPP_BIN=~/.cache/llamacpp-baseline/build/bin \
        python3 scripts/make-chat-fixtures.py MODEL.gguf Tests/ChatTests/Fixtures/smollm2-chat.json
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

import jinja2
from gguf import GGUFReader

CASES = [
    {"system": "You are a helpful assistant.", "question": "What is the capital of France?"},
    {"system": None, "question": "What is the capital of Japan?"},
    {"system": None, "question": "What is 2 + 2?"},
    {"system": None, "question": "Name three primary colors."},
]


def field_string(reader, key):
    field = reader.fields[key]
    return bytes(field.parts[field.data[0]]).decode()


def main(model, out):
    reader = GGUFReader(model)
    template = jinja2.Environment().from_string(field_string(reader, "tokenizer.chat_template"))
    tokens = reader.fields["tokenizer.ggml.tokens"]
    def token_text(key):
        index = int(reader.fields[key].parts[-1][0])
        return bytes(tokens.parts[tokens.data[index]]).decode()
    bos, eos = token_text("tokenizer.ggml.bos_token_id"), token_text("tokenizer.ggml.eos_token_id")
    server = subprocess.Popen(
        [os.path.join(os.environ["LLAMACPP_BIN"], "llama-server"), "-m", model, "-t", "2", "-c", "1024",
         "--port", "8093", "-np", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen("http://127.0.0.1:8093/health")
                break
            except OSError:
                time.sleep(0.2)
        results = []
        for case in CASES:
            messages = ([{"role": "system", "content": case["system"]}] if case["system"] else []) + \
                [{"role": "user", "content": case["question"]}]
            prompt = template.render(messages=messages, add_generation_prompt=True, bos_token=bos, eos_token=eos)
            body = {"prompt": prompt, "n_predict": 64, "temperature": 0, "top_k": 1, "samplers": ["top_k"],
                    "n_probs": 2, "cache_prompt": False}
            request = urllib.request.Request("http://127.0.0.1:8093/completion", data=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json"})
            reply = json.load(urllib.request.urlopen(request))
            steps = reply["completion_probabilities"]
            results.append({**case, "rendered_prompt": prompt, "answer": reply["content"],
                            "ended_turn": reply["stop_type"] == "eos",
                            "ids": [step["id"] for step in steps],
                            "margins": [round(step["top_logprobs"][0]["logprob"] - step["top_logprobs"][1]["logprob"], 4)
                                        for step in steps]})
    finally:
        server.terminate()
    json.dump({"source": "llama.cpp 0c1e57098 llama-server /completion, greedy, raw rendered prompt, n_predict 64, n_probs 2",
               "cases": results}, open(out, "w"), indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
