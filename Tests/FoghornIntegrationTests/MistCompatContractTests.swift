import FoghornConfig
import FoghornApp
import Foundation
import Testing
import FoghornJSON
import FoghornTesting

/// MistUtilLoad's API, one table row per query form: status, content type, exact body
/// (or a predicate on it) against the contract in shared/reference/mistutilload.md.
@Suite(.serialized) struct MistCompatContractTests {
    struct Row: Sendable, CustomStringConvertible {
        var listener: String  // "viewer" or "internal"
        var path: String
        var status: Int
        var body: String?  // exact, or nil when `check` decides
        var check: (@Sendable (String) -> Bool)?
        var description: String { "\(listener) \(path)" }
    }

    static let rows: [Row] = [
        Row(listener: "viewer", path: "/live+foo?lat=52.3&lon=4.8", status: 200, body: "127.0.0.6"),
        Row(listener: "viewer", path: "/live+foo?lat=40.7&lon=-74", status: 200, body: "127.0.0.7"),
        Row(listener: "viewer", path: "/live+foo?lat=52.3&lon=4.8&proto=HLS&a=1", status: 307,
            body: "http://127.0.0.6:8080/hls/live+foo/index.m3u8?a=1"),
        Row(listener: "viewer", path: "/live+foo?proto=nonexistent", status: 404, body: nil, check: { $0.contains("PROTOCOL_NOT_AVAILABLE") }),
        Row(listener: "viewer", path: "/favicon.ico", status: 404, body: nil, check: { $0.contains("NOT_FOUND") }),
        Row(listener: "viewer", path: "/-bad-name", status: 400, body: nil, check: { $0.contains("INVALID_STREAM_NAME") }),
        Row(listener: "internal", path: "/?weights=%7B%7D", status: 200, body: #"{"cpu":500,"ram":500,"bw":1000,"geo":1000,"bonus":50}"#),
        Row(listener: "internal", path: "/?lstserver=1", status: 200, body: nil, check: { $0.contains("Monitored (online)") }),
        Row(listener: "internal", path: "/?source=live+foo", status: 200, body: "dtsc://127.0.0.6"),
        // Foghorn's redirect=1: a 302 to the source (its URL also the body); none → the fallback, 200.
        Row(listener: "internal", path: "/?source=live+foo&redirect=1", status: 302, body: "dtsc://127.0.0.6"),
        Row(listener: "internal", path: "/?source=live+none&redirect=1", status: 200, body: "FULL"),
        Row(listener: "internal", path: "/?source=live+none", status: 200, body: "FULL"),
        Row(listener: "internal", path: "/?source=live+none&fallback=push://", status: 200, body: "push://"),
        Row(listener: "internal", path: "/?ingest=10", status: 200, body: nil, check: { $0 == "127.0.0.6" || $0 == "127.0.0.7" }),
        Row(listener: "internal", path: "/?ingest=99", status: 200, body: "FULL"),
        Row(listener: "internal", path: "/?stream=live+foo", status: 200, body: "7"),
        Row(listener: "internal", path: "/?viewers=1", status: 200, body: nil, check: { (try? JSONParser.parse($0))?["live+foo"] == .int(7) }),
        // [viewers, bytes/s per viewer, cumulative bytes up, cumulative bytes down] (both nodes' `bw` summed).
        Row(listener: "internal", path: "/?streamstats=*", status: 200, body: #"{"live+foo":[7,0,1000000,250000]}"#),
        Row(listener: "internal", path: "/?streamstats=live", status: 200, body: #"{"live+foo":[7,0,1000000,250000]}"#),
        Row(listener: "internal", path: "/?streamstats=live+bar", status: 200, body: "{}"),
        Row(listener: "internal", path: "/?host=127.0.0.6", status: 200, body: nil,
            check: { s in (try? JSONParser.parse(s)).map { $0["cpu"] != nil && $0["score"] != nil } ?? false }),
        Row(listener: "internal", path: "/?delserver=203.0.113.250", status: 200,
            body: "Server not monitored - could not delete from monitored server list!"),
    ]

    @Test func everyQueryFormAnswersAsTheContractSays() throws {
        let eu = try FakeMistNode(host: "127.0.0.6", document: FakeMistNode.document(
            cpu: 200, lat: 52.37, lon: 4.9, streams: [("live+foo", 5, 1, 600_000, false)]))
        let us = try FakeMistNode(host: "127.0.0.7", document: FakeMistNode.document(
            cpu: 200, lat: 40.7, lon: -74.0, streams: [("live+foo", 2, 0, 400_000, true)]))
        defer { eu.stop(); us.stop() }
        let server = try RoutingTests.start { c in
            c.mistNodes = [eu.address, us.address]
            c.mistPollIntervalS = 1
        }
        defer { server.stopNow() }
        #expect(try MistTests.waitFor {
            let list = try JSONParser.parse(try RoutingTests.call(server.internalPort, "GET", "/?lstserver=1", token: nil).body)
            return list[eu.address] == .string("Monitored (online)") && list[us.address] == .string("Monitored (online)")
        })
        RoutingTests.settle()  // the coalesced snapshot rebuild after the polls
        for row in Self.rows {
            let port = row.listener == "viewer" ? server.httpPort : server.internalPort
            let r = try RoutingTests.call(port, "GET", row.path, token: nil)
            #expect(r.status == row.status, "\(row)")
            #expect(r.header("Content-Length") == String(r.body.count), "\(row)")
            if let body = row.body {
                #expect(r.bodyText == body, "\(row): \(r.bodyText)")
            } else if let check = row.check {
                #expect(check(r.bodyText), "\(row): \(r.bodyText)")
            }
            if row.listener == "internal" && row.status == 200 {
                #expect(r.header("Content-Type") == "text/plain; charset=utf-8", "\(row)")
            }
        }
    }
}
