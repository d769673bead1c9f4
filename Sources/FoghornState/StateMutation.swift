public import FoghornModel

/// One durable change, as the control plane commits it to the state store and (with replicas)
/// as the changelog carries it. Applying the same mutation twice gives the same state.
public enum StateMutation: Sendable, Equatable {
    /// An edge enrolled, or its registration changed (base URL, capabilities).
    case registerEdge(EdgeRegistration)
    /// `DELETE /v1/edges/<id>`: the registration is gone (its credential no longer reports).
    case removeEdge(nodeId: String)
    /// One use of an enrollment token, refused by the store (``StateStoreError/tokenUsedUp``)
    /// when it already has `maxUses`: the store, not a process's memory, decides, so two
    /// replicas redeeming the last use at once cannot both succeed.
    case redeemToken(tokenId: String, maxUses: Int, expiresAt: Int64)
    /// An enrollment token's uses so far, as a store holds them (the changelog's and a re-seed's
    /// form of ``redeemToken(tokenId:maxUses:expiresAt:)``).
    case tokenUses(tokenId: String, uses: Int, expiresAt: Int64)
    /// An enrollment token revoked before its expiry.
    case revokeToken(tokenId: String, expiresAt: Int64)
    case setMode(nodeId: String, mode: EdgeMode)
    case setPlayback(PlaybackRecord)
    case removePlayback(playbackId: String)
    /// Runtime weights and the configuration file's weights they were set over (a file with
    /// other weights wins at the next start, as at a reload).
    case setWeights(ScoringWeights, fileWeights: ScoringWeights)
    /// A Mist node added at runtime (`address` as `MistNodeAddress.parse` reads it) or removed.
    case mistNode(nodeId: String, address: String, present: Bool)
}
