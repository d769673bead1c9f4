/// A CIDR block (`10.0.0.0/8`, `2001:db8::/32`); IPv4 blocks match only IPv4 addresses.
public struct CIDRBlock: Sendable, Equatable, CustomStringConvertible {
    public var address: IPAddress
    /// Prefix length in the 128-bit space (IPv4 /n is stored as 96 + n).
    public var prefix: Int
    public var text: String

    public static func parse(_ text: String) -> CIDRBlock? {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let ip = IPAddress.parse(String(parts[0])) else { return nil }
        var length = ip.isV4 ? 32 : 128
        if parts.count == 2 {
            guard let n = Int(parts[1]), n >= 0, n <= length else { return nil }
            length = n
        }
        let prefix = ip.isV4 ? 96 + length : length
        return CIDRBlock(address: ip, prefix: prefix, text: text)
    }

    public func contains(_ ip: IPAddress) -> Bool {
        if address.isV4 != ip.isV4 { return false }
        let (hm, lm) = masks
        return (ip.high & hm) == (address.high & hm) && (ip.low & lm) == (address.low & lm)
    }

    /// The prefix as masks over the high and low 64 bits.
    var masks: (high: UInt64, low: UInt64) {
        let hp = min(prefix, 64), lp = max(prefix - 64, 0)
        return (hp == 0 ? 0 : ~UInt64(0) << UInt64(64 - hp), lp == 0 ? 0 : ~UInt64(0) << UInt64(64 - lp))
    }

    public var description: String { text }
}
