/// Parses an HTTP/1.x response held whole in memory.
enum HTTPResponseParser {
    /// nil: incomplete. Throws when malformed.
    static func parse(_ bytes: [UInt8], atEOF: Bool) throws(HTTPFetchError) -> HTTPFetchResponse? {
        guard let headEnd = find(bytes, [13, 10, 13, 10], from: 0) else {
            if atEOF { throw .closedEarly }
            if bytes.count > 65536 { throw .malformed("head larger than 64 KiB") }
            return nil
        }
        let head = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...599).contains(status) else {
            throw .malformed("bad status line")
        }
        var headers: [(name: String, value: String)] = []
        var contentLength: Int?
        var chunked = false
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw .malformed("bad header line") }
            let name = String(line[..<colon])
            let value = String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
            headers.append((name, value))
            switch name.lowercased() {
            case "content-length":
                guard let n = Int(value), n >= 0 else { throw .malformed("bad Content-Length") }
                contentLength = n
            case "transfer-encoding":
                chunked = value.lowercased().contains("chunked")
            default: break
            }
        }
        let bodyStart = headEnd + 4
        if chunked {
            var body: [UInt8] = []
            var i = bodyStart
            while true {
                guard let lineEnd = find(bytes, [13, 10], from: i) else {
                    if atEOF { throw .closedEarly }
                    return nil
                }
                let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
                guard let size = Int(sizeText.trimmingWhitespace(), radix: 16), size >= 0 else { throw .malformed("bad chunk size") }
                let dataStart = lineEnd + 2
                if size == 0 { return HTTPFetchResponse(status: status, headers: headers, body: body) }
                guard bytes.count >= dataStart + size + 2 else {
                    if atEOF { throw .closedEarly }
                    return nil
                }
                body.append(contentsOf: bytes[dataStart..<(dataStart + size)])
                i = dataStart + size + 2
            }
        }
        if let n = contentLength {
            guard bytes.count >= bodyStart + n else {
                if atEOF { throw .closedEarly }
                return nil
            }
            return HTTPFetchResponse(status: status, headers: headers, body: Array(bytes[bodyStart..<(bodyStart + n)]))
        }
        guard atEOF else { return nil }
        return HTTPFetchResponse(status: status, headers: headers, body: Array(bytes[bodyStart...]))
    }

    static func find(_ bytes: [UInt8], _ pattern: [UInt8], from: Int) -> Int? {
        guard bytes.count >= pattern.count, from <= bytes.count - pattern.count else { return nil }
        var i = from
        while i <= bytes.count - pattern.count {
            var match = true
            for k in 0..<pattern.count where bytes[i + k] != pattern[k] { match = false; break }
            if match { return i }
            i += 1
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
