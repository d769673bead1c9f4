/// A playback ID's record: which stream it plays, whose it is.
public struct PlaybackRecord: Sendable, Equatable {
    public var playbackId: String
    /// Internal stream name edges report.
    public var stream: String
    public var tenant: String
    /// Origin cluster, if known (for federation).
    public var cluster: String

    public init(playbackId: String, stream: String, tenant: String = "", cluster: String = "") {
        self.playbackId = playbackId
        self.stream = stream
        self.tenant = tenant
        self.cluster = cluster
    }
}
