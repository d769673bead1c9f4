public import FoghornHTTP
import FoghornHTTPCore
import Synchronization
import FoghornSync

/// Knows every loop's ``ListenerMetrics`` and renders the Prometheus text
/// exposition by summing them at scrape time. Requests never touch it: each
/// loop writes only its own counters.
public final class MetricsRegistry: Sendable {
    private let listeners = Locked<[ListenerMetrics]>([])
    private let gauges = Locked<[(name: String, help: String, type: String, read: @Sendable () -> Double)]>([])
    private let families = Locked<[(name: String, help: String, type: String, label: String, values: [String], read: @Sendable (Int) -> UInt64)]>([])
    private let dynamic = Locked<[(name: String, help: String, type: String, label: String, read: @Sendable () -> [(String, Double)])]>([])
    public let version: String
    /// The git commit the binary was built from (`foghorn_build_info{commit}`).
    public let commit: String
    public let startTimeSeconds: Double

    public init(version: String, commit: String = "unknown", startTimeSeconds: Double) {
        self.version = version
        self.commit = commit
        self.startTimeSeconds = startTimeSeconds
    }

    public func register(_ metrics: ListenerMetrics) {
        listeners.withLock { $0.append(metrics) }
    }

    /// Adds a gauge read at scrape time (from the control loop).
    public func registerGauge(_ name: String, help: String, type: String = "gauge", read: @escaping @Sendable () -> Double) {
        gauges.withLock { $0.append((name, help, type, read)) }
    }

    /// Adds a labelled family read at scrape time; `read(i)` sums value `values[i]` over loops.
    public func registerFamily(_ name: String, help: String, type: String = "counter", label: String, values: [String], read: @escaping @Sendable (Int) -> UInt64) {
        families.withLock { $0.append((name, help, type, label, values, read)) }
    }

    private let histograms = Locked<[(name: String, help: String, labelName: String, histogram: LatencyHistogram)]>([])

    /// Adds a latency histogram written by one thread (a control-loop component: resolver, peers, Mist polls).
    public func registerHistogram(_ name: String, help: String, labelName: String, _ histogram: LatencyHistogram) {
        histograms.withLock { $0.append((name, help, labelName, histogram)) }
    }

    /// Adds a family whose label values are known only at scrape time (e.g. certificate names).
    public func registerDynamicFamily(_ name: String, help: String, type: String = "gauge", label: String, read: @escaping @Sendable () -> [(String, Double)]) {
        dynamic.withLock { $0.append((name, help, type, label, read)) }
    }

    /// Prometheus text format 0.0.4.
    public func render() -> String {
        let all = listeners.withLock { $0 }
        var out = ""
        out.reserveCapacity(8192)

        // Requests: sum over loops by (listener, route, class).
        header(&out, MetricNames.httpRequests, "HTTP requests answered, by listener, route and status class.", "counter")
        var requestTotals: [String: UInt64] = [:]
        var requestOrder: [String] = []
        for m in all {
            for (route, name) in m.routeNames.enumerated() {
                for cls in 1...5 {
                    let value = m.requests(route: route, statusClass: cls)
                    let labels = "{listener=\"\(m.listenerName)\",route=\"\(name)\",status=\"\(cls)xx\"}"
                    if requestTotals[labels] == nil { requestOrder.append(labels) }
                    requestTotals[labels, default: 0] += value
                }
            }
        }
        for labels in requestOrder where requestTotals[labels]! > 0 {
            out += "\(MetricNames.httpRequests)\(labels) \(requestTotals[labels]!)\n"
        }

        header(&out, MetricNames.httpRequestDuration, "Time to answer a request, from its complete head to its response in the output buffer (a parked request: until answered), by listener and outcome.", "histogram")
        for listener in listenerNames(all) {
            var values: [(String, LatencyHistogram.Snapshot)] = []
            for (k, outcome) in ListenerMetrics.outcomes.enumerated() {
                var merged = LatencyHistogram.Snapshot.empty()
                for m in all where m.listenerName == listener { merged.merge(m.durations.snapshot(label: k)) }
                if merged.count > 0 || outcome == "2xx" { values.append((outcome, merged)) }
            }
            LatencyHistogram.render(&out, name: MetricNames.httpRequestDuration, fixedLabels: "listener=\"\(listener)\"", labelName: "outcome", values: values)
        }
        for h in histograms.withLock({ $0 }) {
            header(&out, h.name, h.help, "histogram")
            LatencyHistogram.render(&out, name: h.name, fixedLabels: "", labelName: h.histogram.labels.isEmpty ? "" : h.labelName,
                                    values: h.histogram.labels.indices.map { (h.histogram.labels[$0], h.histogram.snapshot(label: $0)) })
        }

        header(&out, MetricNames.httpParseErrors, "Requests rejected before routing, by listener and reason.", "counter")
        for listener in listenerNames(all) {
            for error in HTTPParseError.allCases {
                let total = all.filter { $0.listenerName == listener }.reduce(UInt64(0)) { $0 + $1.parseErrors(error) }
                out += "\(MetricNames.httpParseErrors){listener=\"\(listener)\",reason=\"\(error.reason)\"} \(total)\n"
            }
        }

        header(&out, MetricNames.httpConnectionsOpen, "Open client connections, by listener.", "gauge")
        for listener in listenerNames(all) {
            let total = all.filter { $0.listenerName == listener }.reduce(UInt64(0)) { $0 + $1.open }
            out += "\(MetricNames.httpConnectionsOpen){listener=\"\(listener)\"} \(total)\n"
        }
        header(&out, MetricNames.httpConnectionsAccepted, "Client connections accepted, by listener.", "counter")
        for listener in listenerNames(all) {
            let total = all.filter { $0.listenerName == listener }.reduce(UInt64(0)) { $0 + $1.accepted }
            out += "\(MetricNames.httpConnectionsAccepted){listener=\"\(listener)\"} \(total)\n"
        }
        header(&out, MetricNames.httpAcceptPaused, "Times a loop stopped accepting because it reached max_connections_per_loop.", "counter")
        for listener in listenerNames(all) {
            let total = all.filter { $0.listenerName == listener }.reduce(UInt64(0)) { $0 + $1.pausedAtCap }
            out += "\(MetricNames.httpAcceptPaused){listener=\"\(listener)\"} \(total)\n"
        }
        header(&out, MetricNames.proxyProtocolRejected, "Connections closed unanswered on a PROXY-protocol listener: from an address not in proxy_protocol_from, a malformed header, or none in time.", "counter")
        for listener in listenerNames(all) {
            for (r, reason) in ListenerMetrics.proxyRejectReasons.enumerated() {
                let total = all.filter { $0.listenerName == listener }.reduce(UInt64(0)) { $0 + $1.proxyRejected(reason: r) }
                if total > 0 || listener.hasPrefix("viewer") {
                    out += "\(MetricNames.proxyProtocolRejected){listener=\"\(listener)\",reason=\"\(reason)\"} \(total)\n"
                }
            }
        }
        header(&out, MetricNames.httpAcceptErrors, "Connections the kernel had but accept() could not take (out of descriptors: emfile, enfile).", "counter")
        for listener in listenerNames(all) {
            for (r, reason) in ListenerMetrics.acceptErrorReasons.enumerated() {
                let total = all.filter { $0.listenerName == listener }.reduce(UInt64(0)) { $0 + $1.acceptErrors(reason: r) }
                out += "\(MetricNames.httpAcceptErrors){listener=\"\(listener)\",reason=\"\(reason)\"} \(total)\n"
            }
        }

        for family in families.withLock({ $0 }) {
            header(&out, family.name, family.help, family.type)
            for (i, value) in family.values.enumerated() {
                out += "\(family.name){\(family.label)=\"\(value)\"} \(family.read(i))\n"
            }
        }
        for family in dynamic.withLock({ $0 }) {
            header(&out, family.name, family.help, family.type)
            for (value, number) in family.read() {
                let escaped = value.replacingAll("\\", "\\\\").replacingAll("\"", "\\\"").replacingAll("\n", "\\n")
                out += "\(family.name){\(family.label)=\"\(escaped)\"} \(format(number))\n"
            }
        }
        for gauge in gauges.withLock({ $0 }) {
            header(&out, gauge.name, gauge.help, gauge.type)
            out += "\(gauge.name) \(format(gauge.read()))\n"
        }
        header(&out, MetricNames.buildInfo, "Build information.", "gauge")
        out += "\(MetricNames.buildInfo){version=\"\(version)\",commit=\"\(commit)\"} 1\n"
        header(&out, MetricNames.startTime, "Start time of the process since the Unix epoch in seconds.", "gauge")
        out += "\(MetricNames.startTime) \(format(startTimeSeconds))\n"
        return out
    }

    private func listenerNames(_ all: [ListenerMetrics]) -> [String] {
        var seen: [String] = []
        for m in all where !seen.contains(m.listenerName) { seen.append(m.listenerName) }
        return seen
    }

    private func header(_ out: inout String, _ name: String, _ help: String, _ type: String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    private func format(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

extension String {
    fileprivate func replacingAll(_ target: String, _ replacement: String) -> String {
        guard contains(target) else { return self }
        var out = ""
        var rest = self[...]
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
