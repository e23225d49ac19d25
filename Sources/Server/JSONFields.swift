import JSON

/// Reads the fields of one JSON object with errors that name the field (its full path, e.g.
/// `messages[2].content`), what was expected and what was sent, as OpenAI-shaped 400s.
struct JSONFields {
    let members: [String: JSONValue]
    /// The object's own path: "" for the body, "messages[2]" for a message.
    let path: String

    init(_ value: JSONValue, path: String) throws {
        guard case .object(let members) = value else {
            throw APIError.invalid(
                path.isEmpty
                    ? "the request body must be a JSON object; got \(value.described)"
                    : "\(path): expected an object, got \(value.described)",
                param: path.isEmpty ? nil : path)
        }
        self.members = members
        self.path = path
    }

    func name(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    func wrongType(_ key: String, expected: String, got value: JSONValue) -> APIError {
        APIError.invalid("\(name(key)): expected \(expected), got \(value.described)", param: name(key))
    }

    /// The value unless it is absent or null.
    func present(_ key: String) -> JSONValue? {
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String) throws -> String? {
        guard let value = present(key) else { return nil }
        guard case .string(let s) = value else { throw wrongType(key, expected: "a string", got: value) }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = present(key) else { return nil }
        guard case .bool(let b) = value else { throw wrongType(key, expected: "true or false", got: value) }
        return b
    }

    /// An integer within `range`; `expected` says the range in words ("an integer ≥ 1").
    func integer(_ key: String, in range: ClosedRange<Int>, expected: String) throws -> Int? {
        guard let value = present(key) else { return nil }
        guard case .number(_, let x) = value, x.rounded() == x, Double(range.lowerBound) <= x, x <= Double(range.upperBound),
            let n = Int(exactly: x), range.contains(n)
        else { throw wrongType(key, expected: expected, got: value) }
        return n
    }

    /// A number within `range`; `expected` says the range in words ("a number from 0 to 2").
    func number(_ key: String, in range: ClosedRange<Double>, excludingLower: Bool = false, expected: String) throws -> Double? {
        guard let value = present(key) else { return nil }
        guard case .number(_, let x) = value, range.contains(x), !(excludingLower && x == range.lowerBound) else {
            throw wrongType(key, expected: expected, got: value)
        }
        return x
    }

    func array(_ key: String) throws -> [JSONValue]? {
        guard let value = present(key) else { return nil }
        guard case .array(let a) = value else { throw wrongType(key, expected: "an array", got: value) }
        return a
    }

    func object(_ key: String) throws -> JSONFields? {
        guard let value = present(key) else { return nil }
        return try JSONFields(value, path: name(key))
    }

    /// A string, or an array of strings (`stop`, `prompt`).
    func strings(_ key: String) throws -> [String]? {
        guard let value = present(key) else { return nil }
        switch value {
        case .string(let s): return [s]
        case .array(let elements):
            return try elements.enumerated().map { i, element in
                guard case .string(let s) = element else {
                    throw APIError.invalid(
                        "\(name(key))[\(i)]: expected a string, got \(element.described)", param: "\(name(key))[\(i)]")
                }
                return s
            }
        default: throw wrongType(key, expected: "a string or an array of strings", got: value)
        }
    }

    /// Fields this server does not implement are refused rather than ignored, unless they hold
    /// a value that changes nothing (`noEffect`: e.g. `tools: []`, `tool_choice: "none"`).
    func refuseUnsupported(_ key: String, because reason: String, noEffect: (JSONValue) -> Bool = { _ in false }) throws {
        guard let value = present(key), !noEffect(value) else { return }
        throw APIError.invalid("\(name(key)) is not supported: \(reason)", param: name(key), code: "unsupported_parameter")
    }
}
