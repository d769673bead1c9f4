/// What text from outside (edge reports, the config file, polled MistServer documents, peer
/// frames, resolver answers) may contain before Foghorn keeps it. Each check answers nil when
/// the value is acceptable, or the problem in words (for a 400 `INVALID_FIELD` naming the
/// field, or a logged, counted rejection of polled and peer data).
///
/// URLs and URL templates end up in the viewer's `Location` header and JSON answers, so a CR or
/// LF in one would split the response:
///
/// ```swift
/// InputRules.urlProblem("https://edge-1.example/")           // nil
/// InputRules.urlProblem("http://a/\r\nSet-Cookie: pwned=1")  // "byte 0x0D at offset 9: …"
/// InputRules.templateProblem("rtmp://HOST:1935/play/$")      // nil
/// InputRules.templateProblem("javascript://x")               // "scheme javascript is not …"
/// ```
public enum InputRules {
    /// Schemes a URL or output template may use: the web's, and the stream protocols edges
    /// (MistServer) really serve — WebSocket (WebRTC signalling, MP4/WS), RTMP(S), RTSP(S),
    /// SRT and DTSC. A template may also have none (`//HOST/…`, `HOST/…`), taking the edge's.
    public static let urlSchemes: [String] = ["http", "https", "ws", "wss", "rtmp", "rtmps", "rtsp", "rtsps", "srt", "dtsc"]

    /// Longest URL or template accepted (bytes).
    public static let maxURLBytes = 2048

    /// The first byte no URL may carry: 0x00–0x20 (controls and space) and 0x7F.
    public static func forbiddenURLByte(_ s: String) -> (offset: Int, byte: UInt8)? {
        var offset = 0
        for b in s.utf8 {
            if b <= 0x20 || b == 0x7F { return (offset, b) }
            offset += 1
        }
        return nil
    }

    /// An absolute `base_url`: http or https, a host, no forbidden byte.
    public static func baseURLProblem(_ s: String) -> String? {
        if let problem = bytesProblem(s) { return problem }
        guard URLParts.parse(s) != nil else { return "must be an absolute http(s) URL with a host" }
        return nil
    }

    /// An absolute URL of any listed scheme (a fallback, a redirect target).
    public static func urlProblem(_ s: String) -> String? {
        if let problem = bytesProblem(s) { return problem }
        return schemeProblem(s, required: true)
    }

    /// An output template (`https://HOST/hls/$/index.m3u8`, `//HOST/…`, `HOST/…`; some
    /// reporters wrap it in `[` `"` … `"` `]`, which are ignored).
    public static func templateProblem(_ s: String) -> String? {
        if let problem = bytesProblem(s) { return problem }
        var body = Substring(s)
        while let c = body.first, c == "[" || c == "\"" { body = body.dropFirst() }
        guard body.contains("://") || body.hasPrefix("HOST") || body.hasPrefix("//") else {
            return "must be an absolute URL or start with HOST or //HOST"
        }
        return schemeProblem(String(body), required: false)
    }

    /// A stream name: 1–256 bytes, none of them 0x00–0x20 or 0x7F (names go into URLs when
    /// `url_stream_name: internal`, and into log lines).
    public static func streamNameProblem(_ s: String) -> String? {
        let n = s.utf8.count
        guard n >= 1, n <= 256 else { return "stream name must be 1-256 bytes" }
        if let bad = forbiddenURLByte(s) { return "stream name has byte \(hex(bad.byte)) at offset \(bad.offset) (no controls or spaces)" }
        return nil
    }

    /// Free text shown in JSON and logs (a location name, a tag): no control bytes (0x00–0x1F,
    /// 0x7F); spaces are fine. At most `maxBytes`.
    public static func textProblem(_ s: String, maxBytes: Int = 256) -> String? {
        guard s.utf8.count <= maxBytes else { return "at most \(maxBytes) bytes" }
        var offset = 0
        for b in s.utf8 {
            if b < 0x20 || b == 0x7F { return "control byte \(hex(b)) at offset \(offset)" }
            offset += 1
        }
        return nil
    }

    private static func bytesProblem(_ s: String) -> String? {
        guard !s.isEmpty else { return "must not be empty" }
        guard s.utf8.count <= maxURLBytes else { return "at most \(maxURLBytes) bytes" }
        if let bad = forbiddenURLByte(s) {
            return "byte \(hex(bad.byte)) at offset \(bad.offset): URLs may not contain control bytes or spaces"
        }
        return nil
    }

    private static func schemeProblem(_ s: String, required: Bool) -> String? {
        let absolute = "must be an absolute URL (scheme://host/…)"
        guard let range = s.firstRange(of: "://") else { return required ? absolute : nil }
        let scheme = s[..<range.lowerBound].lowercased()
        // Only a scheme-shaped prefix is a scheme (`//HOST/x?u=http://…` has none).
        let shaped = scheme.first.map { $0 >= "a" && $0 <= "z" } == true
            && scheme.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E }
        if !shaped { return required ? absolute : nil }
        guard urlSchemes.contains(scheme) else {
            return "scheme \(scheme.prefix(32)) is not one of \(urlSchemes.joined(separator: ", "))"
        }
        return nil
    }

    private static func hex(_ b: UInt8) -> String {
        let digits: [Character] = Array("0123456789ABCDEF")
        return "0x" + String(digits[Int(b >> 4)]) + String(digits[Int(b & 15)])
    }
}
