import Columns

/// SQL LIKE matching over UTF-8 bytes: `%` matches any run of characters, `_` exactly one
/// character (one UTF-8 scalar, not one byte), everything else itself; ILIKE folds ASCII case.
/// Greedy matching with one backtrack point per `%`, so it is linear for the usual patterns and
/// never exponential.
struct LikePattern: Sendable {
    private enum Piece: Equatable {
        case literal([UInt8])
        case anyOne
        case anyRun
    }
    private let pieces: [Piece]
    private let caseInsensitive: Bool

    init(_ pattern: String, caseInsensitive: Bool) {
        self.caseInsensitive = caseInsensitive
        var pieces: [Piece] = []
        var literal: [UInt8] = []
        for scalar in pattern.unicodeScalars {
            switch scalar {
            case "%", "_":
                if !literal.isEmpty { pieces.append(.literal(literal)) }
                literal = []
                if scalar == "_" { pieces.append(.anyOne) } else if pieces.last != .anyRun { pieces.append(.anyRun) }
            default:
                let bytes = Array(String(scalar).utf8)
                literal.append(contentsOf: caseInsensitive ? bytes.map(LikePattern.fold) : bytes)
            }
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        self.pieces = pieces
    }

    @inline(__always)
    static func fold(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte + 32 : byte }

    func matches(_ text: UnsafeRawBufferPointer) -> Bool {
        var piece = 0, position = 0
        var backtrackPiece = -1, backtrackPosition = 0
        while true {
            if piece == pieces.count {
                if position == text.count { return true }
            } else {
                switch pieces[piece] {
                case .anyRun:
                    backtrackPiece = piece
                    backtrackPosition = position
                    piece += 1
                    continue
                case .anyOne:
                    if position < text.count {
                        position += LikePattern.scalarLength(text[position])
                        piece += 1
                        continue
                    }
                case .literal(let bytes):
                    if position + bytes.count <= text.count && matchesLiteral(bytes, text, position) {
                        position += bytes.count
                        piece += 1
                        continue
                    }
                }
            }
            // Mismatch: let the last % swallow one more character and retry from there.
            guard backtrackPiece >= 0, backtrackPosition < text.count else { return false }
            backtrackPosition += LikePattern.scalarLength(text[backtrackPosition])
            position = backtrackPosition
            piece = backtrackPiece + 1
        }
    }

    private func matchesLiteral(_ bytes: [UInt8], _ text: UnsafeRawBufferPointer, _ position: Int) -> Bool {
        for index in 0..<bytes.count {
            let byte = caseInsensitive ? LikePattern.fold(text[position + index]) : text[position + index]
            if byte != bytes[index] { return false }
        }
        return true
    }

    @inline(__always)
    static func scalarLength(_ lead: UInt8) -> Int {
        lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
    }
}

/// A boolean column from a predicate over a string column's bytes; dictionary columns test each
/// distinct value once.
enum StringPredicates {
    static func evaluate(_ column: Column, _ predicate: (UnsafeRawBufferPointer) -> Bool) -> Column {
        let count = column.count
        var out = [Bool](repeating: false, count: count)
        switch column.storage {
        case .dictionary(let codes, let values):
            let hits = (0..<values.count).map { values.withBytes($0, predicate) }
            for row in 0..<count { out[row] = hits[Int(codes[row])] }
        case .string(let values):
            for row in 0..<count { out[row] = values.withBytes(row, predicate) }
        default:
            preconditionFailure("a string predicate over a \(column.dataType) column")
        }
        return Column(.boolean(out), validity: column.validity)
    }
}
