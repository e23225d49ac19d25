#!/usr/bin/env python3
"""How far llama.cpp's top-5 logprobs move between two of its own configurations (flash attention
on vs off), on the greedy reference prompts: the floor below which no other engine can be asked
to agree with "llama.cpp". With a reference file (Tests/ModelsTests/Fixtures/llamacpp-*.json) it also
prints how far each step's greedy margin (top-1 minus top-2 logprob) moves between the reference
and the two configurations: a step whose margin llama.cpp itself moves by m is not robust below m.
Development-time only:
    LLAMACPP_BIN=~/.cache/llamacpp-baseline/build/bin python3 scripts/llamacpp-self-variance.py MODEL.gguf [REFERENCE.json]
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

PROMPTS = ["The capital of France is", "def fibonacci(n):", "1, 2, 3, 4, 5,"]


def top_logprobs(model, flash_attention, port=8094):
    server = subprocess.Popen(
        [os.path.join(os.environ["LLAMACPP_BIN"], "llama-server"), "-m", model, "-t", "2", "-c", "512",
         "--port", str(port), "-np", "1", "-fa", flash_attention], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health")
                break
            except OSError:
                time.sleep(0.2)
        result = {}
        for prompt in PROMPTS:
            body = {"prompt": prompt, "n_predict": 16, "temperature": 0, "top_k": 1, "samplers": ["top_k"],
                    "n_probs": 5, "cache_prompt": False}
            request = urllib.request.Request(f"http://127.0.0.1:{port}/completion", data=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json"})
            steps = json.load(urllib.request.urlopen(request))["completion_probabilities"]
            result[prompt] = [[(t["id"], t["logprob"]) for t in step["top_logprobs"]] for step in steps]
        return result
    finally:
        server.terminate()
        server.wait()


def margin(step):
    ranked = sorted((lp for _, lp in step), reverse=True)
    return ranked[0] - ranked[1]


def main(model, reference_path=None):
    on, off = top_logprobs(model, "on"), top_logprobs(model, "off")
    reference = {}
    if reference_path:
        for case in json.load(open(reference_path))["greedy"]:
            reference[case["prompt"]] = [[(int(i), lp) for i, lp in step] for step in case["top5_per_step"]]
    for prompt in PROMPTS:
        worst, steps = 0.0, 0
        for a, b in zip(on[prompt], off[prompt]):
            if a[0][0] != b[0][0]:
                break
            steps += 1
            other = dict(b)
            worst = max([worst] + [abs(lp - other[i]) for i, lp in a if i in other])
        print(f"{prompt!r}: {steps} equal greedy steps, worst top-5 logprob difference -fa on vs off {worst:.3f} nats")
        if prompt in reference:
            runs = [reference[prompt], on[prompt], off[prompt]]
            moves = []
            for n, steps_ in enumerate(zip(*runs)):
                if len({s[0][0] for s in steps_}) > 1:
                    break
                margins = [margin(s) for s in steps_]
                moves.append((max(margins) - min(margins), n, margins))
            move, n, margins = max(moves)
            print(f"    greedy margin moves by up to {move:.3f} nats over {len(moves)} common steps (step {n}: "
                  f"reference {margins[0]:.3f}, -fa on {margins[1]:.3f}, -fa off {margins[2]:.3f})")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
