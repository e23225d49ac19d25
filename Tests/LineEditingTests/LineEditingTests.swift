import Foundation
import Testing

@testable import LineEditing

/// Keys decoded from the bytes terminals send (xterm's sequences, hand-written here), the buffer's
/// readline motions, history and the sideways-scrolling view, against hand-worked cases.
struct KeyDecoderTests {
    @Test func arrowsHomeEndDeleteAndControlKeys() {
        var decoder = KeyDecoder()
        let keys = decoder.decode(
            Array("ab\u{1B}[D\u{1B}[C\u{1B}[A\u{1B}[B\u{1B}OH\u{1B}[F\u{1B}[3~\u{01}\u{05}\u{15}\u{0B}\u{17}\u{03}\u{04}\r".utf8))
        #expect(
            keys == [
                .text("ab"), .left, .right, .up, .down, .home, .end, .delete, .home, .end, .killToStart, .killToEnd, .deleteWordBackward,
                .interrupt, .endOfInput, .enter,
            ])
    }

    @Test func sequencesAndCharactersSplitAcrossReadsWaitForTheirRest() {
        var decoder = KeyDecoder()
        let euro = Array("€".utf8)  // E2 82 AC
        #expect(decoder.decode([0x1B]) == [])
        #expect(decoder.decode(Array("[1;5".utf8)) == [])
        #expect(decoder.decode(Array("D".utf8) + euro[0..<2]) == [.wordLeft])
        #expect(decoder.decode(euro[2...]) == [.text("€")])
    }

    @Test func bracketedPasteKeepsNewlinesAsText() {
        var decoder = KeyDecoder()
        #expect(decoder.decode(Array("\u{1B}[200~line one\r\nline two\rend\u{1B}[20".utf8)) == [])
        #expect(decoder.decode(Array("1~x".utf8)) == [.paste("line one\nline two\nend"), .text("x")])
    }
}

struct LineBufferTests {
    @Test func editingInTheMiddle() {
        var buffer = LineBuffer("hello world")
        buffer.moveWordLeft()
        #expect(buffer.cursor == 6)
        buffer.insert("big ")
        #expect(buffer.text == "hello big world")
        buffer.deleteWordBackward()
        #expect(buffer.text == "hello world" && buffer.cursor == 6)
        buffer.backspace()
        buffer.insert(", ")
        #expect(buffer.text == "hello, world")
        buffer.moveHome()
        buffer.deleteForward()
        #expect(buffer.text == "ello, world" && buffer.cursor == 0)
        buffer.moveWordRight()
        buffer.killToEnd()
        #expect(buffer.text == "ello,")
        buffer.killToStart()
        #expect(buffer.isEmpty)
    }

    @Test func aCombiningMarkJoinsTheCharacterBeforeIt() {
        var buffer = LineBuffer("cafe")
        buffer.insert("\u{301}")
        #expect(buffer.characters.count == 4)
        #expect(buffer.text == "caf\u{E9}")  // é: canonically equal
        buffer.backspace()
        #expect(buffer.text == "caf")
    }
}

struct HistoryTests {
    @Test func upAndDownWalkEntriesAndKeepTheDraft() {
        var history = History(entries: ["first", "second"])
        #expect(history.older(from: "draft") == "second")
        #expect(history.older(from: "second") == "first")
        #expect(history.older(from: "first") == nil)
        #expect(history.newer() == "second")
        #expect(history.newer() == "draft")
        #expect(history.newer() == nil)
        history.add("second")  // a repeat of the last entry is not stored twice
        history.add("")
        #expect(history.entries == ["first", "second"])
    }

    @Test func entriesWithNewlinesAndBackslashesSurviveTheFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var history = History(limit: 3)
        for entry in ["one", "two\nlines", #"back\slash\n"#, "four"] { history.add(entry) }
        history.save(path: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "two\\nlines\nback\\\\slash\\\\n\nfour\n")
        #expect(History.load(path: path, limit: 3).entries == ["two\nlines", #"back\slash\n"#, "four"])
        #expect(History.load(path: path + ".missing").entries.isEmpty)
    }
}

struct LineViewTests {
    @Test func wideCharactersTakeTwoCells() {
        #expect(DisplayWidth.of(Array("a日本€")) == 6)
        #expect(DisplayWidth.of(Array("e\u{301}")) == 1)
        #expect(DisplayWidth.of(Array("👍")) == 2)
    }

    @Test func aLongLineScrollsToKeepTheCursorInView() {
        // 10 columns, prompt "> ": 7 cells of text (one is kept free for the cursor).
        var buffer = LineBuffer("abcdefghijkl")
        #expect(LineView(prompt: "> ", buffer: buffer, columns: 10) == LineView.make(visible: "fghijkl", cursorColumn: 9))
        buffer.moveHome()
        #expect(LineView(prompt: "> ", buffer: buffer, columns: 10) == LineView.make(visible: "abcdefg", cursorColumn: 2))
        buffer.replace(with: "日本語テキスト")  // 14 cells
        #expect(LineView(prompt: "> ", buffer: buffer, columns: 10) == LineView.make(visible: "キスト", cursorColumn: 8))
    }
}

extension LineView {
    static func make(visible: String, cursorColumn: Int) -> LineView {
        var view = LineView(prompt: "", buffer: LineBuffer(), columns: 80)
        view.visible = visible
        view.cursorColumn = cursorColumn
        return view
    }
}
