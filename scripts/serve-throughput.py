#!/usr/bin/env python3
"""Aggregate decode throughput of a running `atelier serve`: CLIENTS concurrent streaming chat
requests over plain http.client (no per-chunk JSON parsing, so the client takes little of the CPU
the server needs). Prints completion chunks per second.

usage: serve-throughput.py PORT API_KEY [CLIENTS] [MAX_TOKENS]
"""
import http.client
import json
import sys
import threading
import time

PORT, KEY = int(sys.argv[1]), sys.argv[2]
CLIENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 32
MAX_TOKENS = int(sys.argv[4]) if len(sys.argv) > 4 else 32
SUBJECTS = ["the sea", "a cat", "the moon", "bread", "a river", "winter", "a library", "the wind", "mountains", "a clock",
            "coffee", "a garden", "trains", "the desert", "a violin", "rain", "a lighthouse", "snow", "bees", "a bridge",
            "the forest", "a kite", "stars", "a market", "the harbour", "apples", "a storm", "a candle", "whales", "a map",
            "the city at night", "a old letter"]
counts = [0] * CLIENTS


def run(i):
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
    body = json.dumps({"messages": [{"role": "user", "content": f"Write two sentences about {SUBJECTS[i % len(SUBJECTS)]}."}],
                       "temperature": 0, "max_tokens": MAX_TOKENS, "stream": True})
    connection.request("POST", "/v1/chat/completions", body, {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    for line in connection.getresponse():
        if line.startswith(b"data: {") and b'"content":"' in line and b'"content":""' not in line:
            counts[i] += 1


start = time.time()
threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
for t in threads: t.start()
for t in threads: t.join()
seconds = time.time() - start
print(f"{CLIENTS} clients: {sum(counts)} completion chunks in {seconds:.2f} s = {sum(counts) / seconds:.1f} tokens/s")
