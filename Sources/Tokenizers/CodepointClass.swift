/// The few Unicode classes the pre-tokenizer patterns test (\p{L}, \p{N}, \s, \p{P}), one bit each.
/// Every scalar of the text has `inText` set, so 0 can stand for "past the end" the way
/// llama.cpp's empty flags do.
struct CodepointClass: OptionSet, Sendable {
    let rawValue: UInt8
    static let inText = CodepointClass(rawValue: 1)
    static let letter = CodepointClass(rawValue: 2)
    static let number = CodepointClass(rawValue: 4)
    static let whitespace = CodepointClass(rawValue: 8)
    static let punctuation = CodepointClass(rawValue: 16)

    static func of(_ value: UInt32) -> CodepointClass {
        if value < 128 { return ascii[Int(value)] }
        guard let scalar = Unicode.Scalar(value) else { return .inText }
        return classify(scalar)
    }

    private static let ascii: [CodepointClass] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    private static func classify(_ scalar: Unicode.Scalar) -> CodepointClass {
        let properties = scalar.properties
        // White_Space is the same set llama.cpp's tables call whitespace (it includes U+0085, U+00A0).
        if properties.isWhitespace { return [.inText, .whitespace] }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return [.inText, .letter]
        case .decimalNumber, .letterNumber, .otherNumber:
            return [.inText, .number]
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return [.inText, .punctuation]
        default:
            return .inText
        }
    }
}

/// The text being pre-tokenized: its scalars, their classes and where each starts in the UTF-8.
struct ScalarText {
    var scalars: [UInt32] = []
    var classes: [CodepointClass] = []
    /// `utf8Offsets[i]` is the byte offset of scalar i; one extra entry holds the total length.
    var utf8Offsets: [Int] = []

    init(_ utf8: ArraySlice<UInt8>) {
        let text = String(decoding: utf8, as: UTF8.self)
        scalars.reserveCapacity(utf8.count)
        classes.reserveCapacity(utf8.count)
        utf8Offsets.reserveCapacity(utf8.count + 1)
        var offset = 0
        for scalar in text.unicodeScalars {
            scalars.append(scalar.value)
            classes.append(CodepointClass.of(scalar.value))
            utf8Offsets.append(offset)
            offset += UTF8.width(scalar)
        }
        utf8Offsets.append(offset)
    }

    var count: Int { scalars.count }
}
