import Testing
import FoghornModel

@Suite struct EdgeWarningsTests {
    static func reported() -> EdgeState {
        var e = EdgeState(nodeId: "n1")
        e.lastReportMs = 1000
        e.ramMaxBytes = 8000
        e.bwLimitBytesPerSec = 1000
        e.baseURL = "https://n1.example/"
        e.lat = 52.37
        e.lon = 4.9
        e.resolveURLs()
        return e
    }

    @Test func aCompleteEdgeIsRoutableWithOnlyNotes() {
        let w = EdgeWarnings(Self.reported(), staleness: StalenessPolicy(), nowMs: 2000)
        #expect(w.isRoutable)
        #expect(w.blocking.isEmpty)
        #expect(w.notes == ["no_streams: reports no streams: viewers are sent only to edges that carry their stream"])
    }

    @Test func eachProblemNamesItsReason() {
        var e = Self.reported()
        e.ramMaxBytes = 0
        e.bwLimitBytesPerSec = 0
        e.baseURL = ""
        e.resolveURLs()
        e.mode = .draining
        e.capabilities = [.ingest]
        e.tenant = "t1"
        e.lat = .nan
        let w = EdgeWarnings(e, staleness: StalenessPolicy(staleAfterMs: 90_000), nowMs: 1000 + 95_000)
        #expect(w.blocking.map { $0.prefix(while: { $0 != ":" }) } == ["draining", "stale", "no_metrics", "no_metrics", "capability", "no_urls"])
        #expect(w.blocking[1] == "stale: no report for 95 s (edges leave routing after 90 s without one)")
        #expect(w.notes.map { $0.prefix(while: { $0 != ":" }) } == ["no_streams", "tenant", "no_position"])
    }

    @Test func neverReportedAndFullEdges() {
        var e = Self.reported()
        e.lastReportMs = nil
        e.upBytesPerSec = 1000
        let w = EdgeWarnings(e, staleness: StalenessPolicy(), nowMs: 10)
        #expect(w.blocking == ["stale: no report yet since enrolment or restart (the next report brings it in)",
                               "bandwidth_exhausted: up_bytes_per_sec (+ redirects in flight) reaches bw_limit_bytes_per_sec"])
    }
}
