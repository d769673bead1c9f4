import FoghornTLS
import FoghornConfig
import FoghornHTTP
import FoghornPeering

/// One TCP connection between this Foghorn and a peer cluster's, from the
/// handshake (HMAC challenge over the pair secret, docs/PEERING.md) to close.
/// Frames are decoded with a size cap; anything malformed, unexpected or
/// unauthenticated closes the channel with a counted reason. Control loop only.
final class PeerChannel {
    enum Direction: String { case outbound, inbound }
    enum Phase: Equatable { case handshaking, ready, closed }

    let stream: any ByteStream
    let direction: Direction
    let localCluster: String
    /// The peer's cluster: known up front when dialling, from its hello when accepting.
    private(set) var peerCluster: String?
    private(set) var phase = Phase.handshaking
    /// Whether the handshake completed (stays true after close).
    private(set) var wasReady = false
    private var decoder: PeerFrameDecoder
    private let nonce = PeerHandshake.hex(Crypto.randomBytes(16))
    private var peerNonce = ""
    private var handshakeTimer: LoopTimer?
    /// Looks up the pair secret of a listed cluster (nil: unlisted → refused).
    private let secretFor: (String) -> String?
    private(set) var lastReceivedMs: UInt64
    private(set) var lastMessageType = ""
    let openedMs: UInt64
    private var closeReported = false

    /// Ready (authenticated) — the manager takes it from here.
    var onReady: ((PeerChannel) -> Void)?
    /// A message after the handshake.
    var onMessage: ((PeerChannel, PeerMessage) -> Void)?
    /// Edges a frame carried that were left out (``PeerMessage/decode(_:_:refused:)``): frame type, reasons.
    var onRefusedEdges: ((String, [String]) -> Void)?
    /// Closed, with the reason label and whether it was a protocol/auth error (counted).
    var onClose: ((PeerChannel, String, Bool) -> Void)?

    static let handshakeTimeoutMs: UInt64 = 5000
    /// Goodbye reasons that are not errors.
    static let benignGoodbyes: Set<String> = ["shutdown", "idle", "duplicate"]

    init(stream: any ByteStream, direction: Direction, localCluster: String, expectedPeer: String?, maxFrameBytes: Int,
         secretFor: @escaping (String) -> String?) {
        self.stream = stream
        self.direction = direction
        self.localCluster = localCluster
        self.peerCluster = expectedPeer
        self.secretFor = secretFor
        decoder = PeerFrameDecoder(maxPayloadBytes: maxFrameBytes)
        lastReceivedMs = ControlPlane.monotonicMs()
        openedMs = lastReceivedMs
        stream.maxQueuedBytes = max(4 * maxFrameBytes, 16 << 20)
    }

    func start() {
        handshakeTimer = LoopTimer(loop: stream.loop) { [unowned self] in fail("handshake_timeout", counted: true) }
        handshakeTimer?.start(afterMs: PeerChannel.handshakeTimeoutMs)
        stream.onRead = { [unowned self] bytes in received(bytes) }
        stream.onClose = { [unowned self] reason in closed(reason, counted: reason != "eof" && reason != "closed") }
        stream.startReading()
        if direction == .outbound {
            send(.hello(.init(cluster: localCluster, nonce: nonce)))
        }
    }

    func send(_ message: PeerMessage) {
        guard phase != .closed else { return }
        stream.write(message.frame())
    }

    /// Says goodbye (best effort) and closes.
    func close(goodbye reason: String) {
        guard phase != .closed else { return }
        send(.goodbye(reason: reason))
        stream.close("closed")
    }

    /// Closes for a protocol/auth failure (counted under `reason`).
    func fail(_ reason: String, counted: Bool = true) {
        guard phase != .closed else { return }
        if reason != "handshake_timeout" { send(.goodbye(reason: reason)) }
        closed(reason, counted: counted)
        stream.close(reason)
    }

    private func closed(_ reason: String, counted: Bool) {
        phase = .closed
        handshakeTimer?.close()
        handshakeTimer = nil
        guard !closeReported else { return }
        closeReported = true
        onClose?(self, reason, counted)
        onClose = nil
        onMessage = nil
        onReady = nil
        onRefusedEdges = nil
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        decoder.feed(bytes)
        while phase != .closed {
            let frame: (type: PeerMessageType, payload: [UInt8])?
            do throws(PeerProtocolError) {
                frame = try decoder.next()
            } catch {
                return fail(error.reason)
            }
            guard let frame else { return }
            let message: PeerMessage
            var refused: [String] = []
            do throws(PeerProtocolError) {
                message = try PeerMessage.decode(frame.type, frame.payload, refused: &refused)
            } catch {
                return fail(error.reason)
            }
            if !refused.isEmpty { onRefusedEdges?(frame.type.name, refused) }
            lastReceivedMs = ControlPlane.monotonicMs()
            lastMessageType = frame.type.name
            handle(message)
        }
    }

    private func handle(_ message: PeerMessage) {
        if case .goodbye(let reason) = message {
            let label = "goodbye_" + String(reason.prefix(32).map { $0.isLetter || $0 == "_" ? $0 : "_" })
            // The peer refusing us (unlisted, bad proof, garbage from us) is an error here too.
            closed(label, counted: !PeerChannel.benignGoodbyes.contains(reason))
            stream.close(label)
            return
        }
        switch (phase, direction, message) {
        case (.handshaking, .inbound, .hello(let h)):
            guard h.version == Int(PeerFrame.version) else { return fail("bad_version") }
            guard peerCluster == nil, h.proof == nil else { return fail("unexpected_message") }
            guard h.cluster != localCluster, let secret = secretFor(h.cluster) else { return fail("unlisted_cluster") }
            peerCluster = h.cluster
            peerNonce = h.nonce
            let proof = PeerChannel.proof(secret, .listener, dialer: h.cluster, listener: localCluster, dialerNonce: h.nonce, listenerNonce: nonce)
            send(.hello(.init(cluster: localCluster, nonce: nonce, proof: proof)))
        case (.handshaking, .inbound, .auth(let proof)):
            guard let peer = peerCluster, let secret = secretFor(peer) else { return fail("unexpected_message") }
            let expected = PeerChannel.proof(secret, .dialer, dialer: peer, listener: localCluster, dialerNonce: peerNonce, listenerNonce: nonce)
            guard PeerHandshake.constantTimeEqual(proof, expected) else { return fail("auth_failed") }
            send(.ready)  // first: what the manager sends on ready must follow it
            becomeReady()
        case (.handshaking, .outbound, .hello(let h)):
            guard h.version == Int(PeerFrame.version) else { return fail("bad_version") }
            guard let peer = peerCluster, h.cluster == peer else { return fail("wrong_cluster") }
            guard let secret = secretFor(peer), let proof = h.proof, peerNonce.isEmpty else { return fail("unexpected_message") }
            peerNonce = h.nonce
            let expected = PeerChannel.proof(secret, .listener, dialer: localCluster, listener: peer, dialerNonce: nonce, listenerNonce: h.nonce)
            guard PeerHandshake.constantTimeEqual(proof, expected) else { return fail("auth_failed") }
            send(.auth(proof: PeerChannel.proof(secret, .dialer, dialer: localCluster, listener: peer, dialerNonce: nonce, listenerNonce: h.nonce)))
        case (.handshaking, .outbound, .ready):
            guard !peerNonce.isEmpty else { return fail("unexpected_message") }
            becomeReady()
        case (.ready, _, .hello), (.ready, _, .auth), (.ready, _, .ready), (.handshaking, _, _):
            fail("unexpected_message")
        case (.ready, _, _):
            onMessage?(self, message)
        case (.closed, _, _):
            break
        }
    }

    private func becomeReady() {
        phase = .ready
        wasReady = true
        handshakeTimer?.close()
        handshakeTimer = nil
        onReady?(self)
    }

    static func proof(_ secret: String, _ role: PeerHandshake.Role, dialer: String, listener: String, dialerNonce: String, listenerNonce: String) -> String {
        let transcript = PeerHandshake.transcript(role: role, dialer: dialer, listener: listener, dialerNonce: dialerNonce, listenerNonce: listenerNonce)
        return PeerHandshake.hex(Crypto.hmacSHA256(key: Array(secret.utf8), data: transcript))
    }
}
