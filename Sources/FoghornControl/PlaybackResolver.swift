import Logging
public import FoghornHTTP
import FoghornJSON
import FoghornModel

/// What a playback lookup found.
public enum ResolveOutcome: Sendable, Equatable {
    /// The record is in the routing snapshot (published before the completion runs).
    case found
    case notFound
    /// The resolver failed and nothing usable is cached.
    case unavailable
}

/// The upstream playback resolver client (control loop only): `GET <url>/v1/playback/<id>`
/// → `{"stream", "tenant"?, "cluster"?}`, 404 = unknown. Single-flight per ID, a deadline
/// per lookup, positive records cached for `resolver_ttl_s` then refreshed in the
/// background and served `resolver_stale_s` longer (also while the resolver fails),
/// unknown IDs cached for `resolver_negative_ttl_s`.
public final class PlaybackResolver: @unchecked Sendable {
    struct Entry {
        var found: Bool
        var fetchedAtMs: UInt64
    }

    unowned let plane: ControlPlane  // the plane owns this; a strong reference would be a cycle
    let address: ResolverAddress
    let timeoutMs: UInt64
    let ttlMs: UInt64
    let staleMs: UInt64
    let negativeMs: UInt64
    private var cache: [String: Entry] = [:]
    private var inflight: [String: [(ResolveOutcome) -> Void]] = [:]
    /// Lookups by outcome: hit, miss (fetched), negative (cached unknown), stale (served stale), error.
    public private(set) var counts: [String: UInt64] = [:]
    public static let outcomeLabels = ["hit", "fetched", "not_found", "negative_hit", "stale", "error"]
    /// Time of each request to the resolver, by its outcome.
    public let durations = LatencyHistogram(labels: ["fetched", "not_found", "error"])
    public private(set) var fetches: UInt64 = 0
    /// Keep-alive connections to the resolver (plain or TLS).
    let pool: HTTPClientPool
    public var connectionsOpened: UInt64 { pool.connectionsOpened }

    init(plane: ControlPlane, address: ResolverAddress, config: FoghornConfigurationLike) {
        self.plane = plane
        self.address = address
        pool = HTTPClientPool(loop: plane.loop)
        if !config.caFile.isEmpty { pool.caFile = config.caFile }
        timeoutMs = UInt64(config.timeoutMs)
        ttlMs = UInt64(config.ttlS) * 1000
        staleMs = UInt64(config.staleS) * 1000
        negativeMs = UInt64(config.negativeTtlS) * 1000
    }

    /// Answers from the cache or asks the resolver (single-flight); `completion` runs on the control loop.
    public func lookup(_ id: String, _ completion: @escaping (ResolveOutcome) -> Void) {
        let now = ControlPlane.monotonicMs()
        if let e = cache[id] {
            let age = now &- e.fetchedAtMs
            if e.found && age < ttlMs + staleMs && plane.playback[id] != nil {
                counts["hit", default: 0] += 1
                if plane.publisher.snapshot.playbackIndex(id) != nil {
                    completion(.found)
                } else {
                    // Fetched a moment ago but not published yet: answer with the snapshot that has it.
                    plane.afterNextPublish { completion(.found) }
                }
                if age >= ttlMs { refresh(id) }
                return
            }
            if !e.found && age < negativeMs {
                counts["negative_hit", default: 0] += 1
                completion(.notFound)
                return
            }
        }
        if inflight[id] != nil {
            inflight[id]!.append(completion)
            return
        }
        inflight[id] = [completion]
        fetch(id)
    }

    /// Background refresh of an aging record (single-flight with viewer lookups).
    func refresh(_ id: String) {
        guard inflight[id] == nil else { return }
        inflight[id] = []
        fetch(id)
    }

    func stop() { pool.closeAll() }

    /// Once a second: refresh aging records, forget expired ones.
    func sweep() {
        let now = ControlPlane.monotonicMs()
        for (id, e) in cache {
            let age = now &- e.fetchedAtMs
            if e.found {
                if age >= ttlMs + staleMs {
                    cache.removeValue(forKey: id)
                    _ = plane.removePlayback(id)
                } else if age >= ttlMs {
                    refresh(id)
                }
            } else if age >= negativeMs {
                cache.removeValue(forKey: id)
            }
        }
    }

    private func fetch(_ id: String) {
        fetches += 1
        var options = HTTPClientPool.Options()
        options.timeoutMs = timeoutMs
        options.maxResponseBytes = 64 << 10
        let startedNs = LatencyHistogram.nowNs()
        pool.get(HTTPClientPool.Origin(host: address.host, port: address.port, tls: address.tls),
                 path: "\(address.basePath)/v1/playback/\(id)", options: options) {
            [unowned self] result in
            let waiters = inflight.removeValue(forKey: id) ?? []
            let now = ControlPlane.monotonicMs()
            let elapsedNs = LatencyHistogram.nowNs() &- startedNs
            switch result {
            case .success(let r) where r.status == 200: durations.record(label: 0, ns: elapsedNs)
            case .success(let r) where r.status == 404: durations.record(label: 1, ns: elapsedNs)
            default: durations.record(label: 2, ns: elapsedNs)
            }
            switch result {
            case .success(let r) where r.status == 200:
                guard let json = try? JSONParser.parse(r.body), let stream = json["stream"]?.stringValue, !stream.isEmpty else {
                    return failed(id, waiters)
                }
                let tenant = json["tenant"]?.stringValue ?? "", cluster = json["cluster"]?.stringValue ?? ""
                // Validated at the door like an API PUT: the name goes into URLs and logs.
                if let problem = InputRules.streamNameProblem(stream).map({ "stream: \($0)" })
                    ?? InputRules.textProblem(tenant, maxBytes: 128).map({ "tenant: \($0)" })
                    ?? InputRules.textProblem(cluster, maxBytes: 128).map({ "cluster: \($0)" }) {
                    plane.countRejectedInput(source: .resolver)
                    plane.logger.warning("resolver answer refused", metadata: ["playback_id": "\(id)", "problem": "\(problem)"])
                    return failed(id, waiters)
                }
                let record = PlaybackRecord(playbackId: id, stream: stream, tenant: tenant, cluster: cluster)
                cache[id] = Entry(found: true, fetchedAtMs: now)
                counts["fetched", default: 0] += 1
                if plane.playback[id] == record && plane.publisher.snapshot.playbackIndex(id) != nil {
                    for w in waiters { w(.found) }
                } else {
                    plane.setPlayback(record)
                    plane.afterNextPublish { for w in waiters { w(.found) } }
                }
            case .success(let r) where r.status == 404:
                cache[id] = Entry(found: false, fetchedAtMs: now)
                counts["not_found", default: 0] += 1
                if plane.playback[id] != nil, !plane.isStaticPlayback(id) { _ = plane.removePlayback(id) }
                for w in waiters { w(.notFound) }
            default:
                failed(id, waiters)
            }
        }
    }

    private func failed(_ id: String, _ waiters: [(ResolveOutcome) -> Void]) {
        counts["error", default: 0] += 1
        // Stale-if-error: a record still within its stale window keeps being served.
        if let e = cache[id], e.found, plane.playback[id] != nil, ControlPlane.monotonicMs() &- e.fetchedAtMs < ttlMs + staleMs {
            counts["stale", default: 0] += 1
            for w in waiters { w(.found) }
            return
        }
        for w in waiters { w(.unavailable) }
    }
}

/// The resolver's settings (kept apart from the whole configuration).
struct FoghornConfigurationLike {
    var caFile: String
    var timeoutMs: Int
    var ttlS: Int
    var staleS: Int
    var negativeTtlS: Int
}
