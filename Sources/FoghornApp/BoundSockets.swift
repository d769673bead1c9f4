import FoghornConfig
import FoghornHTTP

/// Every socket a server listens on, bound on the starting thread before any loop runs, so a
/// busy port fails start-up with a clear error (`cannot bind 127.0.0.1:18009: Address already in
/// use`). One `SO_REUSEPORT` socket per data loop for the viewer and HTTPS listeners, one for
/// the internal listener, one for peers when peers are configured, one for the edge API with
/// `edge_listen`. If any bind fails, those
/// already bound are closed and the error is thrown; a later start-up failure calls
/// ``closeUnused()``.
struct BoundSockets {
    var viewer: [ListeningSocket] = []
    var https: [ListeningSocket] = []
    var internalListener: ListeningSocket!
    var peer: ListeningSocket?
    /// The public edge API (`edge_listen`), when configured.
    var edge: ListeningSocket?

    static func bind(_ config: FoghornConfiguration, loops: Int, https: Bool) throws -> BoundSockets {
        var bound = BoundSockets()
        do {
            bound.viewer = try bindPerLoop(config.httpListen, loops: loops)
            bound.internalListener = try ListeningSocket.bind(host: config.internalListen.host, port: config.internalListen.port, reusePort: false)
            if https { bound.https = try bindPerLoop(config.httpsListen, loops: loops) }
            // The peer listener exists only when peers are configured (unlisted clusters are refused anyway).
            if !config.peers.isEmpty {
                bound.peer = try ListeningSocket.bind(host: config.peerListen.host, port: config.peerListen.port, reusePort: false)
            }
            if let edge = config.edgeListen {
                bound.edge = try ListeningSocket.bind(host: edge.host, port: edge.port, reusePort: false)
            }
        } catch {
            bound.closeUnused()
            throw error
        }
        return bound
    }

    /// `loops` sockets on one port (the first picks it when the port is 0).
    private static func bindPerLoop(_ address: ListenAddress, loops: Int) throws -> [ListeningSocket] {
        var sockets: [ListeningSocket] = []
        do {
            let first = try ListeningSocket.bind(host: address.host, port: address.port, reusePort: true)
            sockets.append(first)
            for _ in 1..<max(loops, 1) { sockets.append(try ListeningSocket.bind(host: address.host, port: first.port, reusePort: true)) }
        } catch {
            for s in sockets { s.closeUnused() }
            throw error
        }
        return sockets
    }

    /// Closes every socket no listener took over (start-up failed).
    func closeUnused() {
        for s in viewer + https { s.closeUnused() }
        internalListener?.closeUnused()
        peer?.closeUnused()
        edge?.closeUnused()
    }
}
