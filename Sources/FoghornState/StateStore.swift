/// Where durable state lives (``DurableState``): SQLite for one node, Redis for replicas. The
/// control plane loads it once at start and commits every durable change through it before it
/// answers the caller; the request path never touches it.
public protocol StateStore: AnyObject, Sendable {
    /// `sqlite` or `redis` (metrics, `/readyz`).
    var backend: String { get }
    /// Where (a file path, a Redis address without credentials).
    var location: String { get }
    /// The whole durable state (at start, before serving).
    func load() throws(StateStoreError) -> DurableState
    /// Commits `mutations` atomically; `done` runs on the store's own thread once they are
    /// durable (or failed: then none of them is).
    func commit(_ mutations: [StateMutation], done: @escaping @Sendable (Result<Void, StateStoreError>) -> Void)
    /// The secret kept in the store for a cluster configured without `cluster_secret`:
    /// `candidate` is stored if none is yet, so edge credentials verify after a restart.
    func sharedSecret(creatingWith candidate: [UInt8]) throws(StateStoreError) -> [UInt8]
    /// Finishes queued commits and closes.
    func close()
}

/// A state store that could not do what it was asked; `code` is the API's error code.
public struct StateStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }

    /// A ``StateMutation/redeemToken(tokenId:maxUses:expiresAt:)`` past its token's last use.
    public static let tokenUsedUp = StateStoreError(code: "ENROLLMENT_TOKEN_USED", message: "enrollment_token has no uses left")
}
