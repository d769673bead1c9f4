import Testing
@testable import FoghornModel
import FoghornModelFixtures

func parsePath(_ s: String) -> (String, String?, String?)? {
    var t = s
    return t.withUTF8 { p -> (String, String?, String?)? in
        let raw = UnsafeRawBufferPointer(p)
        guard case .success(let r) = PlaybackPath.parse(raw) else { return nil }
        func str(_ r: Range<Int>?) -> String? { r.map { String(decoding: raw[$0], as: UTF8.self) } }
        return (str(r.id)!, str(r.protocolName), str(r.manifest))
    }
}

@Suite struct GrammarTests {
    @Test(arguments: [
        ("vk", "vk", nil, nil), ("vk.mp4", "vk", "mp4", nil), ("vk/hls/index.m3u8", "vk", "hls", "index.m3u8"),
        ("vk/cmaf/index.mpd", "vk", "cmaf", "index.mpd"), ("vk.html", "vk", "html", nil), ("vk/hls/0_1/index.m3u8", "vk", "hls", "0_1/index.m3u8"),
        ("vk.a.b", "vk", "a", nil), ("vk/webrtc", "vk", "webrtc", nil), ("vk/", "vk", nil, nil),
    ] as [(String, String, String?, String?)])
    func pathGrammar(_ path: String, _ id: String, _ proto: String?, _ manifest: String?) {
        let r = parsePath(path)
        #expect(r?.0 == id && r?.1 == proto && r?.2 == manifest, "\(path) → \(String(describing: r))")
    }

    @Test func pathErrors() {
        #expect(parsePath("") == nil)
        #expect(parsePath("/") == nil)
        #expect(parsePath(".mp4") == nil)
        #expect(parsePath("a%20b") == nil)
        #expect(parsePath(String(repeating: "a", count: 129)) == nil)
        var empty = ""
        empty.withUTF8 { #expect(PlaybackPath.parse(UnsafeRawBufferPointer($0)) == .failure(.missingViewKey)) }
    }

    @Test func protocolAliases() {
        for (alias, canonical) in [("M3U8", ViewerProtocol.hls), ("whep", .webrtc), ("ll-hls", .cmaf), ("mpd", .dash), ("progressive", .mp4),
                                    ("mpeg-ts", .ts), ("json", .any), ("ANY", .any), ("hss", .smoothstreaming)] {
            #expect(ViewerProtocol.normalize(alias) == canonical, "\(alias)")
        }
        #expect(ViewerProtocol.normalize("index.m3u8") == nil)
        // Every alias in any case; prefixes, extensions, padding and over-long names are not aliases.
        let byName = Dictionary(ViewerProtocol.aliases.map { ($0.name, $0.proto) }, uniquingKeysWith: { a, _ in a })
        #expect(byName.count == ViewerProtocol.aliases.count, "each name once")
        #expect(ViewerProtocol.aliases.first?.name == "hls", "the common name is tried first")
        for (alias, canonical) in ViewerProtocol.aliases {
            #expect(ViewerProtocol.normalize(alias) == canonical && ViewerProtocol.normalize(alias.uppercased()) == canonical, "\(alias)")
            #expect(ViewerProtocol.normalize(String(alias.dropLast())) != canonical || byName[String(alias.dropLast())] == canonical, "\(alias)")
        }
        for other in ["", "hl", "hlsx", "hls\u{0}", "smoothstreamingx", "smoothstreaming1234567", "wsmp", "webrtc2"] {
            #expect(ViewerProtocol.normalize(other) == nil, "\(other.debugDescription)")
        }
    }

    @Test func urlTemplates() {
        let base = URLParts.parse("https://edge-1.example.com:8443/")
        let t = URLTemplate.resolve("https://HOST/hls/$/index.m3u8", baseURL: base)!
        #expect(String(decoding: t.prefix, as: UTF8.self) == "https://edge-1.example.com:8443/hls/")
        #expect(String(decoding: t.suffix, as: UTF8.self) == "/index.m3u8")
        #expect(t.endsWithManifest)
        #expect(URLTemplate.resolve("https://HOST/x/$", baseURL: nil) == nil)
        let d = URLTemplate.derived("webrtc/$", baseURL: "https://e.example/view")!
        #expect(String(decoding: d.prefix, as: UTF8.self) == "https://e.example/view/webrtc/")
        #expect(URLParts.parse("ftp://x/") == nil)
        #expect(URLParts.parse("https://[::1]:8080/a")?.host == "::1")
    }

    /// An edge's templates in one buffer: every protocol reads back its own template, shared
    /// templates are stored once, absent protocols are nil.
    @Test func urlTemplateTableRoundTrips() {
        let base = URLParts.parse("https://edge-7.example.com/")
        let hls = URLTemplate.resolve("https://HOST/hls/$/index.m3u8", baseURL: base)!
        let whep = URLTemplate.resolve("https://HOST/webrtc/$", baseURL: base)!
        let plain = URLTemplate.resolve("https://HOST/fixed.mp4", baseURL: base)!
        var list = [URLTemplate?](repeating: nil, count: ViewerProtocol.allCases.count)
        list[Int(ViewerProtocol.hls.rawValue)] = hls
        list[Int(ViewerProtocol.cmaf.rawValue)] = hls  // same template: stored once
        list[Int(ViewerProtocol.webrtc.rawValue)] = whep
        list[Int(ViewerProtocol.mp4.rawValue)] = plain
        let table = URLTemplateTable(list)
        #expect(table[.hls] == hls && table[.cmaf] == hls && table[.webrtc] == whep && table[.mp4] == plain)
        #expect(String(decoding: table[.webrtc]!.prefix, as: UTF8.self) == "https://edge-7.example.com/webrtc/")
        #expect(table[.webrtc]!.suffix.isEmpty && table[.webrtc]!.hasStreamPlaceholder && !table[.webrtc]!.endsWithManifest)
        #expect(table[.hls]!.endsWithManifest && String(decoding: table[.hls]!.suffix, as: UTF8.self) == "/index.m3u8")
        #expect(!table[.mp4]!.hasStreamPlaceholder)
        for proto in ViewerProtocol.allCases where ![.hls, .cmaf, .webrtc, .mp4].contains(proto) { #expect(table[proto] == nil, "\(proto)") }
        #expect(URLTemplateTable()[.hls] == nil && URLTemplateTable().isEmpty && URLTemplateTable([nil, nil]).isEmpty)
        #expect(MemoryLayout<URLTemplateTable>.size == 8)
    }

    @Test func ipAddressesAndTrust() {
        #expect(IPAddress.parse("192.168.1.10")?.isPrivateOrLocal == true)
        #expect(IPAddress.parse("81.2.69.142")?.isPrivateOrLocal == false)
        #expect(IPAddress.parse("::1")?.isPrivateOrLocal == true)
        #expect(IPAddress.parse("2a02:cf40::1")?.description == "2a02:cf40::1")
        #expect(IPAddress.parse("::ffff:1.2.3.4")?.isV4 == true)
        for bad in ["1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1::2::3", ":1:2", "g::1", "1.2.3.4:80", ""] {
            #expect(IPAddress.parse(bad) == nil, "\(bad)")
        }
        let block = CIDRBlock.parse("10.0.0.0/8")!
        #expect(block.contains(IPAddress.parse("10.9.8.7")!))
        #expect(!block.contains(IPAddress.parse("11.0.0.1")!))
        #expect(CIDRBlock.parse("2001:db8::/32")!.contains(IPAddress.parse("2001:db8:1::5")!))

        let resolver = ClientAddressResolver(trustedProxies: [CIDRBlock.parse("127.0.0.0/8")!, CIDRBlock.parse("10.0.0.0/8")!])
        func resolve(_ peer: String, cf: String? = nil, xff: String? = nil, real: String? = nil) -> String {
            func with(_ s: String?, _ body: (UnsafeRawBufferPointer?) -> IPAddress) -> IPAddress {
                guard var s else { return body(nil) }
                return s.withUTF8 { body(UnsafeRawBufferPointer($0)) }
            }
            return with(cf) { c in with(xff) { x in with(real) { r in
                resolver.resolve(peer: IPAddress.parse(peer)!, cfConnectingIP: c, forwardedFor: x, realIP: r)
            } } }.description
        }
        // Untrusted peer: headers ignored.
        #expect(resolve("8.8.8.8", xff: "1.1.1.1", real: "2.2.2.2") == "8.8.8.8")
        // Trusted peer: right-most untrusted hop of XFF.
        #expect(resolve("127.0.0.1", xff: "6.6.6.6, 1.1.1.1, 10.0.0.5") == "1.1.1.1")
        #expect(resolve("127.0.0.1", xff: "10.1.1.1, 10.0.0.5") == "10.1.1.1")
        #expect(resolve("127.0.0.1", cf: "3.3.3.3", xff: "1.1.1.1") == "3.3.3.3")
        #expect(resolve("127.0.0.1", real: "2.2.2.2") == "2.2.2.2")
        #expect(resolve("127.0.0.1", xff: "garbage") == "127.0.0.1")
        // Several lines: one list in order; the right-most untrusted hop across all of them.
        func lines(_ peer: String, cf: [String] = [], xff: [String] = [], real: [String] = []) -> (String, [ClientAddressResolver.ForwardingHeader]) {
            var duplicates: [ClientAddressResolver.ForwardingHeader] = []
            // Each line in a buffer of its own that outlives the call (as a request's bytes do).
            func buffers(_ list: [String]) -> [UnsafeMutableRawBufferPointer] {
                list.map { line in
                    let b = UnsafeMutableRawBufferPointer.allocate(byteCount: line.utf8.count, alignment: 1)
                    _ = b.initializeMemory(as: UInt8.self, from: line.utf8)
                    return b
                }
            }
            let cfb = buffers(cf), xffb = buffers(xff), realb = buffers(real)
            defer { for b in cfb + xffb + realb { b.deallocate() } }
            let ip = resolver.resolve(peer: IPAddress.parse(peer)!, lines: { name, n in
                let list = switch name { case .cfConnectingIP: cfb; case .forwardedFor: xffb; case .realIP: realb }
                return n < list.count ? UnsafeRawBufferPointer(list[n]) : nil
            }, duplicate: { duplicates.append($0) })
            return (ip.description, duplicates)
        }
        #expect(lines("127.0.0.1", xff: ["6.6.6.6", "1.1.1.1"]).0 == "1.1.1.1")
        #expect(lines("127.0.0.1", xff: ["6.6.6.6", "1.1.1.1, 10.0.0.5", "10.0.0.6"]).0 == "1.1.1.1")
        #expect(lines("127.0.0.1", xff: ["6.6.6.6", "10.0.0.5", "10.0.0.6"]).0 == "6.6.6.6")
        #expect(lines("127.0.0.1", xff: ["10.1.1.1", "10.0.0.6"]).0 == "10.1.1.1")  // all trusted: the left-most
        #expect(lines("127.0.0.1", xff: ["6.6.6.6", "", "1.1.1.1"]).0 == "1.1.1.1")
        #expect(lines("127.0.0.1", xff: ["garbage", "1.1.1.1"]).0 == "1.1.1.1")  // found before the bad hop
        #expect(lines("127.0.0.1", xff: ["1.1.1.1", "garbage"], real: ["2.2.2.2"]).0 == "2.2.2.2")
        #expect(lines("127.0.0.1", xff: Array(repeating: "10.0.0.1", count: 65), real: ["2.2.2.2"]).0 == "2.2.2.2")  // too many lines
        #expect(lines("127.0.0.1", cf: ["3.3.3.3", "3.3.3.3"], xff: ["1.1.1.1"]) == ("1.1.1.1", [.cfConnectingIP]))
        #expect(lines("127.0.0.1", real: ["2.2.2.2", "4.4.4.4"]) == ("127.0.0.1", [.realIP]))
        #expect(lines("8.8.8.8", cf: ["3.3.3.3", "3.3.3.3"]) == ("8.8.8.8", []))  // untrusted: not even read
        // IPv6 blocks, even ::/0, hold IPv6 addresses only; IPv4 blocks IPv4 only.
        var v6 = ClientAddressResolver(trustedProxies: [CIDRBlock.parse("::/0")!])
        #expect(v6.isTrusted(IPAddress.parse("2001:db8::1")!) && !v6.isTrusted(IPAddress.parse("127.0.0.1")!))
        #expect(resolver.isTrusted(IPAddress.parse("::ffff:7f00:1")!))  // the mapped form is IPv4
        #expect(!resolver.isTrusted(IPAddress.parse("::1")!) && !resolver.isTrusted(IPAddress.parse("126.255.255.255")!))
        // Changing the list takes effect (the masks follow it).
        v6.trustedProxies = [CIDRBlock.parse("192.0.2.0/24")!]
        #expect(v6.isTrusted(IPAddress.parse("192.0.2.200")!) && !v6.isTrusted(IPAddress.parse("2001:db8::1")!))
    }

    @Test func edgeReportValidationNamesTheField() throws {
        func fails(_ json: String) -> String? {
            do { _ = try EdgeReport.parse(try FoghornJSONParse(json), names: fixtureNames); return nil } catch let e as EdgeReport.FieldError { return e.field } catch { return "json" }
        }
        #expect(fails(#"{"cpu_permille": 1001}"#) == "cpu_permille")
        #expect(fails(#"{"ram_used_bytes": -1}"#) == "ram_used_bytes")
        #expect(fails(#"{"lat": 91, "lon": 0}"#) == "lat")
        #expect(fails(#"{"lat": 1}"#) == "lon")
        #expect(fails(#"{"capabilities": ["edge", "gpu"]}"#) == "capabilities")
        #expect(fails(#"{"base_url": "edge.example"}"#) == "base_url")
        #expect(fails(#"{"outputs": {"HLS": 5}}"#) == "outputs.HLS")
        #expect(fails(#"{"streams": {"s": {"inputs": "1"}}}"#) == "streams.s.inputs")
        #expect(fails(#"{"streams": {"s": {"bogus": 1}}}"#) == "streams.s.bogus")
        #expect(fails(#"{"streams": {"s": {"viewers": -2}}}"#) == "streams.s.viewers")
        #expect(fails(#"{"streams": {"s": {"up_bytes_per_sec": 1.5}}}"#) == "streams.s.up_bytes_per_sec")
        #expect(fails(#"{"streams": {"s": {"replicated": 1}}}"#) == "streams.s.replicated")
        #expect(fails(#"{"streams": {"s": 3}}"#) == "streams.s")
        #expect(fails(#"{"streams": {"": {}}}"#) == "streams.")
        #expect(fails(#"{"speed": 1}"#) == "speed")
        #expect(fails(#"{"cpu_permille": 10, "tags": ["a"], "streams": {"s": {"inputs": 1, "viewers": 2}}}"#) == nil)
    }

    /// A refused report interns none of its stream names; an accepted one hands the edge its
    /// streams sorted by ID whatever the order it listed them in.
    @Test func reportStreamsAreInternedOnlyWhenTheReportIsValid() throws {
        let tag = UInt32.random(in: 0...UInt32.max)
        let first = "rv+\(tag)-b", second = "rv+\(tag)-a"
        let refused = #"{"streams": {"\#(first)": {"inputs": 1}, "\#(second)": {"viewers": 2}}, "cpu_permille": 5000}"#
        #expect(throws: EdgeReport.FieldError.self) { try EdgeReport.parse(try FoghornJSONParse(refused), names: fixtureNames) }
        let halfPosition = #"{"streams": {"\#(first)": {"inputs": 1}}, "lat": 10}"#
        #expect(throws: EdgeReport.FieldError.self) { try EdgeReport.parse(try FoghornJSONParse(halfPosition), names: fixtureNames) }
        #expect(fixtureNames.existingId(for: first) == nil && fixtureNames.existingId(for: second) == nil)
        let accepted = try EdgeReport.parse(try FoghornJSONParse(#"{"streams": {"\#(first)": {"inputs": 1}, "\#(second)": {"viewers": 2}}}"#), names: fixtureNames)
        var e = EdgeState(nodeId: "n")
        accepted.apply(to: &e, nowMs: 1)
        #expect(e.streams == [first: EdgeStreamStats(inputs: 1), second: EdgeStreamStats(viewers: 2)])
        #expect(e.streamIds == e.streamIds.sorted() && e.streamIds.count == 2)
        #expect(accepted.streams == e.streams)
    }
}
