import FoghornHTTP
import FoghornSync

/// A misbehaving "peer Foghorn" on 127.0.0.1: accepts PeerChannel connections and
/// answers each with fixed bytes (garbage, a wrong-version frame, an oversized
/// header…) or nothing at all; counts connections and what it received.
public final class FakePeer: @unchecked Sendable {
    public let port: UInt16
    private let loop = EventLoop(name: "fake-peer")
    private let state = Locked<(accepted: Int, received: Int, reply: [UInt8])>((0, 0, []))
    private var server: TCPServer?
    private var streams: [TCPStream] = []

    public init(reply: [UInt8]) throws {
        state.withLock { $0.reply = reply }
        let socket = try ListeningSocket.bind(host: "127.0.0.1", port: 0, reusePort: false)
        port = socket.port
        loop.execute { [self] in
            server = try? TCPServer(socket: socket, loop: loop) { [self] s in
                let reply = state.withLock { st -> [UInt8] in
                    st.accepted += 1
                    return st.reply
                }
                s.onRead = { [state] bytes in state.withLock { $0.received += bytes.count } }
                s.onClose = { _ in }
                s.startReading()
                streams.append(s)
                if !reply.isEmpty { s.write(reply) }
            }
            loop.addShutdownHook { [self] in
                server?.close()
                for s in streams { s.close("stop") }
                streams.removeAll()
            }
        }
        loop.start()
    }

    public func setReply(_ bytes: [UInt8]) { state.withLock { $0.reply = bytes } }
    public var accepted: Int { state.withLock { $0.accepted } }
    public var receivedBytes: Int { state.withLock { $0.received } }

    public func stop() {
        loop.stop()
        loop.join()
    }
}
