/// Who the viewer is: the TCP peer, unless the peer is a trusted proxy; then
/// `CF-Connecting-IP`, else the right-most untrusted hop of `X-Forwarded-For`,
/// else `X-Real-IP`. Headers from untrusted peers are ignored entirely.
///
/// Several `X-Forwarded-For` lines are one list in order (RFC 9110 §5.3): a proxy that adds a
/// line of its own (HAProxy's `option forwardfor`) after the client's forged one is read as
/// `forged, real` and the right-most untrusted hop — the real one — wins. `CF-Connecting-IP` and
/// `X-Real-IP` hold one address: sent twice they are ambiguous, so that header is ignored (the
/// next source is used) and the duplicate reported.
///
/// ```swift
/// // trusted 10.0.0.0/8; from 10.0.0.1:
/// // X-Forwarded-For: 203.0.113.9          (forged by the client)
/// // X-Forwarded-For: 81.2.69.142, 10.0.0.7 (added by the proxies)
/// // → 81.2.69.142
/// ```
public struct ClientAddressResolver: Sendable {
    public var trustedProxies: [CIDRBlock] {
        didSet { masks = trustedProxies.map(TrustMask.init) }
    }
    /// `trustedProxies` as plain masks: a trust check per hop reads no `String` and
    /// retains nothing (the blocks carry their text for configs and logs).
    private var masks: [TrustMask]

    private struct TrustMask {
        let high: UInt64, low: UInt64, maskHigh: UInt64, maskLow: UInt64, isV4: Bool
        init(_ block: CIDRBlock) {
            isV4 = block.address.isV4
            (maskHigh, maskLow) = block.masks
            high = block.address.high & maskHigh
            low = block.address.low & maskLow
        }
    }

    public init(trustedProxies: [CIDRBlock]) {
        self.trustedProxies = trustedProxies
        masks = trustedProxies.map(TrustMask.init)
    }

    /// `ip` is inside one of ``trustedProxies`` (as ``CIDRBlock/contains(_:)``: IPv4 blocks hold
    /// IPv4 addresses only, IPv6 blocks — even `::/0` — IPv6 addresses only).
    public func isTrusted(_ ip: IPAddress) -> Bool {
        let v4 = ip.isV4
        return masks.withUnsafeBufferPointer { list in
            for m in list where m.isV4 == v4 && (ip.high & m.maskHigh) == m.high && (ip.low & m.maskLow) == m.low { return true }
            return false
        }
    }

    public func resolve(
        peer: IPAddress, cfConnectingIP: UnsafeRawBufferPointer?, forwardedFor: UnsafeRawBufferPointer?,
        realIP: UnsafeRawBufferPointer?
    ) -> IPAddress {
        resolve(peer: peer) { name in
            switch name {
            case .cfConnectingIP: cfConnectingIP
            case .forwardedFor: forwardedFor
            case .realIP: realIP
            }
        }
    }

    /// The headers ``resolve(peer:header:)`` may read, in the order it reads them.
    public enum ForwardingHeader {
        case cfConnectingIP, forwardedFor, realIP
    }

    /// Same as ``resolve(peer:lines:duplicate:)`` with one line per header.
    @inlinable
    public func resolve(peer: IPAddress, header: (ForwardingHeader) -> UnsafeRawBufferPointer?) -> IPAddress {
        resolve(peer: peer, lines: { name, occurrence in occurrence == 0 ? header(name) : nil }, duplicate: { _ in })
    }

    /// The viewer's address, asking for header lines only when needed: none for an untrusted
    /// peer, none after the first usable source. `lines(name, n)` is the `n`th (0-based) line of
    /// that header as received, nil past the last; `duplicate` hears of a single-address header
    /// sent on more than one line (ignored).
    @inlinable
    public func resolve(peer: IPAddress, lines: (ForwardingHeader, Int) -> UnsafeRawBufferPointer?,
                        duplicate: (ForwardingHeader) -> Void) -> IPAddress {
        guard isTrusted(peer) else { return peer }
        if let cf = lines(.cfConnectingIP, 0) {
            if lines(.cfConnectingIP, 1) != nil {
                duplicate(.cfConnectingIP)
            } else if let ip = IPAddress.parse(Self.trim(cf)) {
                return ip
            }
        }
        if lines(.forwardedFor, 0) != nil, let ip = rightmostUntrusted({ lines(.forwardedFor, $0) }) { return ip }
        if let real = lines(.realIP, 0) {
            if lines(.realIP, 1) != nil {
                duplicate(.realIP)
            } else if let ip = IPAddress.parse(Self.trim(real)) {
                return ip
            }
        }
        return peer
    }

    /// Most `X-Forwarded-For` lines read (a request has at most `max_headers` anyway).
    public static let maxForwardedForLines = 64

    /// Walks `X-Forwarded-For` — all its lines, as one list — from the right, skipping trusted
    /// proxies; the first untrusted hop is the client. All trusted → the left-most. Any
    /// malformed hop (or more than ``maxForwardedForLines`` lines) stops the walk (nil: fall back).
    @usableFromInline func rightmostUntrusted(_ line: (Int) -> UnsafeRawBufferPointer?) -> IPAddress? {
        var count = 1
        while count <= Self.maxForwardedForLines, line(count) != nil { count += 1 }
        guard count <= Self.maxForwardedForLines else { return nil }
        var leftmost: IPAddress?
        var n = count - 1
        while n >= 0 {
            guard let xff = line(n) else { return nil }
            var end = xff.count
            // An empty line (or a trailing comma) holds no hop; every other element must parse.
            while end > 0 {
                var start = end
                while start > 0 && xff[start - 1] != UInt8(ascii: ",") { start -= 1 }
                let hop = Self.trim(UnsafeRawBufferPointer(rebasing: xff[start..<end]))
                guard let ip = IPAddress.parse(hop) else { return nil }
                if !isTrusted(ip) { return ip }
                leftmost = ip
                end = start > 0 ? start - 1 : 0
            }
            n -= 1
        }
        return leftmost
    }

    @usableFromInline static func trim(_ b: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var s = 0, e = b.count
        while s < e && (b[s] == 0x20 || b[s] == 0x09) { s += 1 }
        while e > s && (b[e - 1] == 0x20 || b[e - 1] == 0x09) { e -= 1 }
        return UnsafeRawBufferPointer(rebasing: b[s..<e])
    }
}
