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

    /// Parsed on UTF-8 bytes: the scheme and authority must be ASCII anyway, and byte scans
    /// cost a fraction of `Character` ones (a 10,000-edge config file resolves 50,000 URLs).
    public static func parse(_ url: String) -> URLParts? {
        var url = url
        return url.withUTF8 { parse(bytes: $0) }
    }

    static func parse(bytes u: UnsafeBufferPointer<UInt8>) -> URLParts? {
        let scheme: String
        let afterScheme: Int
        if URLBytes.hasPrefix(u, "https://", caseInsensitive: true) {
            scheme = "https"; afterScheme = 8
        } else if URLBytes.hasPrefix(u, "http://", caseInsensitive: true) {
            scheme = "http"; afterScheme = 7
        } else {
            return nil
        }
        var end = afterScheme
        while end < u.count, u[end] != UInt8(ascii: "/"), u[end] != UInt8(ascii: "?"), u[end] != UInt8(ascii: "#") { end += 1 }
        guard end > afterScheme else { return nil }
        for k in afterScheme..<end where u[k] >= 0x80 || URLBytes.isWhitespace(u[k]) || u[k] == UInt8(ascii: "@") { return nil }
        var hostStart = afterScheme, hostEnd = end
        if u[afterScheme] == UInt8(ascii: "[") {
            guard let close = (afterScheme..<end).first(where: { u[$0] == UInt8(ascii: "]") }) else { return nil }
            hostStart = afterScheme + 1
            hostEnd = close
        } else if let colon = (afterScheme..<end).last(where: { u[$0] == UInt8(ascii: ":") }) {
            hostEnd = colon
            for k in (colon + 1)..<end where !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(u[k]) { return nil }
        }
        guard hostEnd > hostStart else { return nil }
        return URLParts(scheme: scheme, authority: URLBytes.string(u, afterScheme..<end), host: URLBytes.string(u, hostStart..<hostEnd),
                        path: URLBytes.string(u, end..<u.count))
    }
}

/// Byte helpers for ``URLParts`` and ``URLTemplate`` (UTF-8 in, UTF-8 out).
enum URLBytes {
    static func hasPrefix(_ u: UnsafeBufferPointer<UInt8>, _ prefix: StaticString, caseInsensitive: Bool = false) -> Bool {
        let p = UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        guard u.count >= p.count else { return false }
        for k in 0..<p.count {
            let b = caseInsensitive && u[k] >= UInt8(ascii: "A") && u[k] <= UInt8(ascii: "Z") ? u[k] | 0x20 : u[k]
            if b != p[k] { return false }
        }
        return true
    }

    static func hasSuffix(_ u: ArraySlice<UInt8>, _ suffix: StaticString) -> Bool {
        let p = UnsafeBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount)
        return u.count >= p.count && u.suffix(p.count).elementsEqual(p)
    }

    /// Where `needle` first starts in `u`, or nil.
    static func find(_ needle: StaticString, in u: [UInt8]) -> Int? {
        let p = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        guard u.count >= p.count else { return nil }
        var k = 0
        while k + p.count <= u.count {
            if u[k] == p[0] && u[k..<(k + p.count)].elementsEqual(p) { return k }
            k += 1
        }
        return nil
    }

    /// Unicode White_Space among ASCII bytes (`Character.isWhitespace`).
    static func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    static func string(_ u: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: u[range]), as: UTF8.self)
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

    /// Resolves `template` against `baseURL`'s host; nil if `HOST` is needed but unknown,
    /// or the result is not an absolute URL. Works on the template's UTF-8 bytes.
    public static func resolve(_ template: String, baseURL: URLParts?) -> URLTemplate? {
        resolve(bytes: Array(template.utf8), baseURL: baseURL)
    }

    static func resolve(bytes template: [UInt8], baseURL: URLParts?) -> URLTemplate? {
        var lo = 0, hi = template.count
        while lo < hi, template[lo] == UInt8(ascii: "[") || template[lo] == UInt8(ascii: "\"") { lo += 1 }
        while hi > lo, template[hi - 1] == UInt8(ascii: "]") || template[hi - 1] == UInt8(ascii: "\"") { hi -= 1 }
        var t = Array(template[lo..<hi])
        if URLBytes.find("HOST", in: t) != nil {
            guard let base = baseURL else { return nil }
            let host = Array(base.authority.utf8)
            var out: [UInt8] = []
            out.reserveCapacity(t.count + host.count)
            var k = 0
            while k < t.count {
                if k + 4 <= t.count && t[k] == UInt8(ascii: "H") && t[k + 1] == UInt8(ascii: "O") && t[k + 2] == UInt8(ascii: "S")
                    && t[k + 3] == UInt8(ascii: "T") {
                    out.append(contentsOf: host)
                    k += 4
                } else {
                    out.append(t[k])
                    k += 1
                }
            }
            t = out
        }
        if t.count >= 2 && t[0] == UInt8(ascii: "/") && t[1] == UInt8(ascii: "/") {
            t = Array(((baseURL?.scheme ?? "https") + ":").utf8) + t
        }
        guard URLBytes.find("://", in: t) != nil else { return nil }
        let dollar = t.firstIndex(of: UInt8(ascii: "$"))
        let prefix = dollar.map { Array(t[..<$0]) } ?? t
        let suffix = dollar.map { Array(t[($0 + 1)...]) } ?? []
        // The last non-empty path element before the query (`split` semantics: leading `?`s
        // are skipped, not splits).
        var a = 0
        while a < t.count && t[a] == UInt8(ascii: "?") { a += 1 }
        let pathOnly = a == t.count ? t[...] : t[a..<(t[a...].firstIndex(of: UInt8(ascii: "?")) ?? t.count)]
        var last = pathOnly[pathOnly.endIndex...]
        var k = pathOnly.endIndex
        while k > pathOnly.startIndex && pathOnly[k - 1] == UInt8(ascii: "/") { k -= 1 }
        if k > pathOnly.startIndex {
            var b = k
            while b > pathOnly.startIndex && pathOnly[b - 1] != UInt8(ascii: "/") { b -= 1 }
            last = pathOnly[b..<k]
        }
        let manifest = URLBytes.hasSuffix(last, ".m3u8") || URLBytes.hasSuffix(last, ".mpd") || URLBytes.hasSuffix(last, ".f4m")
            || last.elementsEqual("Manifest".utf8)
        return URLTemplate(prefix: prefix, suffix: suffix, hasStreamPlaceholder: dollar != nil, endsWithManifest: manifest)
    }

    /// A template derived from `base_url` for protocols the edge did not list
    /// (HLS `hls/$/index.m3u8`, DASH/CMAF `cmaf/$/index.mpd`, WebRTC `webrtc/$`, MP4 `$.mp4`).
    public static func derived(_ relative: String, baseURL: String) -> URLTemplate? {
        guard let parts = URLParts.parse(baseURL) else { return nil }
        var base = Array(baseURL.utf8)
        if let q = base.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) { base.removeSubrange(q...) }
        if base.last != UInt8(ascii: "/") { base.append(UInt8(ascii: "/")) }
        return resolve(bytes: base + Array(relative.utf8), baseURL: parts)
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
