/// Splits text into the words BPE merges within, chosen by `tokenizer.ggml.pre` as in llama.cpp.
///
/// llama.cpp applies a list of regexes in turn, each one splitting every piece the previous one
/// produced, and keeps both the matches and the text between them as pieces. Each stage here is a
/// hand-written matcher for one of those regexes (there is no regex engine in this project).
struct PreTokenizer: Sendable {
    enum Stage: Sendable {
        /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
        case gpt2
        /// `(?i:'s|…|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
        /// with N = 3 for Llama 3 and 1 for Qwen2.
        case llama3(maxDigits: Int)
        /// `\p{N}`: every digit alone (StarCoder, SmolLM).
        case eachNumber
        /// `\p{N}+`
        case numberRuns
        /// `[\p{P}\$\+<=>\^~\|]+`
        case punctuationRuns
        /// `[0-9][0-9][0-9]`
        case asciiDigitTriples
    }

    let name: String
    let stages: [Stage]
    /// llama.cpp's ignore_merges: a word that is itself a token is not merged up from bytes.
    let ignoreMerges: Bool
    /// The add_bos_token default for this pre-tokenizer when the metadata does not say.
    let addsBOSByDefault: Bool

    /// nil when `name` is not a pre-tokenizer this module knows.
    init?(name: String?) {
        self.name = name ?? "default"
        var ignoreMerges = false
        var addsBOS = false
        switch name {
        case nil, "default":
            // llama.cpp's fallback when the converter wrote no pre-tokenizer name.
            stages = [.punctuationRuns, .gpt2, .numberRuns, .asciiDigitTriples]
        case "gpt2", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
            "a.x-4.0", "mellum", "modern-bert", "mpt", "olmo", "jais", "trillion", "granite-docling",
            "exaone4":
            stages = [.gpt2]
        case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2":
            stages = [.eachNumber, .gpt2]
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
            "jina-v5-nano":
            stages = [.llama3(maxDigits: 3)]
            ignoreMerges = true
            addsBOS = true
        case "dbrx", "smaug-bpe":
            stages = [.llama3(maxDigits: 3)]
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan",
            "solar-open", "grok-2":
            stages = [.llama3(maxDigits: 1)]
        default:
            return nil
        }
        self.ignoreMerges = ignoreMerges
        self.addsBOSByDefault = addsBOS
    }

    /// Word boundaries as scalar offsets: the end of each word, in order.
    func split(_ text: ScalarText) -> [Int] {
        var ends = [text.count]
        var next: [Int] = []
        for stage in stages {
            next.removeAll(keepingCapacity: true)
            next.reserveCapacity(ends.count * 2)
            var start = 0
            for end in ends {
                // Hand the output array over and back so appending never copies it.
                var splitter = Splitter(text: text, start: start, end: end, out: [])
                swap(&splitter.out, &next)
                splitter.run(stage)
                swap(&splitter.out, &next)
                start = end
            }
            swap(&ends, &next)
        }
        return ends
    }
}

/// One stage over one piece [start, end): appends word ends to `out`.
struct Splitter {
    let scalars: [UInt32]
    let classes: [CodepointClass]
    let start: Int
    let end: Int
    var out: [Int]
    private var previousEnd: Int

    init(text: ScalarText, start: Int, end: Int, out: [Int]) {
        scalars = text.scalars
        classes = text.classes
        self.start = start
        self.end = end
        self.out = out
        previousEnd = start
    }

    /// Class at `i`, or empty past the piece (so no class test matches there).
    @inline(__always) func cls(_ i: Int) -> CodepointClass { i < end ? classes[i] : [] }
    @inline(__always) func scalar(_ i: Int) -> UInt32 { i < end ? scalars[i] : UInt32.max }

    /// Ends the current word at `position` (empty words are dropped) and returns its length.
    @discardableResult
    mutating func emit(_ position: Int) -> Int {
        let length = position - previousEnd
        if length > 0 { out.append(position) }
        previousEnd = position
        return length
    }

    mutating func run(_ stage: PreTokenizer.Stage) {
        switch stage {
        case .gpt2: gpt2()
        case .llama3(let maxDigits): llama3(maxDigits: maxDigits)
        case .eachNumber: runs(of: .number, eachAlone: true)
        case .numberRuns: runs(of: .number, eachAlone: false)
        case .punctuationRuns: punctuationRuns()
        case .asciiDigitTriples: asciiDigitTriples()
        }
        emit(end)
    }

    /// Matches of a one-class regex and the gaps between them all become words.
    private mutating func runs(of wanted: CodepointClass, eachAlone: Bool) {
        var i = start
        while i < end {
            if cls(i).contains(wanted) {
                emit(i)
                i += 1
                if !eachAlone { while cls(i).contains(wanted) { i += 1 } }
                emit(i)
            } else {
                i += 1
            }
        }
    }

    /// `[\p{P}\$\+<=>\^~\|]+`. llama.cpp runs this through std::regex on ASCII, where \p{P} is
    /// spelled out without the backtick, and on the Unicode punctuation categories above ASCII.
    private mutating func punctuationRuns() {
        func matches(_ i: Int) -> Bool {
            let c = scalar(i)
            if c < 128 { return c != 0x60 && (c >= 0x21 && c <= 0x7E) && !isASCIIAlnum(c) }
            return cls(i).contains(.punctuation)
        }
        var i = start
        while i < end {
            if matches(i) {
                emit(i)
                while i < end && matches(i) { i += 1 }
                emit(i)
            } else {
                i += 1
            }
        }
    }

    private func isASCIIAlnum(_ c: UInt32) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }

    private mutating func asciiDigitTriples() {
        func digit(_ i: Int) -> Bool { let c = scalar(i); return c >= 0x30 && c <= 0x39 }
        var i = start
        while i + 2 < end {
            if digit(i) && digit(i + 1) && digit(i + 2) {
                emit(i)
                emit(i + 3)
                i += 3
            } else {
                i += 1
            }
        }
    }
}
