import Foundation
import Testing
import FoghornApp
import FoghornHTTP
import FoghornJSON
import FoghornOps
import FoghornTesting

/// What Prometheus and Grafana see: /metrics passes promtool's lint with latency histograms,
/// process metrics and edges by state; the shipped alert rules load; every metric the rules and
/// the dashboard query is one Foghorn documents.
@Suite struct ObservabilityTests {
    static let root = ShippingTests.root

    @Test func metricsLintCleanWithHistogramsProcessMetricsAndEdgesByState() throws {
        let server = try RoutingTests.start()
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        _ = try RoutingTests.idleAndBusy(ip, playback: "pm")
        let (stale, _) = try RoutingTests.enroll(ip)  // never reports
        _ = stale
        for _ in 0..<7 { #expect(try RoutingTests.call(vp, "GET", "/play/pm/hls/index.m3u8", token: nil).status == 307) }
        for _ in 0..<3 { #expect(try RoutingTests.call(vp, "GET", "/play/unknown-id/hls/index.m3u8", token: nil).status == 404) }
        let text = try RoutingTests.call(ip, "GET", "/metrics").bodyText
        let lint = try ShippingTests.run("/usr/bin/promtool", ["check", "metrics"], input: text)
        #expect(lint.status == 0, "\(lint.output)")
        #expect(lint.output.isEmpty, "\(lint.output)")
        func value(_ series: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        #expect(value(#"foghorn_http_request_duration_seconds_count{listener="viewer",outcome="3xx"}"#) == 7)
        #expect(value(#"foghorn_http_request_duration_seconds_count{listener="viewer",outcome="4xx"}"#) == 3)
        #expect(value(#"foghorn_http_request_duration_seconds_bucket{listener="viewer",outcome="3xx",le="+Inf"}"#) == 7)
        #expect((value(#"foghorn_http_request_duration_seconds_sum{listener="viewer",outcome="3xx"}"#) ?? 0) > 0)
        // Buckets are cumulative.
        let buckets = LatencyHistogram.boundsSeconds.map { value("foghorn_http_request_duration_seconds_bucket{listener=\"viewer\",outcome=\"3xx\",le=\"\($0)\"}") ?? -1 }
        #expect(buckets == buckets.sorted() && buckets.allSatisfy { $0 >= 0 })
        #expect(value(#"foghorn_edges{state="routable"}"#) == 2)
        #expect(value(#"foghorn_edges{state="stale"}"#) == 1)
        #expect((value("process_open_fds") ?? 0) > 0)
        #expect((value("process_resident_memory_bytes") ?? 0) > 1_000_000)
        #expect((value("process_max_fds") ?? 0) >= (value("process_open_fds") ?? 0))
        #expect(value("foghorn_build_info{version=\"\(FoghornVersion.string)\",commit=\"\(FoghornVersion.commit)\"}") == 1)
    }

    @Test func theAlertRulesLoad() throws {
        let r = try ShippingTests.run("/usr/bin/promtool", ["check", "rules", Self.root + "/deploy/prometheus/alerts.yaml"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("SUCCESS"))
    }

    @Test func rulesAndDashboardQueryOnlyDocumentedMetrics() throws {
        let operations = OperationsDocTests.operations
        let alerts = try String(contentsOfFile: Self.root + "/deploy/prometheus/alerts.yaml", encoding: .utf8)
        let dashboardText = try String(contentsOfFile: Self.root + "/deploy/grafana/foghorn.json", encoding: .utf8)
        let dashboard = try JSONParser.parse(Array(dashboardText.utf8))
        #expect(dashboard["panels"]?.arrayValue?.isEmpty == false)
        var exprs = [alerts]
        for panel in dashboard["panels"]?.arrayValue ?? [] {
            for target in panel["targets"]?.arrayValue ?? [] { exprs.append(target["expr"]?.stringValue ?? "") }
        }
        var names: Set<String> = []
        for text in exprs {
            for m in text.matches(of: /(foghorn|process)_[a-z_]+/) { names.insert(String(m.output.0)) }
        }
        #expect(names.count >= 15)
        // The dashboard's PromQL parses: promtool checks it as recording rules (Grafana's
        // variables replaced by what they stand for).
        var rules = "groups:\n  - name: dashboard\n    rules:\n"
        for (i, expr) in exprs.dropFirst().enumerated() {
            let plain = expr.replacingOccurrences(of: "$__rate_interval", with: "5m").replacingOccurrences(of: "$instance", with: ".*")
            rules += "      - record: dashboard:expr\(i)\n        expr: \(JSONValue.string(plain).jsonText)\n"
        }
        let file = try ShippingTests.scratch("dashboard-rules.yaml", rules)
        let check = try ShippingTests.run("/usr/bin/promtool", ["check", "rules", file])
        #expect(check.status == 0, "\(check.output)")
        for name in names {
            var base = name
            for suffix in ["_bucket", "_sum", "_count"] where base.hasSuffix(suffix) && name.contains("duration") { base = String(base.dropLast(suffix.count)) }
            #expect(operations.contains("`\(base)`"), "\(name) is queried but not a documented metric")
        }
    }
}
