import ChatTemplates
import Tokenizers

/// A conversation rendered through its chat template, with the places where the messages'
/// contents lie in the text. Contents are text: a client who writes `<|im_start|>system` in a
/// message gets those characters as ordinary tokens, not a new turn. Only the template's own text
/// is searched for special tokens.
///
/// Tokens equal what parsing the whole rendering with special tokens gives whenever no content
/// contains special-token text: the rendering is cut only at the special tokens found in the
/// template's text, and each run of text between them (template text and contents together) is
/// tokenized in one piece, so merges across a content's edges are the same as before.
public struct RenderedPrompt: Sendable {
    public let text: String
    /// UTF-8 offsets of the messages' contents in `text`: in order, not overlapping.
    public let contentRanges: [Range<Int>]

    /// Locates each message's content in `text`, the template's rendering of `messages`. The
    /// template is rendered once more with a placeholder for every content; when that rendering
    /// with the contents put back (as they are, or with surrounding whitespace trimmed, as
    /// templates do) gives `text`, the places are exact. Otherwise (a template whose output
    /// depends on what the contents say) each content is searched for after the previous one.
    init(text: String, messages: [ChatMessage], placeholderRendering: (([ChatMessage]) -> String?)) {
        self.text = text
        let rendered = Array(text.utf8)
        let contents = messages.map { Array($0.content.utf8) }
        let withPlaceholders = messages.enumerated().map { ChatMessage(role: $1.role, content: ContentPlaceholder.text($0)) }
        contentRanges =
            placeholderRendering(withPlaceholders).flatMap { ContentPlaceholder.locate(contents, in: rendered, skeleton: Array($0.utf8)) }
            ?? Self.searchInOrder(contents, in: rendered)
    }

    /// Token ids: BOS first when `addBOS`, then the text with special tokens parsed outside the
    /// contents only.
    public func tokens(tokenizer: any Tokenizer, addBOS: Bool) -> [Int32] {
        let bytes = Array(text.utf8)
        var ids: [Int32] = []
        if addBOS, let bos = tokenizer.bosTokenID { ids.append(bos) }
        var plain: [UInt8] = []
        func flushPlain() {
            guard !plain.isEmpty else { return }
            ids += tokenizer.encode(String(decoding: plain, as: UTF8.self), addBOS: false, parseSpecialTokens: false)
            plain.removeAll()
        }
        var position = 0
        for content in contentRanges + [bytes.count..<bytes.count] {
            for piece in Self.templatePieces(bytes[position..<content.lowerBound], tokenizer: tokenizer) {
                switch piece {
                case .text(let text): plain += text
                case .tokens(let tokens):
                    flushPlain()
                    ids += tokens
                }
            }
            plain += bytes[content]
            position = content.upperBound
        }
        flushPlain()
        return ids
    }

    private enum TemplatePiece {
        case text(ArraySlice<UInt8>)
        /// Special tokens (or, as a fallback, a whole piece's ids).
        case tokens([Int32])
    }

    /// The template's text cut at the control tokens that special-token parsing finds in it.
    /// The tokenizer says which tokens those are, in order; each is then found in the text after
    /// the previous one. Should one not be found, the whole piece keeps the tokenizer's ids.
    private static func templatePieces(_ bytes: ArraySlice<UInt8>, tokenizer: any Tokenizer) -> [TemplatePiece] {
        guard !bytes.isEmpty else { return [] }
        let text = String(decoding: bytes, as: UTF8.self)
        let parsed = tokenizer.encode(text, addBOS: false, parseSpecialTokens: true)
        let specials = parsed.filter { tokenizer.isControl($0) }
        guard !specials.isEmpty else { return [.text(bytes)] }
        var pieces: [TemplatePiece] = []
        var position = bytes.startIndex
        for id in specials {
            guard let found = firstRange(of: Array(tokenizer.tokenText(id).utf8), in: bytes[position...]) else {
                return [.tokens(parsed)]
            }
            if found.lowerBound > position { pieces.append(.text(bytes[position..<found.lowerBound])) }
            pieces.append(.tokens([id]))
            position = found.upperBound
        }
        if position < bytes.endIndex { pieces.append(.text(bytes[position...])) }
        return pieces
    }

    /// Each non-empty content (or, failing that, it trimmed) at its first occurrence after the
    /// previous content; a content not found is left out.
    private static func searchInOrder(_ contents: [[UInt8]], in rendered: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var position = 0
        for content in contents {
            for candidate in ContentPlaceholder.trimmings(of: content[...]) where !candidate.isEmpty {
                guard let found = firstRange(of: Array(candidate), in: rendered[position...]) else { continue }
                ranges.append(found)
                position = found.upperBound
                break
            }
        }
        return ranges
    }

    /// The first occurrence of `needle` in `haystack`, in time linear in both (Knuth–Morris–Pratt):
    /// contents are client data, and a naive search could be made quadratic.
    static func firstRange(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Range<Int>? {
        guard !needle.isEmpty, needle.count <= haystack.count else { return nil }
        // border[i]: the length of the longest proper prefix of needle[...i] that is also its suffix.
        var border = [Int](repeating: 0, count: needle.count)
        var length = 0
        for i in needle.indices.dropFirst() {
            while length > 0 && needle[i] != needle[length] { length = border[length - 1] }
            if needle[i] == needle[length] { length += 1 }
            border[i] = length
        }
        length = 0
        for i in haystack.indices {
            while length > 0 && haystack[i] != needle[length] { length = border[length - 1] }
            if haystack[i] == needle[length] { length += 1 }
            if length == needle.count { return (i + 1 - length)..<(i + 1) }
        }
        return nil
    }
}

/// The stand-ins for message contents in a second rendering, which shows the template's own text
/// around every content.
enum ContentPlaceholder {
    /// U+F8FF (private use): no template writes it, and trimming and case filters keep it.
    static let mark: [UInt8] = Array("\u{F8FF}".utf8)

    static func text(_ index: Int) -> String { "\u{F8FF}\(index)\u{F8FF}" }

    /// The contents' places in `rendered`, when `skeleton` (the rendering with placeholders) with
    /// each placeholder replaced by its content, possibly trimmed, is exactly `rendered`.
    static func locate(_ contents: [[UInt8]], in rendered: [UInt8], skeleton: [UInt8]) -> [Range<Int>]? {
        // The skeleton as template text, placeholder, template text, …, template text.
        var literals: [ArraySlice<UInt8>] = []
        var order: [Int] = []
        var position = 0
        while let open = RenderedPrompt.firstRange(of: mark, in: skeleton[position...]) {
            guard let close = RenderedPrompt.firstRange(of: mark, in: skeleton[open.upperBound...]),
                let index = Int(String(decoding: skeleton[open.upperBound..<close.lowerBound], as: UTF8.self)),
                contents.indices.contains(index)
            else { return nil }
            literals.append(skeleton[position..<open.lowerBound])
            order.append(index)
            position = close.upperBound
        }
        literals.append(skeleton[position...])

        var ranges: [Range<Int>] = []
        var at = 0
        guard rendered[...].dropFirst(at).starts(with: literals[0]) else { return nil }
        at += literals[0].count
        for (k, index) in order.enumerated() {
            let next = literals[k + 1]
            // The content as written, or with the whitespace around it trimmed, followed by the template's next text.
            guard
                let content = trimmings(of: contents[index][...]).first(where: { candidate in
                    rendered[at...].starts(with: candidate) && rendered[(at + candidate.count)...].starts(with: next)
                })
            else { return nil }
            if !content.isEmpty { ranges.append(at..<(at + content.count)) }
            at += content.count + next.count
        }
        return at == rendered.count ? ranges : nil
    }

    /// `content`, then it without leading and trailing whitespace, without leading only, without
    /// trailing only: the forms templates put in (Gemma's `| trim`).
    static func trimmings(of content: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        let scalars = Array(String(decoding: content, as: UTF8.self).unicodeScalars)
        let leading = scalars.prefix { isWhitespace($0) }.reduce(0) { $0 + UTF8.width($1) }
        let trailing = leading == content.count ? 0 : scalars.reversed().prefix { isWhitespace($0) }.reduce(0) { $0 + UTF8.width($1) }
        let start = content.startIndex
        let end = content.endIndex
        return [content, content[(start + leading)..<(end - trailing)], content[(start + leading)...], content[..<(end - trailing)]]
    }

    /// Python's `str.strip()` whitespace, which jinja2's `trim` uses.
    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }
}
