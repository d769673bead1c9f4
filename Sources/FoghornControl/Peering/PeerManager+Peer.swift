import FoghornConfig
import FoghornHTTP
import FoghornJSON
import FoghornModel
import FoghornPeering
import FoghornTLS
import Logging

extension PeerManager {
    /// Everything about one configured peer.
    final class Peer {
        let config: PeerConfig
        var state = State.idle
        var sinceMs: UInt64
        var sinceUnix: Int64
        var channel: PeerChannel?
        var dialing: TCPStream?
        var attempts = 0
        var nextDialMs: UInt64 = 0
        var rttMs: Double?
        var errors: [String: UInt64] = [:]
        var lastError = ""
        var connects: UInt64 = 0
        /// Remote edges by their own node ID, with when each was last refreshed.
        var edges: [String: (edge: PeerEdge, updatedMs: UInt64)] = [:]
        /// Streams we asked this (on-demand) peer for and it has.
        var subscribedByUs: Set<String> = []
        /// Streams this peer asked us for and we have (pushed to it, ended when gone).
        var subscribedByThem: Set<String> = []
        /// Streams last advertised to an always-on peer.
        var advertised: Set<String> = []
        var graceDeadlineMs: UInt64?
        var lastSummarySentMs: UInt64 = 0
        var lastHeartbeatSentMs: UInt64 = 0
        var heartbeatSeq: UInt64 = 0
        var heartbeatSentNs: [UInt64: UInt64] = [:]
        /// Queries waiting for the channel to become ready.
        var queuedQueries: [(id: UInt64, stream: String)] = []
        var queriesSent: UInt64 = 0

        init(_ config: PeerConfig) {
            self.config = config
            sinceMs = ControlPlane.monotonicMs()
            sinceUnix = ControlPlane.unixSeconds()
        }

        var isAlways: Bool { config.mode == .always }
        var hasStreams: Bool { !subscribedByUs.isEmpty || !subscribedByThem.isEmpty }
    }
}
