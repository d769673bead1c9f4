import FoghornTLS
import FoghornJSON

/// Signed enrollment tokens (`POST /v1/enrollment-tokens`) and edge report
/// credentials, both HMAC-SHA256 under the cluster secret.
///
/// Token: `fhe1.<base64url(payload JSON)>.<base64url(HMAC(secret, "enroll:" + payload))>`
/// with payload `{"id": 16 hex, "tenant": "...", "exp": unix seconds, "max": uses}`.
/// Edge credential: `fhc1.<node_id>.<hex HMAC(secret, "edge:" + node_id)>` — stateless to verify.
public struct EnrollmentTokens {
    private let secret: [UInt8]
    /// Uses so far and expiry, per token ID, as the state store counted them (an expired token is
    /// refused before its uses are read, so its entry is dropped: ``pruneIfGrown(nowSeconds:)``).
    private var uses: [String: (count: Int, expiresAt: Int64)] = [:]
    /// Token IDs revoked before their expiry (dropped with it).
    private var revoked: [String: Int64] = [:]
    private var pruneAt = 1024
    /// Token IDs whose uses are remembered (tests).
    public var rememberedTokens: Int { uses.count }

    public init(secret: [UInt8]) { self.secret = secret }

    /// The longest `expires_in_s` a token is issued with (30 days).
    public static let maxLifetimeSeconds: Int64 = 30 * 86400

    public struct Claims: Equatable {
        public var id: String
        public var tenant: String
        public var expiresAt: Int64
        public var maxUses: Int
    }

    public enum Failure: Error, Equatable {
        case malformed, forged, expired, usedUp, revoked

        public var status: Int { self == .usedUp || self == .revoked ? 403 : 401 }
        public var code: String {
            switch self {
            case .malformed: return "INVALID_ENROLLMENT_TOKEN"
            case .forged: return "ENROLLMENT_TOKEN_FORGED"
            case .expired: return "ENROLLMENT_TOKEN_EXPIRED"
            case .usedUp: return "ENROLLMENT_TOKEN_USED"
            case .revoked: return "ENROLLMENT_TOKEN_REVOKED"
            }
        }
        public var message: String {
            switch self {
            case .malformed: return "enrollment_token is not a Foghorn enrollment token"
            case .forged: return "enrollment_token signature does not verify"
            case .expired: return "enrollment_token has expired"
            case .usedUp: return "enrollment_token has no uses left"
            case .revoked: return "enrollment_token was revoked"
            }
        }
    }

    public func issue(tenant: String, expiresInSeconds: Int64, maxUses: Int, nowSeconds: Int64) -> (token: String, claims: Claims) {
        let claims = Claims(id: Crypto.hex(Crypto.randomBytes(8)), tenant: tenant, expiresAt: nowSeconds + expiresInSeconds, maxUses: maxUses)
        var w = JSONWriter()
        w.objectStart()
        w.field("id", claims.id)
        w.field("tenant", claims.tenant)
        w.field("exp", claims.expiresAt)
        w.field("max", claims.maxUses)
        w.objectEnd()
        let payload = Crypto.base64URL(w.bytes)
        let mac = Crypto.hmacSHA256(key: secret, data: Array(("enroll:" + payload).utf8))
        return ("fhe1.\(payload).\(Crypto.base64URL(mac))", claims)
    }

    /// Verifies a token without consuming a use.
    public func verify(_ token: String, nowSeconds: Int64) -> Result<Claims, Failure> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "fhe1", let mac = Crypto.base64URLDecode(parts[2]),
              let payloadBytes = Crypto.base64URLDecode(parts[1]) else { return .failure(.malformed) }
        let expected = Crypto.hmacSHA256(key: secret, data: Array(("enroll:" + parts[1]).utf8))
        guard Crypto.constantTimeEqual(mac, expected) else { return .failure(.forged) }
        guard let payload = try? JSONParser.parse(payloadBytes), let id = payload["id"]?.stringValue,
              let exp = payload["exp"]?.intValue, let max = payload["max"]?.intValue else { return .failure(.malformed) }
        let claims = Claims(id: id, tenant: payload["tenant"]?.stringValue ?? "", expiresAt: exp, maxUses: Int(max))
        if nowSeconds >= exp { return .failure(.expired) }
        if revoked[id] != nil { return .failure(.revoked) }
        if (uses[id]?.count ?? 0) >= claims.maxUses { return .failure(.usedUp) }
        return .success(claims)
    }

    /// A token's uses and revocation as the state store holds them (at start; with replicas,
    /// another replica's redemption). Uses only grow: a count lower than the one here is
    /// another process's older view.
    public mutating func restore(tokenId: String, uses count: Int, expiresAt: Int64, revoked isRevoked: Bool) {
        let current = uses[tokenId]?.count ?? 0
        if count > current || uses[tokenId] == nil { uses[tokenId] = (max(count, current), expiresAt) }
        if isRevoked { revoked[tokenId] = expiresAt }
    }

    /// Drops expired tokens' uses and revocations once the table has doubled since the last
    /// time (so a long-running plane does not keep one entry per token ever redeemed); true
    /// when it did — the caller drops the same from its copy of the store.
    public mutating func pruneIfGrown(nowSeconds: Int64) -> Bool {
        guard uses.count + revoked.count >= pruneAt else { return false }
        uses = uses.filter { $0.value.expiresAt > nowSeconds }
        revoked = revoked.filter { $0.value > nowSeconds }
        pruneAt = max(1024, (uses.count + revoked.count) * 2)
        return true
    }

    public func edgeCredential(nodeId: String) -> String {
        "fhc1.\(nodeId).\(Crypto.hex(Crypto.hmacSHA256(key: secret, data: Array(("edge:" + nodeId).utf8))))"
    }

    public func verifyEdgeCredential(_ credential: String, nodeId: String) -> Bool {
        Crypto.constantTimeEqual(Array(credential.utf8), Array(edgeCredential(nodeId: nodeId).utf8))
    }
}
