/// The GPT-2 and Llama 3 split patterns, written as llama.cpp's hand-rolled matchers behave
/// (unicode_regex_split_custom_gpt2 / _llama3), alternative by alternative at each position.
extension Splitter {
    private static let apostrophe: UInt32 = 0x27
    private static let space: UInt32 = 0x20
    private static let cr: UInt32 = 0x0D
    private static let lf: UInt32 = 0x0A

    /// Length of a contraction (`'s 't 'm 'd 're 've 'll`) at `i`, or 0.
    private func contraction(at i: Int, caseInsensitive: Bool) -> Int {
        guard scalar(i) == Self.apostrophe, i + 1 < end else { return 0 }
        func lower(_ c: UInt32) -> UInt32 {
            // Only ASCII letters can complete a contraction, so ASCII folding is enough.
            caseInsensitive && c >= 0x41 && c <= 0x5A ? c + 0x20 : c
        }
        let a = lower(scalar(i + 1))
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }  // s t m d
        guard i + 2 < end else { return 0 }
        let b = lower(scalar(i + 2))
        if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }  // re ve ll
        return 0
    }

    /// A symbol run: in the text, and neither whitespace, letter nor number.
    @inline(__always) private func isOther(_ c: CodepointClass) -> Bool {
        !c.isEmpty && c.isDisjoint(with: [.whitespace, .letter, .number])
    }

    mutating func gpt2() {
        var pos = start
        while pos < end {
            let c = scalar(pos)
            let length = contraction(at: pos, caseInsensitive: false)
            if length > 0 {
                pos += emit(pos + length)
                continue
            }
            // An optional leading space joins the letter, number or symbol run after it.
            let next = c == Self.space ? cls(pos + 1) : cls(pos)
            if next.contains(.letter) || next.contains(.number) || isOther(next) {
                if c == Self.space { pos += 1 }
                if next.contains(.letter) {
                    while cls(pos).contains(.letter) { pos += 1 }
                } else if next.contains(.number) {
                    while cls(pos).contains(.number) { pos += 1 }
                } else {
                    while isOther(cls(pos)) { pos += 1 }
                }
                emit(pos)
                continue
            }
            var spaces = 0
            while cls(pos + spaces).contains(.whitespace) { spaces += 1 }
            if spaces > 1 && pos + spaces < end {
                // \s+(?!\S): leave the last space to lead the next word.
                pos += spaces - 1
                emit(pos)
                continue
            }
            if spaces > 0 {
                pos += spaces
                emit(pos)
                continue
            }
            pos += 1
            emit(pos)
        }
    }

    mutating func llama3(maxDigits: Int) {
        var pos = start
        while pos < end {
            let c = scalar(pos)
            let flags = cls(pos)
            let length = contraction(at: pos, caseInsensitive: true)
            if length > 0 {
                pos += emit(pos + length)
                continue
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == Self.cr || c == Self.lf || flags.contains(.number)) {
                if flags.contains(.letter) || cls(pos + 1).contains(.letter) {
                    pos += 1
                    while cls(pos).contains(.letter) { pos += 1 }
                    emit(pos)
                    continue
                }
            }
            // \p{N}{1,maxDigits}
            if flags.contains(.number) {
                var groupStart = pos
                while cls(pos).contains(.number) {
                    pos += 1
                    if pos - groupStart >= maxDigits {
                        emit(pos)
                        groupStart = pos
                    }
                }
                emit(pos)
                continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            let next = c == Self.space ? cls(pos + 1) : flags
            if isOther(next) {
                if c == Self.space { pos += 1 }
                while isOther(cls(pos)) { pos += 1 }
                while scalar(pos) == Self.cr || scalar(pos) == Self.lf { pos += 1 }
                emit(pos)
                continue
            }
            var spaces = 0
            var afterLastNewline = 0
            while cls(pos + spaces).contains(.whitespace) {
                let s = scalar(pos + spaces)
                if s == Self.cr || s == Self.lf { afterLastNewline = pos + spaces + 1 }
                spaces += 1
            }
            // \s*[\r\n]+
            if afterLastNewline > 0 {
                pos = afterLastNewline
                emit(pos)
                continue
            }
            if spaces > 1 && pos + spaces < end {
                pos += spaces - 1
                emit(pos)
                continue
            }
            if spaces > 0 {
                pos += spaces
                emit(pos)
                continue
            }
            pos += 1
            emit(pos)
        }
    }
}
