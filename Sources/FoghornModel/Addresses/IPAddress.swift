/// An IPv4 or IPv6 address as 16 bytes (IPv4 stored v4-mapped, `::ffff:a.b.c.d`).
/// Parsed from text bytes without allocating.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init(v4 a: UInt32) {
        high = 0
        low = 0x0000_FFFF_0000_0000 | UInt64(a)
    }

    public var isV4: Bool { high == 0 && (low >> 32) == 0xFFFF }
    public var v4: UInt32 { UInt32(truncatingIfNeeded: low) }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool { isV4 ? (v4 >> 24) == 127 : (high == 0 && low == 1) }

    /// Loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified, multicast:
    /// no meaningful geo position.
    public var isPrivateOrLocal: Bool {
        if isV4 {
            let a = v4
            let o1 = a >> 24, o2 = (a >> 16) & 0xFF
            return o1 == 10 || o1 == 127 || o1 == 0 || (o1 == 172 && o2 >= 16 && o2 <= 31) || (o1 == 192 && o2 == 168)
                || (o1 == 169 && o2 == 254) || (o1 == 100 && o2 >= 64 && o2 <= 127) || o1 >= 224
        }
        let top16 = high >> 48
        if high == 0 && (low == 0 || low == 1) { return true }       // :: and ::1
        if top16 & 0xFE00 == 0xFC00 { return true }                    // fc00::/7
        if top16 & 0xFFC0 == 0xFE80 { return true }                    // fe80::/10
        if top16 >> 8 == 0xFF { return true }                          // ff00::/8
        return false
    }

    /// FNV-style hash of the /24 (IPv4) or /48 (IPv6) network: viewers in one
    /// network stick to the same edge.
    public var networkHash: UInt64 {
        let key = isV4 ? UInt64(v4 & 0xFFFF_FF00) | (1 << 40) : (high & 0xFFFF_FFFF_FFFF_0000)
        var z = key &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public var description: String {
        if isV4 {
            let a = v4
            return "\(a >> 24).\((a >> 16) & 0xFF).\((a >> 8) & 0xFF).\(a & 0xFF)"
        }
        var groups: [UInt16] = []
        for i in 0..<4 { groups.append(UInt16(truncatingIfNeeded: high >> (48 - 16 * UInt64(i)))) }
        for i in 0..<4 { groups.append(UInt16(truncatingIfNeeded: low >> (48 - 16 * UInt64(i)))) }
        // Longest run of zeros → "::".
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLen && j - i > 1 { bestStart = i; bestLen = j - i }
                i = j
            } else { i += 1 }
        }
        var parts: [String] = []
        var k = 0
        while k < 8 {
            if k == bestStart {
                parts.append(k == 0 ? ":" : "")
                k += bestLen
                if k == 8 { parts.append("") }
                continue
            }
            parts.append(String(groups[k], radix: 16))
            k += 1
        }
        return parts.joined(separator: ":")
    }

    public static func parse(_ text: String) -> IPAddress? {
        var t = text
        return t.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    /// Parses dotted IPv4 or RFC 4291 IPv6 text (with optional embedded IPv4 and
    /// optional `[...]`). A zone (`%eth0`) is not accepted.
    public static func parse(_ b: UnsafeRawBufferPointer) -> IPAddress? {
        var s = 0, e = b.count
        if e >= 2 && b[0] == UInt8(ascii: "[") && b[e - 1] == UInt8(ascii: "]") { s = 1; e -= 1 }
        guard e > s, e - s <= 45 else { return nil }
        var hasColon = false
        for i in s..<e where b[i] == UInt8(ascii: ":") { hasColon = true; break }
        if !hasColon { return parseV4(b, s, e).map { IPAddress(v4: $0) } }
        return parseV6(b, s, e)
    }

    static func parseV4(_ b: UnsafeRawBufferPointer, _ s: Int, _ e: Int) -> UInt32? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        for i in s..<e {
            let c = b[i]
            if c == UInt8(ascii: ".") {
                guard digits > 0 else { return nil }
                value = value << 8 | octet
                octet = 0; digits = 0; dots += 1
                continue
            }
            guard c >= 0x30 && c <= 0x39 else { return nil }
            if digits > 0 && octet == 0 { return nil }  // leading zero
            octet = octet * 10 + UInt32(c - 0x30)
            digits += 1
            guard octet <= 255, digits <= 3 else { return nil }
        }
        guard dots == 3, digits > 0 else { return nil }
        return value << 8 | octet
    }

    static func parseV6(_ b: UnsafeRawBufferPointer, _ s: Int, _ e: Int) -> IPAddress? {
        var words = InlineArray<8, UInt16>(repeating: 0)
        var count = 0
        var gap = -1
        var i = s
        if e - s >= 2 && b[s] == UInt8(ascii: ":") && b[s + 1] == UInt8(ascii: ":") {
            gap = 0
            i = s + 2
        } else if b[s] == UInt8(ascii: ":") {
            return nil
        }
        while i < e {
            // IPv4 tail?
            var j = i
            var sawDot = false
            while j < e && b[j] != UInt8(ascii: ":") { if b[j] == UInt8(ascii: ".") { sawDot = true }; j += 1 }
            if sawDot {
                guard j == e, count <= 6, let v4 = parseV4(b, i, e) else { return nil }
                words[count] = UInt16(v4 >> 16); words[count + 1] = UInt16(v4 & 0xFFFF)
                count += 2
                i = e
                break
            }
            guard j > i, j - i <= 4, count < 8 else { return nil }
            var w: UInt16 = 0
            for k in i..<j {
                let c = b[k]
                let d: UInt16
                switch c {
                case 0x30...0x39: d = UInt16(c - 0x30)
                case 0x41...0x46: d = UInt16(c - 0x41 + 10)
                case 0x61...0x66: d = UInt16(c - 0x61 + 10)
                default: return nil
                }
                w = w << 4 | d
            }
            words[count] = w
            count += 1
            i = j
            if i < e {
                i += 1  // ':'
                if i < e && b[i] == UInt8(ascii: ":") {
                    guard gap < 0 else { return nil }
                    gap = count
                    i += 1
                } else if i == e {
                    return nil  // trailing single ':'
                }
            }
        }
        var full = InlineArray<8, UInt16>(repeating: 0)
        if gap >= 0 {
            guard count < 8 else { return nil }
            for k in 0..<gap { full[k] = words[k] }
            let tail = count - gap
            for k in 0..<tail { full[8 - tail + k] = words[gap + k] }
        } else {
            guard count == 8 else { return nil }
            full = words
        }
        var high: UInt64 = 0, low: UInt64 = 0
        for k in 0..<4 { high = high << 16 | UInt64(full[k]) }
        for k in 4..<8 { low = low << 16 | UInt64(full[k]) }
        return IPAddress(high: high, low: low)
    }
}

