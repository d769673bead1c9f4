import Testing
import FoghornHTTPCore

@Suite struct ProxyProtocolTests {
    static func v2(command: UInt8 = 1, family: UInt8 = 0x11, payload: [UInt8], declaredLength: Int? = nil) -> [UInt8] {
        let sig: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
        let n = declaredLength ?? payload.count
        return sig + [0x20 | command, family, UInt8(n >> 8), UInt8(n & 0xFF)] + payload
    }

    @Test func v1LinesAndTheirBounds() {
        let line = "PROXY TCP4 81.2.69.142 10.0.0.1 51234 443\r\n"
        #expect(ProxyProtocol.parse(Array((line + "GET / HTTP/1.1\r\n").utf8)) == .header(source: "81.2.69.142", length: line.utf8.count))
        #expect(ProxyProtocol.parse(Array("PROXY TCP6 2001:db8::1 ::1 51234 443\r\n".utf8)) == .header(source: "2001:db8::1", length: 38))
        #expect(ProxyProtocol.parse(Array("PROXY UNKNOWN whatever\r\n".utf8)) == .header(source: nil, length: 24))
        // Every prefix of a good line is incomplete, never invalid.
        for n in 0..<line.utf8.count { #expect(ProxyProtocol.parse(Array(line.utf8.prefix(n))) == .incomplete, "\(n)") }
        // 107 bytes is the longest line; one more without its LF is refused.
        let longest = "PROXY TCP6 " + String(repeating: "f", count: 0) + "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"
        #expect(longest.utf8.count == 104)
        #expect(ProxyProtocol.parse(Array(longest.utf8)) == .header(source: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", length: 104))
        #expect(ProxyProtocol.parse(Array(("PROXY UNKNOWN " + String(repeating: "x", count: 91) + "\r\n").utf8)) == .header(source: nil, length: 107))
        if case .invalid = ProxyProtocol.parse(Array(("PROXY UNKNOWN " + String(repeating: "x", count: 92) + "\r\n").utf8)) {} else { Issue.record("108-byte line accepted") }
        if case .invalid = ProxyProtocol.parse(Array(("PROXY TCP4 " + String(repeating: "1", count: 200)).utf8)) {} else { Issue.record("no LF in 107 bytes: not refused") }
    }

    @Test(arguments: [
        "GET / HTTP/1.1\r\n", "PROXY TCP4 81.2.69.142 10.0.0.1 51234 443\n", "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", "PROXY TCP4 256.2.3.4 1.2.3.4 1 2\r\n", "PROXY TCP4 01.2.3.4 1.2.3.4 1 2\r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", "PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n", "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
        "PROXY TCP4 ::1 1.2.3.4 1 2\r\n", "PROXY TCP6 1::2::3 ::1 1 2\r\n", "PROXY  TCP4 1.2.3.4 1.2.3.4 1 2\r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n", "PROXY TCP4 1.2.3.4\r\n1.2.3.4 1 2\r\n", "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n",
    ])
    func malformedV1IsRefused(_ text: String) {
        if case .invalid = ProxyProtocol.parse(Array(text.utf8)) {} else { Issue.record("accepted: \(text.debugDescription)") }
    }

    @Test func v2AddressesLocalAndTLVs() {
        let ipv4: [UInt8] = [81, 2, 69, 142, 10, 0, 0, 1, 0xC8, 0x22, 0x01, 0xBB]
        #expect(ProxyProtocol.parse(Self.v2(payload: ipv4)) == .header(source: "81.2.69.142", length: 28))
        // TLVs after the addresses (ALPN, authority…) are skipped with the declared length.
        let tlv: [UInt8] = [0x01, 0x00, 0x02, 0x68, 0x32, 0x02, 0x00, 0x03, 0x61, 0x62, 0x63]
        #expect(ProxyProtocol.parse(Self.v2(payload: ipv4 + tlv) + Array("GET".utf8)) == .header(source: "81.2.69.142", length: 28 + tlv.count))
        var ipv6 = [UInt8](repeating: 0, count: 36)
        ipv6[0] = 0x20; ipv6[1] = 0x01; ipv6[2] = 0x0d; ipv6[3] = 0xb8; ipv6[15] = 1
        #expect(ProxyProtocol.parse(Self.v2(family: 0x21, payload: ipv6)) == .header(source: "2001:db8:0:0:0:0:0:1", length: 52))
        #expect(ProxyProtocol.parse(Self.v2(command: 0, family: 0, payload: [])) == .header(source: nil, length: 16))  // LOCAL
        #expect(ProxyProtocol.parse(Self.v2(family: 0x31, payload: [UInt8](repeating: 0, count: 216))) == .header(source: nil, length: 232))  // UNIX
        // Truncated anywhere: incomplete.
        let full = Self.v2(payload: ipv4 + tlv)
        for n in 0..<full.count { #expect(ProxyProtocol.parse(Array(full.prefix(n))) == .incomplete, "\(n)") }
        // The largest payload accepted, and one byte more.
        #expect(ProxyProtocol.parse(Self.v2(payload: ipv4 + [UInt8](repeating: 0, count: ProxyProtocol.maxV2PayloadBytes - 12))) ==
                .header(source: "81.2.69.142", length: 16 + ProxyProtocol.maxV2PayloadBytes))
        if case .invalid = ProxyProtocol.parse(Self.v2(payload: [], declaredLength: ProxyProtocol.maxV2PayloadBytes + 1)) {} else { Issue.record("oversized v2 accepted") }
    }

    @Test func malformedV2IsRefused() {
        let ipv4: [UInt8] = [81, 2, 69, 142, 10, 0, 0, 1, 0xC8, 0x22, 0x01, 0xBB]
        var wrongSignature = Self.v2(payload: ipv4)
        wrongSignature[6] = 0x0B
        var wrongVersion = Self.v2(payload: ipv4)
        wrongVersion[12] = 0x11
        var wrongCommand = Self.v2(payload: ipv4)
        wrongCommand[12] = 0x22
        for (name, bytes) in [("signature", wrongSignature), ("version", wrongVersion), ("command", wrongCommand),
                              ("short IPv4", Self.v2(payload: Array(ipv4.prefix(8)))), ("short IPv6", Self.v2(family: 0x21, payload: ipv4)),
                              ("family", Self.v2(family: 0x51, payload: ipv4))] {
            if case .invalid = ProxyProtocol.parse(bytes) {} else { Issue.record("\(name): accepted") }
        }
    }
}
