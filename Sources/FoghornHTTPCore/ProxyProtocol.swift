/// The PROXY protocol header an L4 load balancer (HAProxy, AWS NLB, …) puts before the client's
/// bytes: version 1 (one text line) or 2 (binary). Only the client's source address is used.
///
/// ```swift
/// ProxyProtocol.parse(Array("PROXY TCP4 81.2.69.142 10.0.0.1 51234 443\r\nGET / HTTP/1.1\r\n".utf8))
/// // .header(source: "81.2.69.142", length: 44)
/// ProxyProtocol.parse(Array("PROXY TCP4 81.2".utf8))    // .incomplete
/// ProxyProtocol.parse(Array("GET / HTTP/1.1\r\n".utf8))  // .invalid("no PROXY header")
/// ```
public enum ProxyProtocol {
    public enum Result: Equatable, Sendable {
        /// More bytes are needed.
        case incomplete
        /// The header is `length` bytes; `source` is the client's address, nil when the header
        /// says to keep the connection's own (v1 `UNKNOWN`, v2 `LOCAL`, or an address family
        /// other than TCP over IPv4/IPv6).
        case header(source: String?, length: Int)
        case invalid(String)
    }

    /// The longest v1 line, CRLF included (the specification's bound).
    public static let maxV1Bytes = 107
    /// The longest v2 header accepted: 16 bytes and at most this much address and TLV data.
    public static let maxV2PayloadBytes = 2048
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    public static func parse(_ bytes: [UInt8]) -> Result {
        bytes.withUnsafeBytes { parse($0) }
    }

    public static func parse(_ b: UnsafeRawBufferPointer) -> Result {
        guard let first = b.first else { return .incomplete }
        if first == 0x0D { return parseV2(b) }
        if first == 0x50 { return parseV1(b) }  // "P"
        return .invalid("no PROXY header")
    }

    // MARK: Version 1

    static func parseV1(_ b: UnsafeRawBufferPointer) -> Result {
        let prefix = Array("PROXY ".utf8)
        for i in 0..<min(prefix.count, b.count) where b[i] != prefix[i] { return .invalid("no PROXY header") }
        var end = -1
        for i in 0..<min(b.count, maxV1Bytes) where b[i] == 0x0A {
            end = i
            break
        }
        if end < 0 { return b.count >= maxV1Bytes ? .invalid("v1 line longer than 107 bytes") : .incomplete }
        guard end >= 1, b[end - 1] == 0x0D else { return .invalid("v1 line not ended by CRLF") }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: b[prefix.count..<(end - 1)]), as: UTF8.self)
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        guard let family = fields.first else { return .invalid("v1 without a protocol") }
        if family == "UNKNOWN" { return .header(source: nil, length: end + 1) }
        guard family == "TCP4" || family == "TCP6" else { return .invalid("v1 protocol must be TCP4, TCP6 or UNKNOWN") }
        guard fields.count == 5 else { return .invalid("v1 needs source, destination and two ports") }
        let source = String(fields[1]), destination = String(fields[2])
        let ok = family == "TCP4" ? isIPv4(source) && isIPv4(destination) : isIPv6(source) && isIPv6(destination)
        guard ok else { return .invalid("v1 address is not a \(family == "TCP4" ? "IPv4" : "IPv6") address") }
        guard isPort(fields[3]), isPort(fields[4]) else { return .invalid("v1 port is not 0-65535") }
        return .header(source: source, length: end + 1)
    }

    static func isPort(_ s: Substring) -> Bool {
        guard !s.isEmpty, s.count <= 5, s.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(s), n <= 65535 else { return false }
        return s.count == 1 || s.first != "0"
    }

    static func isIPv4(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(p), n <= 255 else { return false }
            if p.count > 1 && p.first == "0" { return false }
        }
        return true
    }

    static func isIPv6(_ s: String) -> Bool {
        guard s.utf8.count >= 2, s.utf8.count <= 45, s.contains(":") else { return false }
        guard s.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) || $0 == 0x3A || $0 == 0x2E }) else {
            return false
        }
        let groups = s.split(separator: ":", omittingEmptySubsequences: false)
        guard groups.count >= 3, groups.count <= 8 else { return false }
        var doubleColons = 0
        for (i, g) in groups.enumerated() {
            if g.isEmpty {
                if i > 0 && i < groups.count - 1 { doubleColons += 1 }
                continue
            }
            if g.contains(".") {
                guard i == groups.count - 1, isIPv4(String(g)) else { return false }
            } else if g.utf8.count > 4 {
                return false
            }
        }
        return doubleColons <= 1 && !s.contains(":::")
    }

    // MARK: Version 2

    static func parseV2(_ b: UnsafeRawBufferPointer) -> Result {
        for i in 0..<min(v2Signature.count, b.count) where b[i] != v2Signature[i] { return .invalid("no PROXY header (bad v2 signature)") }
        guard b.count >= 16 else { return .incomplete }
        guard b[12] >> 4 == 2 else { return .invalid("v2 version must be 2") }
        let command = b[12] & 0x0F
        guard command <= 1 else { return .invalid("v2 command must be LOCAL or PROXY") }
        let length = Int(b[14]) << 8 | Int(b[15])
        guard length <= maxV2PayloadBytes else { return .invalid("v2 header longer than \(16 + maxV2PayloadBytes) bytes") }
        guard b.count >= 16 + length else { return .incomplete }
        let total = 16 + length
        if command == 0 { return .header(source: nil, length: total) }  // LOCAL: health checks from the balancer
        let family = b[13] >> 4, transport = b[13] & 0x0F
        switch (family, transport) {
        case (1, 1):  // TCP over IPv4
            guard length >= 12 else { return .invalid("v2 IPv4 addresses truncated") }
            return .header(source: "\(b[16]).\(b[17]).\(b[18]).\(b[19])", length: total)
        case (2, 1):  // TCP over IPv6
            guard length >= 36 else { return .invalid("v2 IPv6 addresses truncated") }
            var groups: [String] = []
            for g in 0..<8 {
                let v = UInt16(b[16 + 2 * g]) << 8 | UInt16(b[17 + 2 * g])
                groups.append(String(v, radix: 16))
            }
            return .header(source: groups.joined(separator: ":"), length: total)
        case (0...3, 0...2):
            return .header(source: nil, length: total)  // UNSPEC, UDP, UNIX: keep the connection's address
        default:
            return .invalid("v2 address family or transport unknown")
        }
    }
}
