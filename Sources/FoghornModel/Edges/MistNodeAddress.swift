/// A MistServer node as MistUtilLoad's `-s` takes it: `host[:port][/bandwidth MiB]`
/// (API port 4242 by default; the MiB suffix caps its bandwidth).
///
/// Examples: `edge1.example` → edge1.example:4242; `10.0.0.5:4343/100` → port 4343,
/// 100 MiB/s; `[2001:db8::1]:4242`.
public struct MistNodeAddress: Sendable, Equatable {
    public var host: String
    public var port: UInt16
    /// Bytes per second from the `/MiB` suffix, if any.
    public var bandwidthLimitBytesPerSec: UInt64?

    /// The node's identity: its host (as MistUtilLoad), with the port when it is not 4242.
    public var nodeId: String { port == 4242 ? host : (host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)") }

    /// The address as ``parse(_:)`` reads it back: `host[:port][/MiB]`.
    public var text: String {
        var out = host.contains(":") ? "[\(host)]" : host
        if port != 4242 || host.contains(":") { out += ":\(port)" }
        if let b = bandwidthLimitBytesPerSec { out += "/\(b / 1_048_576)" }
        return out
    }

    public static func parse(_ text: String) -> MistNodeAddress? {
        var rest = Substring(text)
        var limit: UInt64?
        if let slash = rest.firstIndex(of: "/") {
            guard let mib = UInt64(rest[rest.index(after: slash)...]), mib > 0, mib < 1 << 30 else { return nil }
            limit = mib * 1_048_576
            rest = rest[..<slash]
        }
        var host: Substring
        var port: UInt16 = 4242
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = UInt16(after.dropFirst()), p > 0 else { return nil }
                port = p
            }
        } else if let colon = rest.lastIndex(of: ":"), rest.firstIndex(of: ":") == colon {
            host = rest[..<colon]
            guard let p = UInt16(rest[rest.index(after: colon)...]), p > 0 else { return nil }
            port = p
        } else {
            host = rest
        }
        guard !host.isEmpty, host.utf8.count <= 253,
              host.utf8.allSatisfy({ b in (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x3A || b == 0x5F })
        else { return nil }
        return MistNodeAddress(host: String(host), port: port, bandwidthLimitBytesPerSec: limit)
    }
}
