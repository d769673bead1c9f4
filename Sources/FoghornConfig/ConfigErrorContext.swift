import FoghornModel

/// Makes a configuration error say where and what was probably meant: a nested unknown field
/// gets the nearest allowed name (`edges[1].latt: unknown field (did you mean lat?)`), and an
/// error about the file gets its line (YAML) or its JSON path.
///
/// ```swift
/// // foghorn.yaml, line 6: "    latt: 3" inside the second edge
/// // → edges[1].latt: unknown field (did you mean lat?) (from file foghorn.yaml:6)
/// ```
enum ConfigErrorContext {
    /// Adds a "did you mean" to an unknown-field error, from the field list the message gives or
    /// the section's known fields.
    static func suggest(_ error: ConfigError) -> ConfigError {
        guard error.problem.contains("unknown field"), !error.problem.contains("did you mean") else { return error }
        // "key: unknown field (a, b, c)" inside the problem, or key "edges[1].latt" with "unknown field".
        var field = error.key.split(separator: ".").last.map(String.init) ?? error.key
        var candidates: [String] = []
        if let colon = error.problem.firstRange(of: ": unknown field") {
            field = String(error.problem[..<colon.lowerBound].split(whereSeparator: { $0 == "." || $0 == " " }).last ?? "")
        }
        if let open = error.problem.firstIndex(of: "("), let close = error.problem.lastIndex(of: ")"), open < close {
            candidates = error.problem[error.problem.index(after: open)..<close].split(separator: ",").map { $0.trimmingCharacters() }
        } else if error.key.hasPrefix("edges[") {
            candidates = Array(EdgeReport.fieldNames.union(StaticState.edgeExtraFields))
        } else if error.key.hasPrefix("playback[") {
            candidates = ["id", "stream", "tenant", "cluster"]
        }
        // A field name is a lower-case identifier (strip "[0]." prefixes of list items).
        if let bracket = field.lastIndex(of: "]") { field = String(field[field.index(after: bracket)...]).trimmingPrefixDot() }
        guard !field.isEmpty, let best = candidates.min(by: { ConfigLoader.editDistance($0, field) < ConfigLoader.editDistance($1, field) }),
              ConfigLoader.editDistance(best, field) <= max(2, field.count / 3) else { return error }
        var e = error
        if let open = e.problem.firstIndex(of: "(") {
            e.problem = String(e.problem[..<open]) + "(did you mean \(best)? one of: " + String(e.problem[e.problem.index(after: open)...])
        } else {
            e.problem += " (did you mean \(best)?)"
        }
        return e
    }

    /// `file foghorn.yaml:12` for an error from a YAML file whose key (and list index and field)
    /// can be found in its text; `file foghorn.json at $.edges[1].latt` for JSON.
    static func locate(_ error: ConfigError, text: String, fileName: String, json: Bool) -> ConfigError {
        guard error.source == "file", error.key != "file" else { return error }
        var path = error.key
        // "peering: close_grac_s: unknown field": the field is in the problem.
        // (Only under a section key: a list item's key names its field already.)
        if !error.key.contains("["), let colon = error.problem.firstRange(of: ": "), !error.problem[..<colon.lowerBound].contains(" ") {
            let head = String(error.problem[..<colon.lowerBound])
            let isPath = !head.isEmpty && head.unicodeScalars.allSatisfy(isPathScalar)
            if isPath { path += (head.hasPrefix("[") ? "" : ".") + head }
        }
        var e = error
        if json {
            e.source = "file \(fileName) at $." + path
            return e
        }
        if let line = yamlLine(of: path, in: text) { e.source = "file \(fileName):\(line)" } else { e.source = "file \(fileName)" }
        return e
    }

    static func isPathScalar(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "." || c == "[" || c == "]"
    }

    /// The 1-based line of `a.b[2].c` in block-style YAML: each component is searched below the
    /// previous one's line, deeper indented; list indices count `- ` items. Nil when not found.
    static func yamlLine(of path: String, in text: String) -> Int? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var components: [(key: String, index: Int?)] = []
        for part in path.split(separator: ".") {
            var key = String(part), index: Int?
            if let open = key.firstIndex(of: "["), key.hasSuffix("]") {
                index = Int(key[key.index(after: open)..<key.index(before: key.endIndex)])
                key = String(key[..<open])
            }
            components.append((key, index))
        }
        var start = 0, minIndent = -1, found: Int?
        func indent(_ s: String) -> Int { s.prefix { $0 == " " }.count }
        for (key, index) in components {
            var hit: Int?
            for i in start..<lines.count {
                let line = lines[i], ind = indent(line)
                let body = line.dropFirst(ind)
                if body.isEmpty || body.hasPrefix("#") { continue }
                if ind <= minIndent && i > start && !(body.hasPrefix("- ") && ind == minIndent) { break }
                let bare = body.hasPrefix("- ") ? body.dropFirst(2) : body
                if key.isEmpty || bare.hasPrefix(key + ":") {
                    hit = i
                    break
                }
            }
            guard var at = hit else { return found.map { $0 + 1 } }
            minIndent = indent(lines[at])
            if let index {
                // The index-th "- " item below the key.
                var seen = -1, itemIndent = -1
                var j = at + 1
                while j < lines.count {
                    let ind = indent(lines[j]), body = lines[j].dropFirst(ind)
                    if !body.isEmpty && !body.hasPrefix("#") {
                        if ind <= minIndent && !body.hasPrefix("-") { break }
                        if body.hasPrefix("- ") && (itemIndent < 0 || ind == itemIndent) {
                            itemIndent = ind
                            seen += 1
                            if seen == index { break }
                        }
                    }
                    j += 1
                }
                guard seen == index, j < lines.count else { return at + 1 }
                at = j
                minIndent = itemIndent
                // The item's first field is on its "- " line: search from there.
                start = j
                found = j
                continue
            }
            found = at
            start = at + 1
        }
        return found.map { $0 + 1 }
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

extension String {
    fileprivate func trimmingPrefixDot() -> String { hasPrefix(".") ? String(dropFirst()) : self }
}
