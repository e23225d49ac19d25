import Testing

@testable import SQL

/// Tokens with their byte offsets and lengths, worked out by hand from the query text.
@Suite struct LexerTests {
    static func tokens(_ sql: String) throws -> [String] {
        try Lexer.tokenize(sql).map { token in
            let kind: String
            switch token.kind {
            case .identifier(let name): kind = "id:\(name)"
            case .quotedIdentifier(let name): kind = "qid:\(name)"
            case .keyword(let word): kind = "kw:\(word)"
            case .string(let text): kind = "str:\(text)"
            case .integer(let value): kind = "int:\(value)"
            case .number(let value): kind = "num:\(value)"
            case .symbol(let symbol): kind = "sym:\(symbol)"
            case .end: kind = "end"
            }
            return "\(kind)@\(token.range.offset)+\(token.range.length)"
        }
    }

    @Test func keywordsIdentifiersAndPositions() throws {
        #expect(
            try Self.tokens("select Foo, \"My \"\"Col\"\"\" from T") == [
                "kw:SELECT@0+6", "id:Foo@7+3", "sym:,@10+1", "qid:My \"Col\"@12+12", "kw:FROM@25+4", "id:T@30+1", "end@31+0",
            ])
    }

    @Test func literals() throws {
        #expect(
            try Self.tokens("'it''s' 42 2.5 1e3 7.5E-1") == [
                "str:it's@0+7", "int:42@8+2", "num:2.5@11+3", "num:1000.0@15+3", "num:0.75@19+6", "end@25+0",
            ])
    }

    @Test func operatorsAndComments() throws {
        #expect(
            try Self.tokens("a<=b -- note\n<> != >= || :: /* x\n y */ % ;") == [
                "id:a@0+1", "sym:<=@1+2", "id:b@3+1", "sym:<>@13+2", "sym:!=@16+2", "sym:>=@19+2", "sym:||@22+2", "sym:::@25+2",
                "sym:%@39+1", "sym:;@41+1", "end@42+0",
            ])
    }

    @Test func multiByteTextKeepsByteOffsets() throws {
        #expect(try Self.tokens("'é' ü") == ["str:é@0+4", "id:ü@5+2", "end@7+0"])
    }

    @Test func unterminatedInputIsAnError() {
        for (sql, offset) in [("SELECT 'abc", 7), ("SELECT \"abc", 7), ("SELECT 1 /* x", 9)] {
            #expect(throws: SQLError.self) { _ = try Lexer.tokenize(sql) }
            do {
                _ = try Lexer.tokenize(sql)
            } catch {
                #expect(error.range?.offset == offset)
            }
        }
    }
}
