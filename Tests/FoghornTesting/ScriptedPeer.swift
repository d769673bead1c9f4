import FoghornTLS
public import FoghornPeering
#if canImport(Glibc)
import Glibc
#endif

/// A "peer Foghorn" written out by hand: dials a Foghorn's peer listener as cluster `cluster`,
/// runs the real handshake (hello → hello+proof → auth → ready) with the shared secret, then
/// sends whatever frames the test scripts — including ones a real Foghorn would never send.
/// Blocking socket, bounded waits; for tests on loopback.
public final class ScriptedPeer {
    public let cluster: String
    private let fd: Int32
    private var decoder = PeerFrameDecoder()

    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// Connects and completes the handshake; throws if the listener refuses or does not answer within `timeoutMs`.
    public init(host: String, port: UInt16, cluster: String, listenerCluster: String, secret: String, timeoutMs: Int = 5000) throws {
        self.cluster = cluster
        fd = try TestClient.connectedSocket(host: host, port: port)
        let nonce = "scripted-\(UInt64.random(in: 0...UInt64.max))"
        try send(.hello(.init(cluster: cluster, nonce: nonce)))
        guard case .hello(let h) = try receive(timeoutMs: timeoutMs), h.cluster == listenerCluster, h.proof != nil else {
            throw Failure(description: "no hello with proof from \(listenerCluster)")
        }
        let transcript = PeerHandshake.transcript(role: .dialer, dialer: cluster, listener: listenerCluster, dialerNonce: nonce, listenerNonce: h.nonce)
        try send(.auth(proof: PeerHandshake.hex(Crypto.hmacSHA256(key: Array(secret.utf8), data: transcript))))
        guard case .ready = try receive(timeoutMs: timeoutMs) else { throw Failure(description: "no ready") }
    }

    deinit { close(fd) }

    public func send(_ message: PeerMessage) throws { try send(raw: message.type, payload: message.payload()) }

    /// A frame with any payload (JSON the encoder would not produce).
    public func send(raw type: PeerMessageType, payload: [UInt8]) throws {
        let bytes = PeerFrame.encode(type, payload: payload)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw Failure(description: "send failed: errno \(errno)") }
            offset += n
        }
    }

    /// The next message (skipping heartbeats, which it answers), within `timeoutMs`.
    public func receive(timeoutMs: Int = 5000) throws -> PeerMessage {
        let deadline = TestClient.nowMs() + timeoutMs
        while true {
            if let frame = try decoder.next() {
                let message = try PeerMessage.decode(frame.type, frame.payload)
                if case .heartbeat(let seq, false) = message {
                    try send(.heartbeat(seq: seq, reply: true))
                    continue
                }
                return message
            }
            let left = deadline - TestClient.nowMs()
            guard left > 0 else { throw Failure(description: "timed out waiting for a frame") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(left)) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw Failure(description: "connection closed") }
            decoder.feed(Array(chunk[0..<n]))
        }
    }
}
