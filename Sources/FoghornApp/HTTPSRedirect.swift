/// Helpers of the HTTP → HTTPS redirect.
enum HTTPSRedirect {
    /// The Host header's host without its port (`[::1]:80` → `[::1]`), nil when unusable.
    static func hostWithoutPort(_ bytes: UnsafeRawBufferPointer) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "@") }) else { return nil }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            return String(text[...close])
        }
        if let colon = text.firstIndex(of: ":") { return String(text[..<colon]) }
        return text
    }
}
