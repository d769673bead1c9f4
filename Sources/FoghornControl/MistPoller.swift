import Logging
public import FoghornHTTP
import FoghornJSON
public import FoghornModel

/// Polls MistServer nodes directly (MistUtilLoad's contract): every
/// `poll_interval_s`, `GET http://host:port/<passphrase>.json` with our
/// non-blocking client — connect and total deadlines, a size cap, no thread
/// per node. A good answer updates the node's edge; a failure marks it
/// `poll_failed` with the reason (it leaves routing) and retries with capped
/// exponential backoff and jitter. Runs on the control loop only.
public final class MistPoller: @unchecked Sendable {
    public struct NodeStatus: Sendable {
        public var address: MistNodeAddress
        public var state: String            // "starting", "online", "error"
        public var lastError: String
        public var polls: UInt64
        public var failures: UInt64
        public var consecutiveFailures: Int
        public var nextAttemptMs: UInt64
        public var lastSampleMs: UInt64
    }

    unowned let plane: ControlPlane  // the plane owns this; a strong reference would be a cycle
    public let passphrase: String
    public let intervalMs: UInt64
    private(set) public var nodes: [String: NodeStatus] = [:]
    private var samples: [String: MistSample] = [:]
    /// The refusals last logged per node (a node repeating the same bad document is logged once).
    private var loggedRejections: [String: String] = [:]
    private var inFlight: [String: HTTPFetch] = [:]
    private var timer: LoopTimer?
    /// Poll outcomes by reason (`ok`, `connect_failed`, `timeout`, …), for metrics.
    public private(set) var outcomes: [String: UInt64] = [:]
    public static let outcomeLabels = ["ok", "resolve_failed", "connect_failed", "connect_timeout", "timeout", "too_large",
                                       "closed_early", "malformed_response", "http_status", "invalid_document"]
    private var rng = UInt64(truncatingIfNeeded: ControlPlane.monotonicNs()) | 1

    /// Stream `name`'s cumulative bytes (up, down) as node `id` last reported them (MistServer's
    /// `streams.<name>.bw`); nil when the node is not polled or does not carry the stream.
    public func streamBytes(node id: String, stream name: String) -> (up: UInt64, down: UInt64)? {
        guard let st = samples[id]?.streams[name] else { return nil }
        return (st.upTotal, st.downTotal)
    }

    /// Time of each poll, answered (`ok`) or not (`failed`: refused, timed out, not HTTP 200).
    public let durations = LatencyHistogram(labels: ["ok", "failed"])

    init(plane: ControlPlane, passphrase: String, intervalS: Int) {
        self.plane = plane
        self.passphrase = passphrase
        intervalMs = UInt64(intervalS) * 1000
    }

    func start() {
        timer = LoopTimer(loop: plane.loop) { [unowned self] in tick() }
        timer?.start(afterMs: 50, repeatMs: 250)
    }

    func stop() {
        timer?.close()
        for fetch in inFlight.values { fetch.cancel() }
        inFlight.removeAll()
    }

    /// Adds a node (idempotent by node ID); returns false when it was already monitored.
    @discardableResult
    public func add(_ address: MistNodeAddress) -> Bool {
        let id = address.nodeId
        guard nodes[id] == nil else { return false }
        nodes[id] = NodeStatus(address: address, state: "starting", lastError: "", polls: 0, failures: 0,
                               consecutiveFailures: 0, nextAttemptMs: 0, lastSampleMs: 0)
        var edge = EdgeState(nodeId: id)
        edge.isStatic = true  // configured: never evicted; routing follows poll health
        edge.pollError = "starting"
        edge.bwLimitBytesPerSec = address.bandwidthLimitBytesPerSec ?? MistSample.defaultBandwidthLimit
        let hostPart = address.host.contains(":") ? "[\(address.host)]" : address.host
        edge.baseURL = "http://\(hostPart)/"
        plane.upsertEdge(edge)
        return true
    }

    /// Stops monitoring (cancels an in-flight poll at once, even a stalled one).
    @discardableResult
    public func remove(_ nodeId: String) -> Bool {
        guard nodes.removeValue(forKey: nodeId) != nil else { return false }
        inFlight.removeValue(forKey: nodeId)?.cancel()
        samples.removeValue(forKey: nodeId)
        loggedRejections.removeValue(forKey: nodeId)
        _ = plane.removeEdge(nodeId)
        return true
    }

    private func tick() {
        let now = ControlPlane.monotonicMs()
        for (id, status) in nodes where inFlight[id] == nil && now >= status.nextAttemptMs {
            poll(id, status.address, now: now)
        }
    }

    private func poll(_ id: String, _ address: MistNodeAddress, now: UInt64) {
        var options = HTTPFetch.Options()
        options.connectTimeoutMs = min(2000, max(intervalMs / 2, 250))
        options.totalTimeoutMs = min(4000, max(intervalMs, 500))
        options.maxResponseBytes = 8 << 20
        nodes[id]?.nextAttemptMs = now + intervalMs
        let startedNs = LatencyHistogram.nowNs()
        let fetch = HTTPFetch.get(on: plane.loop, host: address.host, port: address.port, path: "/\(passphrase).json", options: options) {
            [unowned self] result in
            inFlight.removeValue(forKey: id)
            guard nodes[id] != nil else { return }  // removed meanwhile
            if case .success(let r) = result, r.status == 200 {
                durations.record(label: 0, ns: LatencyHistogram.nowNs() &- startedNs)
            } else if case .failure(let e) = result, e == .cancelled {
            } else {
                durations.record(label: 1, ns: LatencyHistogram.nowNs() &- startedNs)
            }
            switch result {
            case .success(let response):
                guard response.status == 200 else { return failed(id, "http_status", "HTTP \(response.status)") }
                do throws(MistSample.Invalid) {
                    guard let json = try? JSONParser.parse(response.body) else { return failed(id, "invalid_document", "body is not JSON") }
                    let sample = try MistSample.parse(json)
                    succeeded(id, sample)
                } catch {
                    failed(id, "invalid_document", error.description)
                }
            case .failure(let error):
                if error == .cancelled { return }
                failed(id, error.reason, error.description)
            }
        }
        inFlight[id] = fetch
    }

    private func succeeded(_ id: String, _ sample: MistSample) {
        guard var status = nodes[id], var edge = plane.edges[id] else { return }
        let now = ControlPlane.monotonicMs()
        let previous = samples[id]
        sample.apply(to: &edge, previous: previous, elapsedMs: previous == nil ? 0 : now - status.lastSampleMs,
                     address: status.address, nowMs: now, names: plane.builder.names)
        samples[id] = sample
        if !sample.rejected.isEmpty {
            plane.countRejectedInput(source: .mist, sample.rejected.count)
            let summary = sample.rejected.map { "\($0.field): \($0.problem)" }.joined(separator: "; ")
            if loggedRejections[id] != summary {
                loggedRejections[id] = summary
                plane.logger.warning("MistServer document: values refused", metadata: [
                    "node": "\(id)", "refused": "\(sample.rejected.count)", "first": "\(sample.rejected[0].field): \(sample.rejected[0].problem)",
                ])
            }
        } else {
            loggedRejections[id] = nil
        }
        status.state = "online"
        status.lastError = ""
        status.polls += 1
        status.consecutiveFailures = 0
        status.lastSampleMs = now
        nodes[id] = status
        outcomes["ok", default: 0] += 1
        plane.upsertEdge(edge)
    }

    private func failed(_ id: String, _ reason: String, _ detail: String) {
        guard var status = nodes[id] else { return }
        status.state = "error"
        status.lastError = "\(reason): \(detail)"
        status.polls += 1
        status.failures += 1
        status.consecutiveFailures += 1
        // Capped exponential backoff with ±20 % jitter: interval, 2×, 4× … at most 60 s.
        let exponent = min(status.consecutiveFailures - 1, 6)
        var delay = min(intervalMs << UInt64(exponent), 60_000)
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        let jitter = Double(rng >> 11) / Double(1 << 53) * 0.4 - 0.2
        delay = UInt64(Double(delay) * (1 + jitter))
        status.nextAttemptMs = ControlPlane.monotonicMs() + max(delay, 100)
        nodes[id] = status
        outcomes[reason, default: 0] += 1
        if var edge = plane.edges[id] {
            edge.pollError = status.lastError
            plane.upsertEdge(edge)
        }
        // The previous counters stay: the next good poll computes rates over the whole gap.
    }
}
