import FoghornJSON

/// Scheme, host and path of an absolute http(s) URL.
public struct URLParts: Sendable, Equatable {
    public var scheme: String
    /// Host with port, as written (IPv6 in brackets).
    public var authority: String
    /// Host without port or brackets.
    public var host: String
    /// Path beginning with `/` (or empty).
    public var path: String

    public static func parse(_ url: String) -> URLParts? {
        let lower = url.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else { return nil }
        let rest = url.dropFirst(scheme.count + 3)
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = String(rest[..<end])
        guard !authority.isEmpty, authority.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "@" }) else { return nil }
        var host = authority
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard authority[authority.index(after: colon)...].allSatisfy(\.isNumber) else { return nil }
        }
        guard !host.isEmpty else { return nil }
        return URLParts(scheme: scheme, authority: authority, host: host, path: String(rest[end...]))
    }
}

/// An output URL template resolved for one edge: `HOST` replaced by the
/// host of the edge's `base_url`, split around the `$` stream placeholder
/// into byte prefix and suffix, so a redirect is built by concatenation.
///
/// Example: template `https://HOST/hls/$/index.m3u8`, base URL
/// `https://edge-1.example.com/` → prefix `https://edge-1.example.com/hls/`,
/// suffix `/index.m3u8`.
///
/// The bytes are a view into a shared buffer (an edge's ``URLTemplateTable``): handing one
/// out retains one array.
public struct URLTemplate: Sendable, Equatable {
    @usableFromInline let bytes: [UInt8]
    @usableFromInline let start: UInt32
    @usableFromInline let prefixCount: UInt16
    @usableFromInline let suffixCount: UInt16
    /// Whether the template had a `$` (else the URL is the prefix alone).
    public let hasStreamPlaceholder: Bool
    /// Whether the URL's last path element is a manifest (`.m3u8`, `.mpd`, `.f4m`, `Manifest`).
    public let endsWithManifest: Bool
    /// Whether the prefix or suffix has a byte a JSON string must escape (``JSONEscaping``):
    /// decided once, so JSON answers copy clean templates without scanning them.
    public let needsJSONEscaping: Bool

    /// Longest prefix or suffix kept (a template is at most 2,048 bytes plus the host).
    public static let maxPartBytes = Int(UInt16.max)

    public var prefix: ArraySlice<UInt8> { bytes[Int(start)..<(Int(start) + Int(prefixCount))] }
    public var suffix: ArraySlice<UInt8> {
        let s = Int(start) + Int(prefixCount)
        return bytes[s..<(s + Int(suffixCount))]
    }

    /// Prefix and suffix bytes, borrowed (no slice objects, no retains). Inlinable, so callers
    /// in other modules get the array access specialized instead of the standard library's
    /// generic `withUnsafeBytes` (≈ 300 instructions a call, 50 calls per JSON answer).
    @inlinable @inline(__always)
    public func withParts<R>(_ body: (_ prefix: UnsafeRawBufferPointer, _ suffix: UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { b in
            let s = Int(start), p = s + Int(prefixCount)
            return try body(UnsafeRawBufferPointer(rebasing: b[s..<p]), UnsafeRawBufferPointer(rebasing: b[p..<(p + Int(suffixCount))]))
        }
    }

    init(bytes: [UInt8], start: UInt32, prefixCount: UInt16, suffixCount: UInt16, hasStreamPlaceholder: Bool, endsWithManifest: Bool,
         needsJSONEscaping: Bool) {
        self.bytes = bytes
        self.start = start
        self.prefixCount = prefixCount
        self.suffixCount = suffixCount
        self.hasStreamPlaceholder = hasStreamPlaceholder
        self.endsWithManifest = endsWithManifest
        self.needsJSONEscaping = needsJSONEscaping
    }

    /// A standalone template (its own buffer); nil if a part exceeds ``maxPartBytes``.
    public init?(prefix: [UInt8], suffix: [UInt8], hasStreamPlaceholder: Bool, endsWithManifest: Bool) {
        guard prefix.count <= URLTemplate.maxPartBytes, suffix.count <= URLTemplate.maxPartBytes else { return nil }
        let bytes = prefix + suffix
        self.init(bytes: bytes, start: 0, prefixCount: UInt16(prefix.count), suffixCount: UInt16(suffix.count),
                  hasStreamPlaceholder: hasStreamPlaceholder, endsWithManifest: endsWithManifest,
                  needsJSONEscaping: bytes.withUnsafeBytes { JSONEscaping.needsEscaping($0) })
    }

    public static func == (a: URLTemplate, b: URLTemplate) -> Bool {
        a.hasStreamPlaceholder == b.hasStreamPlaceholder && a.endsWithManifest == b.endsWithManifest
            && a.prefix.elementsEqual(b.prefix) && a.suffix.elementsEqual(b.suffix)
    }

    /// A template is plausible if it is an absolute URL or uses `HOST`.
    public static func isPlausible(_ template: String) -> Bool {
        template.contains("://") || template.hasPrefix("HOST") || template.hasPrefix("//")
    }

    /// Resolves `template` against `baseURL`'s host; nil if `HOST` is needed but unknown,
    /// or the result is not an absolute URL.
    public static func resolve(_ template: String, baseURL: URLParts?) -> URLTemplate? {
        var t = template
        while let first = t.first, first == "[" || first == "\"" { t.removeFirst() }
        while let last = t.last, last == "]" || last == "\"" { t.removeLast() }
        if t.contains("HOST") {
            guard let base = baseURL else { return nil }
            t = t.replacingAll("HOST", with: base.authority)
        }
        if t.hasPrefix("//") {
            t = (baseURL?.scheme ?? "https") + ":" + t
        }
        guard t.contains("://") else { return nil }
        let parts = t.split(separator: "$", maxSplits: 1, omittingEmptySubsequences: false)
        let prefix = Array(parts[0].utf8)
        let suffix = parts.count > 1 ? Array(parts[1].utf8) : []
        let pathOnly = t.split(separator: "?", maxSplits: 1).first.map(String.init) ?? t
        let last = pathOnly.split(separator: "/").last.map(String.init) ?? ""
        let manifest = last.hasSuffix(".m3u8") || last.hasSuffix(".mpd") || last.hasSuffix(".f4m") || last == "Manifest"
        return URLTemplate(prefix: prefix, suffix: suffix, hasStreamPlaceholder: parts.count > 1, endsWithManifest: manifest)
    }

    /// A template derived from `base_url` for protocols the edge did not list
    /// (HLS `hls/$/index.m3u8`, DASH/CMAF `cmaf/$/index.mpd`, WebRTC `webrtc/$`, MP4 `$.mp4`).
    public static func derived(_ relative: String, baseURL: String) -> URLTemplate? {
        guard let parts = URLParts.parse(baseURL) else { return nil }
        var base = baseURL
        if let q = base.firstIndex(where: { $0 == "?" || $0 == "#" }) { base = String(base[..<q]) }
        if !base.hasSuffix("/") { base += "/" }
        return resolve(base + relative, baseURL: parts)
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation needed).
    public func replacingAll(_ target: String, with replacement: String) -> String {
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        out += rest
        return out
    }
}
