import ChatTemplates
import Testing

private let conversation = [ChatMessage(role: "user", content: "Hi")]

private func render(_ source: String, _ messages: [ChatMessage] = conversation) throws -> String {
    try ChatTemplate(source: source).render(messages: messages, addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
}

/// Asserts that parsing or rendering `source` throws an error whose description is `expected`.
private func expectError(
    _ source: String, _ expected: String, kind: ChatTemplateError.Kind, sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let out = try render(source)
        Issue.record("expected error '\(expected)', rendered \(out.debugDescription)", sourceLocation: sourceLocation)
    } catch let e as ChatTemplateError {
        #expect(e.description == expected, sourceLocation: sourceLocation)
        #expect(e.kind == kind, sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error type \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct ChatTemplateErrorTests {
    @Test func unsupportedFilterIsNamedWithLine() {
        expectError("hello\n{{ messages | frobnicate }}", "unsupported filter 'frobnicate' at line 2", kind: .unsupported)
        expectError(
            "{% for m in messages %}\n\n{{ m.content|trim|wordwrap(5) }}{% endfor %}", "unsupported filter 'wordwrap' at line 3",
            kind: .unsupported)
    }

    @Test func unsupportedTagTestAndMethodAreNamed() {
        expectError("{% macro f() %}x{% endmacro %}", "unsupported tag 'macro' at line 1", kind: .unsupported)
        expectError("a\n{% include 'x.j2' %}", "unsupported tag 'include' at line 2", kind: .unsupported)
        expectError("{{ 1 is prime }}", "unsupported test 'prime' at line 1", kind: .unsupported)
        expectError("{{ messages[0].content.zfill(3) }}", "unsupported method 'zfill' at line 1", kind: .unsupported)
        expectError("{{ 'x%s' % 1 }}", "unsupported string formatting with '%' at line 1", kind: .unsupported)
    }

    @Test func raiseExceptionCarriesItsMessage() throws {
        let source = "{% if messages[0]['role'] != 'system' %}{{ raise_exception('System message required!') }}{% endif %}ok"
        do {
            _ = try render(source)
            Issue.record("expected raise_exception to throw")
        } catch let e as ChatTemplateError {
            #expect(e.kind == .raised)
            #expect(e.message == "System message required!")
            #expect(e.description.contains("System message required!"))
        }
        #expect(try render(source, [ChatMessage(role: "system", content: "s")]) == "ok")
    }

    @Test func syntaxErrorsAreReportedNotCrashed() {
        expectError(
            "{% if true %}never closed", "unexpected end of template, expected one of 'elif', 'else', 'endif' at line 1", kind: .syntax)
        expectError("{{ 'unterminated }}", "unterminated string literal at line 1", kind: .syntax)
        expectError("line1\n{{ 1 + }}", "unexpected '}}' in expression at line 2", kind: .syntax)
        expectError("{% endfor %}", "unexpected 'endfor' at line 1", kind: .syntax)
        expectError("{{ x", "unclosed variable tag at line 1", kind: .syntax)
        expectError("{# x", "unclosed comment at line 1", kind: .syntax)
        expectError("{{ 1 $ 2 }}", "unexpected character '$' at line 1", kind: .syntax)
    }

    @Test func runtimeErrorsAreReported() {
        expectError("{{ nothing.attr }}", "'nothing' is undefined at line 1", kind: .runtime)
        expectError("{{ 'a' + 1 }}", "unsupported operand type(s) for +: 'str' and 'int' at line 1", kind: .runtime)
        expectError("{{ 1 // 0 }}", "integer division or modulo by zero at line 1", kind: .runtime)
        expectError("{{ [1][::0] }}", "slice step cannot be zero at line 1", kind: .runtime)
    }
}

@Suite struct ChatTemplateFeatureTests {
    @Test func loopLastAndIndex() throws {
        let msgs = ["a", "b", "c"].map { ChatMessage(role: "user", content: $0) }
        #expect(
            try render("{% for m in messages %}{{ loop.index }}{{ m.content }}{% if not loop.last %},{% endif %}{% endfor %}", msgs)
                == "1a,2b,3c")
        #expect(
            try render("{% for m in messages %}{% if loop.last %}{{ loop.length }}:{{ m.content }}{% endif %}{% endfor %}", msgs) == "3:c")
    }

    @Test func slicing() throws {
        let msgs = ["a", "b", "c"].map { ChatMessage(role: "user", content: $0) }
        #expect(
            try render(
                "{% for m in messages[1:] %}{{ m.content }}{% endfor %}|{% for m in messages[::-1] %}{{ m.content }}{% endfor %}|{{ 'abcdef'[1:4] }}",
                msgs) == "bc|cba|bcd")
    }

    @Test func namespaceEscapesLoopScope() throws {
        let msgs = ["a", "b"].map { ChatMessage(role: "user", content: $0) }
        let src =
            "{% set ns = namespace(n=0) %}{% set plain = 0 %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% set plain = plain + 1 %}{% endfor %}{{ ns.n }} {{ plain }}"
        #expect(try render(src, msgs) == "2 0")
        // Values verified with jinja2 3.1.6: a `set` does not survive into the next iteration.
        #expect(try render("{% set x = 0 %}{% for i in [1,2] %}{{ x }}{% set x = i %}{% endfor %}{{ x }}") == "000")
        #expect(try render("{% for i in [1,2] %}{{ y is defined }}{% set y = i %}{% endfor %}") == "FalseFalse")
    }

    @Test func whitespaceControl() throws {
        // trim_blocks drops the newline after a block tag; lstrip_blocks drops indentation before it.
        #expect(try render("{% if true %}\n  x\n  {% endif %}\ny") == "  x\ny")
        // `-` strips all whitespace on that side, including newlines; `}}` keeps the newline.
        #expect(try render("a  \n  {{- 'b' -}}  \n  c {{ 'd' }}\n") == "abc d")
        #expect(try render("a\n{#- c -#}\nb") == "ab")
        // `+` disables lstrip/trim for that tag.
        #expect(try render("  {%+ if true +%}\nx{% endif %}") == "  \nx")
        // One trailing newline of the source is dropped, as jinja2 does by default.
        #expect(try render("x\n\n") == "x\n")
    }

    @Test func templateIsReusableAcrossRenders() throws {
        let t = try ChatTemplate(source: "{{ messages|length }}{% if add_generation_prompt %}+{% endif %}{{ bos_token }}{{ eos_token }}")
        #expect(try t.render(messages: conversation, addGenerationPrompt: true, bosToken: "B", eosToken: "E") == "1+BE")
        #expect(try t.render(messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "") == "0")
    }
}
