public import FoghornModel

/// Everything an operator or an edge set, as the state store holds it: what a restarted Foghorn
/// loads before `/readyz` turns 200. ``apply(_:)`` is the one definition of what a
/// ``StateMutation`` does, shared by the stores and the control plane's in-memory copy.
public struct DurableState: Sendable, Equatable {
    public var edges: [String: EdgeRegistration] = [:]
    public var tokens: [String: TokenRecord] = [:]
    public var modes: [String: EdgeMode] = [:]
    public var playback: [String: PlaybackRecord] = [:]
    public var weights: WeightsRecord?
    public var mistNodes: [String: MistNodeRecord] = [:]

    public init() {}

    public struct TokenRecord: Sendable, Equatable {
        public var uses: Int
        public var expiresAt: Int64
        public var revoked: Bool
        public init(uses: Int, expiresAt: Int64, revoked: Bool) {
            self.uses = uses
            self.expiresAt = expiresAt
            self.revoked = revoked
        }
    }

    public struct WeightsRecord: Sendable, Equatable {
        public var weights: ScoringWeights
        public var fileWeights: ScoringWeights
        public init(weights: ScoringWeights, fileWeights: ScoringWeights) {
            self.weights = weights
            self.fileWeights = fileWeights
        }
    }

    public struct MistNodeRecord: Sendable, Equatable {
        public var address: String
        public var present: Bool
        public init(address: String, present: Bool) {
            self.address = address
            self.present = present
        }
    }

    /// Forgets tokens past their expiry (their uses no longer matter: an expired token is
    /// refused before its uses are read).
    public mutating func dropExpiredTokens(nowSeconds: Int64) {
        tokens = tokens.filter { $0.value.expiresAt > nowSeconds }
    }

    public mutating func apply(_ m: StateMutation) {
        switch m {
        case .registerEdge(let r): edges[r.nodeId] = r
        case .removeEdge(let id):
            edges[id] = nil
            modes[id] = nil
        case .redeemToken(let id, _, let exp):
            tokens[id] = TokenRecord(uses: (tokens[id]?.uses ?? 0) + 1, expiresAt: exp, revoked: tokens[id]?.revoked ?? false)
        case .tokenUses(let id, let uses, let exp):
            tokens[id] = TokenRecord(uses: max(uses, tokens[id]?.uses ?? 0), expiresAt: exp, revoked: tokens[id]?.revoked ?? false)
        case .revokeToken(let id, let exp):
            tokens[id] = TokenRecord(uses: tokens[id]?.uses ?? 0, expiresAt: exp, revoked: true)
        case .setMode(let id, let mode): modes[id] = mode == .normal ? nil : mode
        case .setPlayback(let r): playback[r.playbackId] = r
        case .removePlayback(let id): playback[id] = nil
        case .setWeights(let w, let file): weights = WeightsRecord(weights: w, fileWeights: file)
        case .mistNode(let id, let address, let present): mistNodes[id] = MistNodeRecord(address: address, present: present)
        }
    }

    /// Every record as the mutations that would write it (re-seeding an empty store).
    public var mutations: [StateMutation] {
        var out: [StateMutation] = []
        for r in edges.values { out.append(.registerEdge(r)) }
        for (id, t) in tokens {
            out.append(.tokenUses(tokenId: id, uses: t.uses, expiresAt: t.expiresAt))
            if t.revoked { out.append(.revokeToken(tokenId: id, expiresAt: t.expiresAt)) }
        }
        for (id, m) in modes { out.append(.setMode(nodeId: id, mode: m)) }
        for r in playback.values { out.append(.setPlayback(r)) }
        if let weights { out.append(.setWeights(weights.weights, fileWeights: weights.fileWeights)) }
        for (id, n) in mistNodes { out.append(.mistNode(nodeId: id, address: n.address, present: n.present)) }
        return out
    }
}
