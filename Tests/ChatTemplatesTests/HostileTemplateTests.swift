import ChatTemplates
import Foundation
import Testing

/// No conversation, so the limits apply unscaled and the messages can name their exact values.
private func render(_ source: String, limits: RenderLimits = .standard) throws -> String {
    try ChatTemplate(source: source).render(messages: [], addGenerationPrompt: true, bosToken: "", eosToken: "", limits: limits)
}

/// Asserts that parsing or rendering `source` throws a `ChatTemplateError` of `kind` whose text
/// contains every one of `fragments`, and returns that error.
@discardableResult
private func expectRejected(
    _ source: String, kind: ChatTemplateError.Kind = .limitExceeded, _ fragments: String..., limits: RenderLimits = .standard,
    sourceLocation: SourceLocation = #_sourceLocation
) -> ChatTemplateError? {
    do {
        let out = try render(source, limits: limits)
        Issue.record("expected an error, rendered \(out.utf8.count) bytes", sourceLocation: sourceLocation)
    } catch let e as ChatTemplateError {
        #expect(e.kind == kind, "\(e)", sourceLocation: sourceLocation)
        for f in fragments { #expect(e.description.contains(f), "\(e) lacks \(f.debugDescription)", sourceLocation: sourceLocation) }
        return e
    } catch {
        Issue.record("unexpected error type \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

private final class Results: @unchecked Sendable {
    var values: [String] = []
}

/// Seconds `body` takes on the monotonic clock.
private func seconds(_ body: () -> Void) -> Double {
    let elapsed = ContinuousClock().measure(body)
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}

/// Issue 18: templates that used to trap (integer overflow), abort (huge allocation), overflow the
/// stack or never finish. Each must now end in a `ChatTemplateError` that names the limit.
@Suite struct HostileTemplateTests {
    static let intMin = "(-9223372036854775807-1)"

    @Test func integerOverflowIsAnErrorNotATrap() {
        expectRejected("{{ \(Self.intMin)|abs }}", "integer overflow: abs(-9223372036854775808)", "at line 1")
        expectRejected("{{ -\(Self.intMin) }}", "integer overflow: -(-9223372036854775808)")
        expectRejected("{{ \(Self.intMin) // -1 }}", "integer overflow: -9223372036854775808 // -1")
        expectRejected("{{ 9223372036854775807 + 1 }}", "integer overflow: 9223372036854775807 + 1")
        expectRejected("{{ 3037000500 * 3037000500 }}", "integer overflow")
        expectRejected("{{ 2 ** 63 }}", "integer overflow: 2 ** 63")
        expectRejected("{{ (-3) ** 40 }}", "integer overflow: -3 ** 40")
        expectRejected("{{ 1e300|int }}", "integer overflow: int(1e+300)")
        expectRejected("{{ (1e300*1e300)|int }}", "integer overflow: int(inf)")
        expectRejected("{{ -9.3e18|int }}", "integer overflow: int(-9.3e+18)")
    }

    /// The same operations just inside the range give Python's answers (checked with Python 3).
    @Test func arithmeticAtTheEdgesMatchesPython() throws {
        #expect(try render("{{ \(Self.intMin) % -1 }}") == "0")
        #expect(try render("{{ \(Self.intMin) // 1 }}") == "-9223372036854775808")
        #expect(try render("{{ -7 // 2 }} {{ -7 % 2 }} {{ 7 // -2 }} {{ 7 % -2 }}") == "-4 1 -4 -1")
        #expect(
            try render("{{ 2 ** 62 }} {{ (-2) ** 63 }} {{ 3 ** 39 }}") == "4611686018427387904 -9223372036854775808 4052555153018976267")
        #expect(try render("{{ 1 ** 9223372036854775807 }} {{ (-1) ** 9223372036854775807 }} {{ 0 ** 0 }} {{ 0 ** 5 }}") == "1 -1 1 0")
        #expect(
            try render("{{ (-9223372036854775807)|abs }} {{ -9.223372036854775e18|int }}") == "9223372036854775807 -9223372036854774784")
        #expect(try render("{{ \(Self.intMin) is divisibleby(-1) }}") == "True")
        #expect(try render("{{ (0.0/1)|int }}{{ 2.9|int }}{{ -2.9|int }}") == "02-2")
        #expect(try render("{{ -9223372036854775809.0|int }}") == "-9223372036854775808")  // the float is -2^63
        #expect(
            try render("{{ [1, 2, 3][1::9223372036854775807] }} {{ 'abc'[2::\(Self.intMin)] }} {{ 'abc'[::-9223372036854775807] }}")
                == "[2] c c")
    }

    @Test func rangeNearIntMaxNeitherTrapsNorAllocates() throws {
        #expect(
            try render("{{ range(9223372036854775800, 9223372036854775807)|list }}") == "["
                + (9_223_372_036_854_775_800..<9_223_372_036_854_775_807).map(String.init).joined(separator: ", ") + "]")
        #expect(try render("{{ range(9223372036854775806, 9223372036854775807, 9223372036854775807)|list }}") == "[9223372036854775806]")
        #expect(try render("{{ range(\(Self.intMin), -9223372036854775806, 5)|list }}") == "[-9223372036854775808]")
        #expect(try render("{{ range(5, \(Self.intMin), -9223372036854775807)|list }}") == "[5, -9223372036854775802]")
        #expect(try render("{{ range(0, 9223372036854775807, 4611686018427387904)|list }}") == "[0, 4611686018427387904]")
        expectRejected("{{ range(\(Self.intMin), 9223372036854775807)|length }}", "over the limit of 100000")
        expectRejected("{% for i in range(10**9) %}{% endfor %}", "range(0, 1000000000, 1) would make a list of 1000000000 elements")
        expectRejected("{{ range(10**18)|length }}", "over the limit of 100000", "at line 1")
    }

    @Test func hugeRepetitionIsRefusedBeforeAllocating() {
        expectRejected("{{ 'x'*10**18 }}", "a string of 1 bytes * 1000000000000000000 would make a string of 1000000000000000000 bytes")
        expectRejected("{{ 'ab'*9223372036854775807 }}", "over the limit of 1048576 bytes")
        expectRejected("{{ 10**18*'x' }}", "would make a string")
        expectRejected("{{ [1]*10**12 }}", "a list of 1 elements * 1000000000000 would make a list of 1000000000000 elements")
        expectRejected("{{ [1,2,3]*9223372036854775807 }}", "over the limit of 100000")
    }

    /// Found by the fuzzer: repeating nothing a huge number of times allocates nothing but used to
    /// loop that many times (hours).
    @Test func repeatingNothingIsInstant() throws {
        #expect(try render("{{ ''*5 **18 }}|{{ []*9223372036854775807 }}|{{ 9223372036854775807*'' }}") == "|[]|")
    }

    @Test func doublingInALoopStopsAtTheSizeLimits() {
        // Each iteration doubles a value kept in a namespace; 64 iterations would need 2^64 bytes.
        expectRejected(
            "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
            "over the limit of 1048576 bytes", "at line 1")
        expectRejected(
            "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "over the limit of 1048576 bytes")
        expectRejected(
            "{% set ns = namespace(l=[0]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}", "over the limit of 100000")
        // A string built by `set` inside a loop (each iteration a fresh 512 KiB string) stops at the running total.
        expectRejected(
            "{% set ns = namespace(s='') %}{% for i in range(100000) %}{% set ns.s = 'y'*524288 ~ i %}{% endfor %}",
            "template computed more than 268435456 bytes")
    }

    @Test func outputAndJoinAndStrAreBounded() {
        expectRejected("{% for i in range(100000) %}{{ 'z'*1000 }}{% endfor %}", "template output exceeded the limit of 1048576 bytes")
        expectRejected("{% set s %}{% for i in range(2000) %}{{ 'z'*1000 }}{% endfor %}{% endset %}", "output exceeded")
        // One shared 1 MiB string repeated in a list: each value fits, the joined text would not.
        expectRejected("{{ (['x'*1000000]*1000)|join }}", "over the per-string limit")
        expectRejected("{{ (['x'*1000000]*1000)|string }}", "over the per-string limit")
        expectRejected("{{ ['x'*1000000]*1000 }}", "over the per-string limit")
        expectRejected("{{ (['x'*1000000]*1000)|tojson }}", "over the per-string limit")
        expectRejected("{{ [1]|tojson(indent=9223372036854775807) }}", "tojson indent 9223372036854775807")
        expectRejected("{{ ('ab'*500000).replace('', 'xyz') }}", "replace() would make a string")
        expectRejected("{{ ('ab'*500000)|replace('a', 'x'*100) }}", "replace() would make a string")
    }

    @Test func deepNestingIsRejectedByTheParser() {
        let parens = String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)
        let e = expectRejected("{{ \(parens) }}", "template nesting exceeds the limit of 128 levels", "at line 1, column ")
        #expect(e?.column == 132, "the 129th '(' is at column 3 + 129")
        let ifs = String(repeating: "{% if true %}", count: 10_000) + "x" + String(repeating: "{% endif %}", count: 10_000)
        expectRejected(ifs, "template nesting exceeds the limit of 128 levels")
        let fors = String(repeating: "{% for i in [1] %}", count: 10_000) + String(repeating: "{% endfor %}", count: 10_000)
        expectRejected(fors, "template nesting exceeds the limit")
        expectRejected("{{ " + String(repeating: "-", count: 10_000) + "1 }}", "template nesting exceeds the limit")
        expectRejected("{{ " + String(repeating: "not ", count: 10_000) + "1 }}", "template nesting exceeds the limit")
        expectRejected("{{ " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + " }}", "nesting exceeds")
        // Chains built in a loop by the parser nest just as deeply when evaluated.
        expectRejected("{{ 1" + String(repeating: " + 1", count: 100_000) + " }}", "template nesting exceeds the limit")
        expectRejected("{{ 1" + String(repeating: "|abs", count: 100_000) + " }}", "template nesting exceeds the limit")
        expectRejected("{{ x" + String(repeating: ".a", count: 100_000) + " }}", "template nesting exceeds the limit")
        expectRejected("{{ 1" + String(repeating: " if 1 else 1", count: 10_000) + " }}", "template nesting exceeds the limit")
        expectRejected("{{ 1" + String(repeating: " == 1", count: 10_000) + " }}", "template nesting exceeds the limit")
    }

    @Test func nestingJustInsideTheLimitRendersAndAChosenLimitApplies() throws {
        let depth = 60
        let parens = String(repeating: "(", count: depth) + "7" + String(repeating: ")", count: depth)
        #expect(try render("{{ \(parens) }}") == "7")
        let ifs = String(repeating: "{% if true %}", count: depth) + "x" + String(repeating: "{% endif %}", count: depth)
        #expect(try render(ifs) == "x")
        #expect(try render("{{ 1" + String(repeating: " + 1", count: 100) + " }}") == "101")
        #expect(throws: ChatTemplateError.self) { try ChatTemplate(source: "{{ ((1)) }}", maxNestingDepth: 1) }
        #expect(
            try ChatTemplate(source: "{{ ((1)) }}", maxNestingDepth: 3).render(
                messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "") == "1")
    }

    /// Templates at the default nesting limit parse and render on a thread with a 512 KiB stack
    /// (the default limit was chosen so: it needs under 256 KiB), so no server thread overflows.
    @Test func nestingAtTheLimitFitsASmallStack() throws {
        let d = RenderLimits.standard.maxNestingDepth - 1
        let templates = [
            "{{ " + String(repeating: "(", count: d) + "1" + String(repeating: ")", count: d) + " }}",
            "{{ " + String(repeating: "[", count: d) + String(repeating: "]", count: d) + "|length }}",
            "{{ " + String(repeating: "-", count: d) + "1 }}",
            "{{ " + String(repeating: "not ", count: d) + "1 }}",
            String(repeating: "{% if true %}", count: d) + "x" + String(repeating: "{% endif %}", count: d),
            "{{ 1" + String(repeating: " + 1", count: d - 1) + " }}",
            "{{ 1" + String(repeating: "|abs", count: d - 1) + " }}",
            "{% set ns = namespace(x=[]) %}{% for i in range(\(d)) %}{% set ns.x = [ns.x] %}{% endfor %}"
                + "{{ ns.x|tojson|length }} {{ ns.x|string|length }} {{ ns.x == ns.x }}",
        ]
        // The last template wraps the empty list d times: d + 1 levels, 2 × (d + 1) brackets.
        let expected = [
            "1", "1", d % 2 == 0 ? "1" : "-1", d % 2 == 0 ? "True" : "False", "x", "\(d)", "1", "\(2 * d + 2) \(2 * d + 2) True",
        ]
        let results = Results()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            results.values = templates.map { (try? render($0)) ?? "error" }
            done.signal()
        }
        thread.stackSize = 512 << 10
        thread.start()
        done.wait()
        #expect(results.values == expected)
    }

    @Test func valuesCannotNestWithoutBoundOrFormCycles() {
        expectRejected(
            "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}",
            "a value nested more than 128 levels deep cannot be stored in a namespace")
        expectRejected(
            "{% set ns = namespace(a=1) %}{% set ns.me = ns %}{{ ns }}", kind: .unsupported, "storing a namespace inside a namespace")
        expectRejected(
            "{% set ns = namespace(a=1) %}{% set ns.me = [{'b': ns}] %}{{ ns }}", kind: .unsupported,
            "storing a namespace inside a namespace")
    }

    @Test func loopsStopAtTheIterationLimitOrTheDeadline() {
        // 10^9 iterations in all; under the defaults one of the two limits ends it within about a second.
        let nested = "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}{% endfor %}{% endfor %}{% endfor %}"
        var elapsed = seconds { expectRejected(nested) }
        #expect(elapsed < 3, "stopped after \(elapsed) s")
        var few = RenderLimits.standard
        few.maxLoopIterations = 10_000
        expectRejected(nested, "template exceeded the limit of 10000 loop iterations per render", "at line 1", limits: few)
        var quick = RenderLimits.standard
        quick.timeLimit = .milliseconds(50)
        quick.maxLoopIterations = .max
        elapsed = seconds { expectRejected(nested, "template rendering exceeded its time limit (50 ms)", limits: quick) }
        #expect(elapsed < 2, "stopped after \(elapsed) s")
        // A deadline already past stops the render at its first check.
        var past = RenderLimits.standard
        past.deadline = .now - .seconds(1)
        expectRejected(nested, "exceeded its time limit", limits: past)
        // Quadratic string searches check the clock inside the search too.
        let search = "{% set h = 'a'*1000000 %}{% set n = 'a'*500000 ~ 'b' %}{% for i in range(1000) %}{{ n in h }}{% endfor %}"
        elapsed = seconds { expectRejected(search, "exceeded its time limit", limits: quick) }
        #expect(elapsed < 2, "stopped after \(elapsed) s")
        let split = "{% set h = 'a'*1000000 %}{% for i in range(1000) %}{{ h.split('a'*400000 ~ 'b')|length }}{% endfor %}"
        elapsed = seconds { expectRejected(split, "exceeded its time limit", limits: quick) }
        #expect(elapsed < 2, "stopped after \(elapsed) s")
    }

    /// A long conversation is the caller's data: the byte limits grow with it.
    @Test func limitsScaleWithTheConversation() throws {
        let long = String(repeating: "word ", count: 600_000)  // 3 MB, over the 1 MiB base limits
        let template = try ChatTemplate(source: "{% for m in messages %}{{ m.content|trim }}|{{ m.content|upper|length }}{% endfor %}")
        let out = try template.render(
            messages: [ChatMessage(role: "user", content: long)], addGenerationPrompt: false, bosToken: "", eosToken: "")
        #expect(out.utf8.count == long.utf8.count - 1 + "|3000000".utf8.count)
        let scaled = RenderLimits.standard.scaled(forInputBytes: 1000)
        #expect(scaled.maxOutputBytes == (1 << 20) + 4000 && scaled.maxSequenceLength == 101_000)
        #expect(RenderLimits.standard.scaled(forInputBytes: .max).maxComputedBytes == .max)
    }

    /// The real templates need a small fraction of every limit: they render the fixtures' expected
    /// text under limits a hundred times tighter than the defaults (depth 16 instead of 128).
    @Test(arguments: fixtureNames)
    func fixturesRenderFarBelowTheLimits(_ name: String) throws {
        let tight = RenderLimits(
            maxOutputBytes: 10_000, maxStringBytes: 10_000, maxSequenceLength: 1000, maxComputedBytes: 2_000_000,
            maxLoopIterations: 10_000, maxNestingDepth: 16, timeLimit: .milliseconds(100))
        let fixture = try FixtureFile.load(name)
        let template = try ChatTemplate(source: fixture.template, maxNestingDepth: 16)
        for c in fixture.cases {
            guard let expected = c.expected else { continue }
            let messages = c.messages.map { ChatMessage(role: $0.role, content: $0.content) }
            let got = try template.render(
                messages: messages, addGenerationPrompt: c.add_generation_prompt, bosToken: c.bos_token, eosToken: c.eos_token,
                limits: tight)
            #expect(got == expected, "\(name)/\(c.name)")
        }
    }
}
