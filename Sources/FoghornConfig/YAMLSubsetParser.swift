public import FoghornJSON

/// Parses the YAML subset Foghorn's config files use into a ``JSONValue``.
///
/// Supported: block mappings and sequences (including `- key: value` items),
/// flow sequences `[a, b]` and flow mappings `{a: 1}` on one line, plain,
/// `'single'` and `"double"` quoted scalars, `#` comments, a leading `---`.
/// Plain scalars are typed as YAML 1.2's core schema does: `null`/`~`/empty,
/// `true`/`false`, integers, floats, else strings.
///
/// Rejected with a line-numbered error (never guessed): tabs in indentation,
/// anchors, aliases, tags, block scalars (`|`, `>`), complex keys, several
/// documents, duplicate keys, inconsistent indentation.
public enum YAMLSubsetParser {
    public struct Error: Swift.Error, CustomStringConvertible, Equatable, Sendable {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    struct Line {
        var number: Int
        var indent: Int
        var text: Substring
    }

    public static func parse(_ text: String) throws(Error) -> JSONValue {
        var lines: [Line] = []
        var number = 0
        var sawDocumentStart = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = raw
            if line.last == "\r" { line = line.dropLast() }
            let stripped = try stripComment(line, line: number)
            var indent = 0
            for ch in stripped {
                if ch == " " { indent += 1 } else if ch == "\t" {
                    throw Error(line: number, reason: "tab in indentation")
                } else { break }
            }
            let content = stripped.dropFirst(indent)
            if content.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let trimmed = trimTrailing(content)
            if indent == 0 && trimmed == "---" {
                if sawDocumentStart || !lines.isEmpty { throw Error(line: number, reason: "several documents are not supported") }
                sawDocumentStart = true
                continue
            }
            if indent == 0 && trimmed == "..." { break }
            lines.append(Line(number: number, indent: indent, text: trimmed))
        }
        if lines.isEmpty { return .object([]) }
        var index = 0
        let value = try parseBlock(&lines, &index, indent: lines[0].indent)
        if index < lines.count {
            throw Error(line: lines[index].number, reason: "unexpected indentation")
        }
        return value
    }

    private static func trimTrailing(_ s: Substring) -> Substring {
        var t = s
        while let last = t.last, last == " " || last == "\t" { t = t.dropLast() }
        return t
    }

    /// Removes a `#` comment that is outside quotes and starts the line or follows whitespace.
    private static func stripComment(_ line: Substring, line number: Int) throws(Error) -> Substring {
        var inSingle = false
        var inDouble = false
        var previous: Character = " "
        var index = line.startIndex
        while index < line.endIndex {
            let ch = line[index]
            if inDouble {
                if ch == "\\" {
                    index = line.index(after: index)
                    if index == line.endIndex { break }
                } else if ch == "\"" { inDouble = false }
            } else if inSingle {
                if ch == "'" {
                    let after = line.index(after: index)
                    if after < line.endIndex && line[after] == "'" {
                        index = after  // '' is an escaped quote
                    } else {
                        inSingle = false
                    }
                }
            } else if ch == "\"" && (previous == " " || previous == "[" || previous == "{" || previous == "," || previous == ":" || index == line.startIndex) {
                inDouble = true
            } else if ch == "'" && (previous == " " || previous == "[" || previous == "{" || previous == "," || previous == ":" || index == line.startIndex) {
                inSingle = true
            } else if ch == "#" && (previous == " " || previous == "\t" || index == line.startIndex) {
                return line[line.startIndex..<index]
            }
            previous = ch
            index = line.index(after: index)
        }
        return line
    }

    private static func isSequenceItem(_ text: Substring) -> Bool {
        text == "-" || text.hasPrefix("- ")
    }

    private static func parseBlock(_ lines: inout [Line], _ index: inout Int, indent: Int) throws(Error) -> JSONValue {
        if isSequenceItem(lines[index].text) {
            return try parseSequence(&lines, &index, indent: indent)
        }
        return try parseMapping(&lines, &index, indent: indent)
    }

    private static func parseSequence(_ lines: inout [Line], _ index: inout Int, indent: Int) throws(Error) -> JSONValue {
        var items: [JSONValue] = []
        while index < lines.count, lines[index].indent == indent, isSequenceItem(lines[index].text) {
            let line = lines[index]
            let rest = line.text.dropFirst(1).drop { $0 == " " }
            if rest.isEmpty {
                index += 1
                if index < lines.count, lines[index].indent > indent {
                    items.append(try parseBlock(&lines, &index, indent: lines[index].indent))
                } else {
                    items.append(.null)
                }
                continue
            }
            let column = indent + (line.text.count - rest.count)
            if isSequenceItem(rest) || findMappingColon(rest) != nil {
                // The item is itself a block collection starting on this line.
                lines[index] = Line(number: line.number, indent: column, text: rest)
                items.append(try parseBlock(&lines, &index, indent: column))
            } else {
                items.append(try parseInlineValue(rest, line: line.number))
                index += 1
            }
        }
        if index < lines.count, lines[index].indent > indent {
            throw Error(line: lines[index].number, reason: "unexpected indentation")
        }
        return .array(items)
    }

    private static func parseMapping(_ lines: inout [Line], _ index: inout Int, indent: Int) throws(Error) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        while index < lines.count, lines[index].indent == indent {
            let line = lines[index]
            if isSequenceItem(line.text) {
                throw Error(line: line.number, reason: "a sequence item where a mapping key was expected")
            }
            guard let colon = findMappingColon(line.text) else {
                throw Error(line: line.number, reason: "expected 'key: value'")
            }
            let key = try parseKey(line.text[line.text.startIndex..<colon], line: line.number)
            if members.contains(where: { $0.key == key }) {
                throw Error(line: line.number, reason: "duplicate key \"\(key)\"")
            }
            let rest = line.text[line.text.index(after: colon)...].drop { $0 == " " }
            index += 1
            let value: JSONValue
            if rest.isEmpty {
                if index < lines.count, lines[index].indent > indent {
                    value = try parseBlock(&lines, &index, indent: lines[index].indent)
                } else if index < lines.count, lines[index].indent == indent, isSequenceItem(lines[index].text) {
                    value = try parseSequence(&lines, &index, indent: indent)
                } else {
                    value = .null
                }
            } else {
                value = try parseInlineValue(rest, line: line.number)
                if index < lines.count, lines[index].indent > indent {
                    throw Error(line: lines[index].number, reason: "unexpected indentation (multi-line plain scalars are not supported)")
                }
            }
            members.append((key, value))
        }
        if index < lines.count, lines[index].indent > indent {
            throw Error(line: lines[index].number, reason: "unexpected indentation")
        }
        return .object(members)
    }

    /// The index of the `:` that separates a block mapping key from its value, if any.
    private static func findMappingColon(_ text: Substring) -> Substring.Index? {
        guard let first = text.first else { return nil }
        if first == "[" || first == "{" { return nil }
        var index = text.startIndex
        if first == "\"" || first == "'" {
            // Skip the quoted key.
            index = text.index(after: index)
            while index < text.endIndex {
                if first == "\"" && text[index] == "\\" {
                    index = text.index(after: index)
                    if index < text.endIndex { index = text.index(after: index) }
                    continue
                }
                if text[index] == first { index = text.index(after: index); break }
                index = text.index(after: index)
            }
        }
        while index < text.endIndex {
            if text[index] == ":" {
                let after = text.index(after: index)
                if after == text.endIndex || text[after] == " " { return index }
            }
            index = text.index(after: index)
        }
        return nil
    }

    private static func parseKey(_ raw: Substring, line: Int) throws(Error) -> String {
        let key = trimTrailing(raw)
        if key.hasPrefix("? ") || key == "?" { throw Error(line: line, reason: "complex keys are not supported") }
        if key.first == "\"" || key.first == "'" {
            var cursor = Cursor(text: key, line: line)
            let value = try cursor.parseQuoted()
            cursor.skipSpaces()
            guard cursor.atEnd else { throw Error(line: line, reason: "unexpected text after quoted key") }
            return value
        }
        if key.isEmpty { throw Error(line: line, reason: "empty key") }
        try rejectUnsupported(key, line: line)
        return String(key)
    }

    private static func rejectUnsupported(_ text: Substring, line: Int) throws(Error) {
        guard let first = text.first else { return }
        switch first {
        case "&": throw Error(line: line, reason: "anchors are not supported")
        case "*": throw Error(line: line, reason: "aliases are not supported")
        case "!": throw Error(line: line, reason: "tags are not supported")
        case "|", ">": throw Error(line: line, reason: "block scalars are not supported; use a quoted string")
        case "@", "`": throw Error(line: line, reason: "'\(first)' cannot start a plain scalar")
        default: return
        }
    }

    private static func parseInlineValue(_ text: Substring, line: Int) throws(Error) -> JSONValue {
        var cursor = Cursor(text: text, line: line)
        let value = try cursor.parseFlowValue(inFlow: false)
        cursor.skipSpaces()
        guard cursor.atEnd else { throw Error(line: line, reason: "unexpected text after value") }
        return value
    }

    /// Types a plain scalar per the YAML 1.2 core schema.
    static func typedPlainScalar(_ s: Substring) -> JSONValue {
        switch s {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if let i = Int64(s) { return .int(i) }
        if s.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true,
           s.allSatisfy({ $0.isNumber || "+-.eE".contains($0) }), let d = Double(s), d.isFinite {
            return .double(d)
        }
        return .string(String(s))
    }

    struct Cursor {
        let text: Substring
        let line: Int
        var index: Substring.Index

        init(text: Substring, line: Int) {
            self.text = text
            self.line = line
            index = text.startIndex
        }

        var atEnd: Bool { index == text.endIndex }
        var current: Character? { atEnd ? nil : text[index] }

        mutating func advance() { index = text.index(after: index) }

        mutating func skipSpaces() {
            while let c = current, c == " " { advance() }
        }

        mutating func parseFlowValue(inFlow: Bool) throws(Error) -> JSONValue {
            skipSpaces()
            guard let c = current else { return .null }
            switch c {
            case "[":
                advance()
                var items: [JSONValue] = []
                skipSpaces()
                if current == "]" { advance(); return .array(items) }
                while true {
                    items.append(try parseFlowValue(inFlow: true))
                    skipSpaces()
                    if current == "," { advance(); continue }
                    if current == "]" { advance(); return .array(items) }
                    throw Error(line: line, reason: "expected ',' or ']' in flow sequence")
                }
            case "{":
                advance()
                var members: [(key: String, value: JSONValue)] = []
                skipSpaces()
                if current == "}" { advance(); return .object(members) }
                while true {
                    skipSpaces()
                    let keyValue = try parseFlowScalar(inFlow: true, isKey: true)
                    guard case .string(let key) = keyValue else {
                        throw Error(line: line, reason: "flow mapping keys must be strings")
                    }
                    skipSpaces()
                    guard current == ":" else { throw Error(line: line, reason: "expected ':' in flow mapping") }
                    advance()
                    let value = try parseFlowValue(inFlow: true)
                    if members.contains(where: { $0.key == key }) {
                        throw Error(line: line, reason: "duplicate key \"\(key)\"")
                    }
                    members.append((key, value))
                    skipSpaces()
                    if current == "," { advance(); continue }
                    if current == "}" { advance(); return .object(members) }
                    throw Error(line: line, reason: "expected ',' or '}' in flow mapping")
                }
            default:
                return try parseFlowScalar(inFlow: inFlow, isKey: false)
            }
        }

        mutating func parseFlowScalar(inFlow: Bool, isKey: Bool) throws(Error) -> JSONValue {
            guard let c = current else { return .null }
            if c == "\"" || c == "'" { return .string(try parseQuoted()) }
            let start = index
            while let ch = current {
                if inFlow && (ch == "," || ch == "]" || ch == "}") { break }
                if isKey && ch == ":" { break }
                if !inFlow && ch == ":" {
                    let after = text.index(after: index)
                    if after == text.endIndex || text[after] == " " {
                        throw Error(line: line, reason: "unexpected ':' in value (quote it)")
                    }
                }
                advance()
            }
            var raw = text[start..<index]
            while let last = raw.last, last == " " { raw = raw.dropLast() }
            try YAMLSubsetParser.rejectUnsupported(raw, line: line)
            if isKey { return .string(String(raw)) }
            return YAMLSubsetParser.typedPlainScalar(raw)
        }

        mutating func parseQuoted() throws(Error) -> String {
            let quote = current!
            advance()
            var out = ""
            while let ch = current {
                advance()
                if quote == "'" {
                    if ch == "'" {
                        if current == "'" { out.append("'"); advance(); continue }
                        return out
                    }
                    out.append(ch)
                    continue
                }
                if ch == "\"" { return out }
                if ch != "\\" { out.append(ch); continue }
                guard let e = current else { break }
                advance()
                switch e {
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "/": out.append("/")
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "0": out.append("\0")
                case "u":
                    var hex = ""
                    for _ in 0..<4 {
                        guard let h = current, h.isHexDigit else { throw Error(line: line, reason: "invalid \\u escape") }
                        hex.append(h)
                        advance()
                    }
                    guard let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) else {
                        throw Error(line: line, reason: "invalid \\u escape")
                    }
                    out.unicodeScalars.append(scalar)
                default:
                    throw Error(line: line, reason: "unsupported escape \\\(e)")
                }
            }
            throw Error(line: line, reason: "unterminated quoted string")
        }
    }
}
