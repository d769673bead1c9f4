import FoghornTestSupport
import Testing
@testable import FoghornModel

/// `URLParts.parse`, `URLTemplate.resolve` and `.derived` work on UTF-8 bytes; these check
/// them against the `Character`-based versions they replaced (kept here as the oracle) over
/// generated URLs and templates: schemes in any case, brackets, ports, quotes, `HOST`, `$`,
/// queries, fragments, whitespace, `@`, non-ASCII.
@Suite struct URLBytesTests {
    enum Oracle {
        static func parse(_ url: String) -> (scheme: String, authority: String, host: String, path: String)? {
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
            return (scheme, authority, host, String(rest[end...]))
        }

        static func resolve(_ template: String, authority: String?, scheme: String?) -> (prefix: String, suffix: String, placeholder: Bool, manifest: Bool)? {
            var t = template
            while let first = t.first, first == "[" || first == "\"" { t.removeFirst() }
            while let last = t.last, last == "]" || last == "\"" { t.removeLast() }
            if t.contains("HOST") {
                guard let authority else { return nil }
                t = t.replacingAll("HOST", with: authority)
            }
            if t.hasPrefix("//") { t = (scheme ?? "https") + ":" + t }
            guard t.contains("://") else { return nil }
            let parts = t.split(separator: "$", maxSplits: 1, omittingEmptySubsequences: false)
            let pathOnly = t.split(separator: "?", maxSplits: 1).first.map(String.init) ?? t
            let last = pathOnly.split(separator: "/").last.map(String.init) ?? ""
            let manifest = last.hasSuffix(".m3u8") || last.hasSuffix(".mpd") || last.hasSuffix(".f4m") || last == "Manifest"
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "", parts.count > 1, manifest)
        }

        static func derived(_ relative: String, baseURL: String) -> (prefix: String, suffix: String, placeholder: Bool, manifest: Bool)? {
            guard let parts = parse(baseURL) else { return nil }
            var base = baseURL
            if let q = base.firstIndex(where: { $0 == "?" || $0 == "#" }) { base = String(base[..<q]) }
            if !base.hasSuffix("/") { base += "/" }
            return resolve(base + relative, authority: parts.authority, scheme: parts.scheme)
        }
    }

    static let pieces = ["https://", "http://", "HTTP://", "hTtPs://", "//", "ftp://", "HOST", "[", "]", "\"", "$", "?", "#", "/", ":",
                         ":8080", ":x", "@", " ", "\t", "edge-1.example", "[::1]", "é", "\u{1F600}", "index.m3u8", ".mpd", ".f4m",
                         "Manifest", "hls", "x", "", "??", "//"]

    static func random(_ rng: inout SplitMix, parts: Int) -> String {
        (0..<parts).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
    }

    static func same(_ t: URLTemplate?, _ o: (prefix: String, suffix: String, placeholder: Bool, manifest: Bool)?) -> Bool {
        guard let t, let o else { return t == nil && o == nil }
        return t.prefix.elementsEqual(o.prefix.utf8) && t.suffix.elementsEqual(o.suffix.utf8) && t.hasStreamPlaceholder == o.placeholder
            && t.endsWithManifest == o.manifest
    }

    @Test func byteVersionsAgreeWithTheCharacterVersions() {
        var rng = SplitMix(seed: 424242)
        var parsed = 0, resolved = 0
        let fixed = ["https://edge-1.example.com/", "HTTP://[::1]:8080/x?y#z", "https://h:/", "https://h:12a/", "https://@h/", "https:// h/",
                     "https://[::1/", "https://é/", "https://h/pa th/é?q", "http://", "https://h?x", "https://h#f/g", "http://h:80"]
        // Mostly a scheme and a host first, so that many parse; the rest anything.
        let schemes = ["https://", "http://", "HTTP://", "hTtPs://", "ftp://", ""], hosts = ["edge-1.example", "[::1]", "h", "", "é", "a b"]
        let bases = fixed + (0..<3000).map { _ in
            schemes[Int(rng.next() % UInt64(schemes.count))] + hosts[Int(rng.next() % UInt64(hosts.count))] + Self.random(&rng, parts: Int(rng.next() % 5))
        }
        for base in bases {
            let mine = URLParts.parse(base), theirs = Oracle.parse(base)
            #expect((mine == nil) == (theirs == nil), "parse \(base.debugDescription)")
            if let mine, let theirs {
                parsed += 1
                #expect(mine.scheme == theirs.scheme && mine.authority == theirs.authority && mine.host == theirs.host && mine.path == theirs.path,
                        "parse \(base.debugDescription)")
            }
        }
        let templates = ["https://HOST/hls/$/index.m3u8", "\"[HOST/webrtc/$]\"", "//HOST:4433/$.mp4", "https://cdn.example/$/Manifest?x=1",
                         "?https://a/b.mpd?c", "??", "https://h/a/$//", "HOSTHOST://$$"]
            + (0..<3000).map { _ in schemes[Int(rng.next() % UInt64(schemes.count))] + Self.random(&rng, parts: 1 + Int(rng.next() % 7)) }
        for (k, template) in templates.enumerated() {
            let base = URLParts.parse(bases[k % bases.count]) ?? (k % 2 == 0 ? URLParts.parse("https://edge-9.example:8443/") : nil)
            let mine = URLTemplate.resolve(template, baseURL: base)
            if mine != nil { resolved += 1 }
            #expect(Self.same(mine, Oracle.resolve(template, authority: base?.authority, scheme: base?.scheme)),
                    "resolve \(template.debugDescription) against \(String(describing: base))")
            let relative = Self.random(&rng, parts: Int(rng.next() % 3))
            #expect(Self.same(URLTemplate.derived(relative, baseURL: bases[k % bases.count]), Oracle.derived(relative, baseURL: bases[k % bases.count])),
                    "derived \(relative.debugDescription) from \(bases[k % bases.count].debugDescription)")
        }
        // The generated cases reach both outcomes.
        #expect(parsed > 800 && resolved > 2000, "parsed \(parsed), resolved \(resolved)")
    }
}
