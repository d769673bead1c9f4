/// The HMAC challenge both sides answer (docs/PEERING.md, "Handshake"):
///
///     dialer → hello{cluster: A, nonce: Na}
///     listener → hello{cluster: B, nonce: Nb, proof: HMAC(secret, "foghorn-peer-v1 listener A B Na Nb")}
///     dialer → auth{proof: HMAC(secret, "foghorn-peer-v1 dialer A B Na Nb")}
///     listener → ready
///
/// Each side proves it holds the pair's secret over both nonces, so neither
/// proof can be replayed on another connection or reflected back.
public enum PeerHandshake {
    public enum Role: String, Sendable { case dialer, listener }

    /// The bytes a side signs (A = dialer's cluster, B = listener's).
    public static func transcript(role: Role, dialer: String, listener: String, dialerNonce: String, listenerNonce: String) -> [UInt8] {
        Array("foghorn-peer-v1 \(role.rawValue) \(dialer) \(listener) \(dialerNonce) \(listenerNonce)".utf8)
    }

    /// Lowercase hex of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Compares two proofs in time independent of where they differ.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
