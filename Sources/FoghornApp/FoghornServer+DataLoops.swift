import CFoghornShims
import FoghornConfig
import FoghornControl
import FoghornGeo
import FoghornModel
import FoghornRouting
import FoghornHTTP
import FoghornHTTPCore
import FoghornOps
import Logging
import Synchronization
import FoghornSync
import FoghornTLS
#if canImport(Glibc)
import Glibc
#endif

/// A data loop's part of start-up: its event loop, the bridges from its viewer loop to the
/// control loop (playback resolver, peer queries) and its viewer listeners (plain, HTTPS).
extension FoghornServer {
    func startDataLoop(_ i: Int, plane: ControlPlane, settings: ViewerSettings, viewerSocket: ListeningSocket, httpsSocket: ListeningSocket?,
                       accessSink: LogSink?, markStarted: @escaping @Sendable () -> Void) {
        let controlLoop = self.controlLoop
        let loop = EventLoop(name: "data-\(i)")
        let context = HTTPLoopContext(loop: loop)
        dataLoops.append(loop)
        dataContexts.append(context)
        let socket = viewerSocket
        let options = viewerOptions
        let viewerLoop = viewerLoops[i]
        if !config.resolverUrl.isEmpty {
            viewerLoop.resolverTimeoutMs = UInt64(config.resolverTimeoutMs)
            viewerLoop.requestResolution = Self.lookup(on: controlLoop, answerOn: loop, ask: { id, answer in
                guard let resolver = plane.playbackResolver else { return answer(.unavailable) }
                resolver.lookup(id) { outcome in
                    switch outcome {
                    case .found: answer(.found)
                    case .notFound: answer(.notFound)
                    case .unavailable: answer(.unavailable)
                    }
                }
            }, done: { id, outcome in viewerLoop.resolved(id, outcome) })
        }
        if config.peers.contains(where: { $0.mode == .onDemand && $0.cluster != config.clusterId }) {
            viewerLoop.peerQueryDeadlineMs = UInt64(config.peering.queryDeadlineMs)
            viewerLoop.peerNegativeTtlMs = UInt64(config.peering.negativeTtlS) * 1000
            viewerLoop.requestPeerQuery = Self.lookup(on: controlLoop, answerOn: loop, ask: { stream, answer in
                guard let peers = plane.peers else { return answer(false) }
                peers.query(stream: stream, answer)
            }, done: { stream, found in viewerLoop.peerQueryDone(stream, found: found) })
        }
        let tlsPublisher = tls?.publisher
        let proxyProtocolCheck = proxyProtocolPredicate
        loop.execute { [self] in
            let router = makeViewerRouter(viewerLoop: viewerLoop)
            let plainRouter = config.httpRedirectToHttps ? makeRedirectRouter() : router
            let listenerMetrics = ListenerMetrics(listenerName: "viewer", routeNames: plainRouter.routeNames)
            metrics.register(listenerMetrics)
            viewerLoop.start(on: loop)
            loop.addShutdownHook { viewerLoop.stop() }
            do {
                let listener = try HTTPListener(socket: socket, options: options, router: plainRouter, context: context, metrics: listenerMetrics,
                                                commonHeaders: settings.commonHeaders)
                listener.onAcceptError = { [acceptErrors] status in acceptErrors.record(listener: "viewer", status: status, nowMs: loop.nowMs) }
                listener.proxyProtocolFrom = proxyProtocolCheck
                let queue = accessSink?.makeQueue()
                if let queue {
                    listener.accessLogger = { request, status, _, ns in
                        queue.push(AccessLog.line(request, status: status, latencyNs: ns, loop: viewerLoop, timestamp: JSONLogHandler.timestamp()))
                    }
                }
                if let httpsSocket, let tlsPublisher {
                    let tlsMetrics = ListenerMetrics(listenerName: "viewer_https", routeNames: router.routeNames)
                    metrics.register(tlsMetrics)
                    let secure = try HTTPListener(socket: httpsSocket, options: options, router: router, context: context, metrics: tlsMetrics,
                                                  commonHeaders: settings.commonHeaders)
                    secure.proxyProtocolFrom = proxyProtocolCheck
                    secure.onAcceptError = { [acceptErrors] status in acceptErrors.record(listener: "viewer_https", status: status, nowMs: loop.nowMs) }
                    secure.tls = TLSContextReader(tlsPublisher)
                    secure.tlsHandshakeTimeoutMs = UInt64(config.tlsHandshakeTimeoutMs)
                    secure.accessLogger = listener.accessLogger
                    let counters = secure.tlsCounters
                    controlLoop.execute { [self] in tlsCounterSets.append(counters) }
                }
                markStarted()
            } catch {
                logger.critical("viewer listener failed", metadata: ["error": "\(error)"])
            }
        }
        loop.start()
    }

    /// A data loop's lookup through the control loop: `ask` runs there with a callback that
    /// hands its outcome back to `loop`, where `done` runs (the viewer loop resumes its parked
    /// viewers). One bridge for the resolver and the peers.
    static func lookup<Outcome: Sendable>(on control: EventLoop, answerOn loop: EventLoop,
                                          ask: @escaping (String, @escaping (Outcome) -> Void) -> Void,
                                          done: @escaping @Sendable (String, Outcome) -> Void) -> @Sendable (String) -> Void {
        nonisolated(unsafe) let ask = ask  // runs on the control loop only
        return { key in
            control.execute {
                ask(key) { outcome in loop.execute { done(key, outcome) } }
            }
        }
    }

    /// `proxy_protocol_from` as a check of a connection's peer address (nil: no PROXY protocol).
    var proxyProtocolPredicate: (@Sendable (String) -> Bool)? {
        guard !config.proxyProtocolFrom.isEmpty else { return nil }
        let balancers = ClientAddressResolver(trustedProxies: config.proxyProtocolFrom.compactMap(CIDRBlock.parse))
        return { peer in IPAddress.parse(peer).map(balancers.isTrusted) ?? false }
    }
}
