#!/usr/bin/env python3
"""Generates Tests/ChatTemplatesTests/Fixtures/*.json: chat templates rendered by Python jinja2
(3.1.x) the way Hugging Face transformers configures it -- Environment(trim_blocks=True,
lstrip_blocks=True) plus a `raise_exception` global. Swift tests compare byte for byte.

Usage: python3 scripts/make-chat-template-fixtures.py
Needs: jinja2, gguf (gguf-py), and ~/.cache/atelier/models/smollm2-135m.gguf.
"""
import json
import os
import sys

import jinja2
from jinja2.exceptions import TemplateError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "ChatTemplatesTests", "Fixtures")


def raise_exception(message):
    raise TemplateError(message)


def make_env():
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env


def smollm2_template():
    from gguf import GGUFReader
    path = os.path.expanduser("~/.cache/atelier/models/smollm2-135m.gguf")
    reader = GGUFReader(path)
    field = reader.fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


SYS = {"role": "system", "content": "You are a concise assistant."}
CONVERSATIONS = {
    "system_user": [SYS, {"role": "user", "content": "Hello! How are you?"}],
    "user_only": [{"role": "user", "content": "What is 2+2?"}],
    "multi_turn": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello there. How can I help?"},
        {"role": "user", "content": "  Tell me a joke.  \n"},
    ],
    "system_multi_turn": [
        SYS,
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": " Blue. "},
        {"role": "user", "content": "Another?"},
    ],
    "unicode": [{"role": "user", "content": "Héllo ✓ 日本 🦙 <tag> & 'single' \"double\"\ttab\nnewline"}],
    "bad_alternation": [
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
    ],
}

# ---------------------------------------------------------------------------------------------
# Popular templates, written from their public tokenizer_config.json as remembered (imitations:
# fidelity to the originals matters less than exercising the interpreter).

QWEN25 = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

MISTRAL = """{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.last and system_message is defined %}
            {{- '[INST] ' + system_message + '\\n\\n' + message['content'] + '[/INST]' }}
        {%- else %}
            {{- '[INST] ' + message['content'] + '[/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content']|trim + eos_token}}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}
"""

GEMMA3 = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\\n'}}
{%- endif -%}
"""

# ---------------------------------------------------------------------------------------------
# Feature templates: each exercises a group of Jinja features on the same conversations.

LOOPS = """{# loop variables, for-if filtering, for-else #}
{% for m in messages %}
  {{ loop.index }}/{{ loop.length }} i0={{ loop.index0 }} first={{ loop.first }} last={{ loop.last }} rev={{ loop.revindex }},{{ loop.revindex0 }}: {{ m.role|upper }}={{ m['content']|lower|trim }}{% if not loop.last %};{% endif %}

{% endfor %}
users:{% for m in messages if m.role == 'user' %} [{{ loop.index }}/{{ loop.length }} {{ m.content|length }}]{% endfor %}

{% for m in messages if m.role == 'tool' %}tool{% else %}no tools{% endfor %}

{% for k, v in messages[0].items() %}{{ k }}={{ v|length }}{{ ', ' if not loop.last }}{% endfor %}

{% for i in range(3) %}{{ i }}{% endfor %} {% for c in 'abc' %}{{ c|upper }}{% endfor %} {% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}
{% set outer = 'before' %}{% for m in messages %}{% set outer = m.role %}{% endfor %}outer={{ outer }}
"""

SLICING = """{{ messages[1:]|length }} {{ messages[:1]|length }} {{ messages[::-1]|map(attribute='role')|join(',') }}
{{ messages[0].content[::-1] }}|{{ messages[-1]['content'][1:3] }}|{{ messages[0]['content'][-3:] }}|{{ messages[0].content[::2] }}|{{ messages[0].content[5:1:-1] }}
{{ (messages|last).role }} {{ (messages|first)['content'] }} {{ messages[0].content[0] }} {{ messages[0].content[-1] }}
{{ [1, 2, 3, 4, 5][1:-1] }} {{ [1, 2, 3, 4, 5][::-2] }} {{ [1, 2, 3][5:] }} {{ 'hello'[10:] }}|{{ [1, 2, 3][-10:2] }}
"""

NAMESPACE = """{% set ns = namespace(count=0, last_user='', seen_system=false) %}
{% for m in messages %}
    {% if m.role == 'user' %}
        {% set ns.count = ns.count + 1 %}
        {% set ns.last_user = m.content %}
    {% elif m.role == 'system' %}
        {% set ns.seen_system = true %}
    {% endif %}
    {% set local = 'x' %}
{% endfor %}
count={{ ns.count }} last_user={{ ns.last_user|trim }} system={{ ns.seen_system }} local_defined={{ local is defined }}
{% set ns2 = namespace(items=[]) %}{% for m in messages %}{% set ns2.items = ns2.items + [m.role[0]] %}{% endfor %}{{ ns2.items|join('') }} {{ ns2.items }}
"""

WHITESPACE = """<start>
    {% if add_generation_prompt %}
    indented text kept
    {% endif %}
  {%- for m in messages -%}
    [{{- m.role -}}]
  {%- endfor %}

  {{ messages|length }}   {{- ' tight' }}
{#- a comment that strips on both sides -#}
   after-comment
    {# plain comment on its own line #}
    {%+ if true %}plus-kept-indent{% endif +%}
x {% if true %}inline{% endif %} y
	{% if true %}
tab-indented block line
	{% endif %}
"""

EXPRESSIONS = """{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 * 3 + 1 }} {{ 2 ** 10 }} {{ 1.5 + 1 }} {{ 0.1 + 0.2 }} {{ 1e3 }} {{ -3 }}
{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1] + [2, 'x'] }} {{ {'k': 'v', 'n': [1, none, false]} }} {{ none }} {{ true }} {{ 3.0 }}
{{ 1 < 2 and 2 <= 2 and 3 > 2 and not 1 == 2 }} {{ 1 < 2 < 3 }} {{ 'a' != 'b' }} {{ 'ell' in 'hello' }} {{ 'z' not in 'hello' }} {{ 'role' in messages[0] }} {{ 2 in [1, 2] }}
{{ messages[0].missing is defined }} {{ messages[0].role is defined }} {{ none is none }} {{ 'x' is string }} {{ 1 is string }} {{ 3 is number }} {{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ messages is iterable }} {{ messages[0] is mapping }} {{ undefined_var is undefined }} {{ 1 is not none }}
{{ 'yes' if messages|length > 1 else 'no' }} {{ 'x' if false }}| {{ (1 if true else 2) + 10 }} {{ undefined_var|default('dflt') }} {{ ''|default('empty', true) }} {{ none|default('n') }} {{ 42|string ~ '!' }}
{{ '  padded  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  l'.lstrip() }}|{{ 'r  '.rstrip() }}|{{ 'hello world'.startswith('hell') }} {{ 'hello'.endswith(('lo', 'x')) }} {{ 'a,b,,c'.split(',') }} {{ '  a  b c '.split() }} {{ 'a b c'.split(' ', 1) }}
{{ 'hello wORLD'.title() }} {{ "they're bill's-x".title() }} {{ 'MiXeD'.upper() }} {{ 'MiXeD'.lower() }} {{ 'hello world'|title }} {{ 'hello'|capitalize }} {{ 'a-b'.replace('-', '+') }} {{ 'abc'|replace('b', 'B') }}
{{ messages|tojson }}
{{ {'z': 1, 'a': [1.5, true, none], 'u': 'é<>&\\'"🦙'}|tojson }} {{ [1, 2]|tojson(indent=2) }} {{ 'text'|tojson }}
{{ ['a', 'b', 'c']|join }} {{ ['a', 'b']|join(' | ') }} {{ [1, 2]|join(', ') }} {{ [3, 1]|first }} {{ [3, 1]|last }} {{ 'abc'|first }} {{ 'abc'|length }} {{ {'a': 1}|length }} {{ '日本🦙'|length }} {{ [1, 2]|reverse|list }}
{{ messages|selectattr('role', 'equalto', 'user')|list|length }} {{ messages|rejectattr('role', 'equalto', 'user')|map(attribute='role')|list }} {{ messages[0].get('role') }} {{ messages[0].get('nope', 'fallback') }} {{ messages[0].keys()|list }}
{{ "escapes: \\t|\\x41|\\u00e9|\\\\|\\'" }} {{ 'adjacent' ' strings' }} {{ ('tuple', 'items')|join('+') }} {{ (1, )|length }}
"""

TEMPLATES = [
    ("smollm2", "SmolLM2-135M-Instruct (read from tokenizer.chat_template of smollm2-135m.gguf)", None, "<|im_start|>", "<|im_end|>"),
    ("qwen25_chatml", "Qwen2.5-Instruct (ChatML with default system prompt; tools branch unused)", QWEN25, "", "<|im_end|>"),
    ("llama3_instruct", "Meta-Llama-3-8B-Instruct", LLAMA3, "<|begin_of_text|>", "<|eot_id|>"),
    ("mistral_instruct", "Mistral-7B-Instruct-v0.3 (system folded into the last user turn, raise_exception on bad alternation)", MISTRAL, "<s>", "</s>"),
    ("gemma3_instruct", "gemma-3-it (system folded into the first user turn, <start_of_turn>)", GEMMA3, "<bos>", "<eos>"),
    ("feature_loops", "feature test: loop.*, for-if, for-else, tuple unpacking, range, loop scoping", LOOPS, "<s>", "</s>"),
    ("feature_slicing", "feature test: slicing and indexing of lists and strings", SLICING, "<s>", "</s>"),
    ("feature_namespace", "feature test: namespace() and attribute assignment across loop scopes", NAMESPACE, "<s>", "</s>"),
    ("feature_whitespace", "feature test: trim_blocks/lstrip_blocks, -/+ whitespace control, comments, trailing newline", WHITESPACE, "<s>", "</s>"),
    ("feature_expressions", "feature test: operators, literals, tests, filters, string methods, tojson, printing", EXPRESSIONS, "<s>", "</s>"),
]


def main():
    env = make_env()
    os.makedirs(OUT, exist_ok=True)
    for name, imitates, source, bos, eos in TEMPLATES:
        if source is None:
            source = smollm2_template()
        template = env.from_string(source)
        cases = []
        for conv_name, messages in CONVERSATIONS.items():
            for agp in (False, True):
                case = {
                    "name": f"{conv_name}{'+gen' if agp else ''}",
                    "messages": messages,
                    "add_generation_prompt": agp,
                    "bos_token": bos,
                    "eos_token": eos,
                }
                try:
                    case["expected"] = template.render(
                        messages=messages, add_generation_prompt=agp, bos_token=bos, eos_token=eos)
                except TemplateError as e:
                    case["error"] = str(e)
                cases.append(case)
        fixture = {"name": name, "imitates": imitates, "jinja2_version": jinja2.__version__,
                   "template": source, "cases": cases}
        path = os.path.join(OUT, f"{name}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(fixture, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print(f"wrote {path} ({len(cases)} cases, {sum('error' in c for c in cases)} errors)")


if __name__ == "__main__":
    sys.exit(main())
