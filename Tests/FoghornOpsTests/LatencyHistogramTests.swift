import Testing
import FoghornHTTP

@Suite struct LatencyHistogramTests {
    @Test func boundsAreInclusiveAndTheLastBucketTakesTheRest() {
        let h = LatencyHistogram(labels: ["a", "b"])
        h.record(label: 0, ns: 50_000)        // exactly 50 µs: le="5e-05"
        h.record(label: 0, ns: 50_001)        // just above: le="0.0001"
        h.record(label: 0, ns: 0)
        h.record(label: 0, ns: 11_000_000_000) // 11 s: above every bound
        h.record(label: 1, ns: 1_000_000)
        let a = h.snapshot(label: 0)
        #expect(a.buckets[0] == 2 && a.buckets[1] == 1 && a.buckets.last == 1)
        #expect(a.count == 4)
        #expect(a.sumNs == 50_000 + 50_001 + 11_000_000_000)
        #expect(h.snapshot(label: 1).count == 1)
        var merged = a
        merged.merge(h.snapshot(label: 1))
        #expect(merged.count == 5)
        var out = ""
        LatencyHistogram.render(&out, name: "x_seconds", fixedLabels: "listener=\"v\"", labelName: "outcome", values: [("2xx", a)])
        #expect(out.contains("x_seconds_bucket{listener=\"v\",outcome=\"2xx\",le=\"5e-05\"} 2\n"))
        #expect(out.contains("x_seconds_bucket{listener=\"v\",outcome=\"2xx\",le=\"0.0001\"} 3\n"))
        #expect(out.contains("x_seconds_bucket{listener=\"v\",outcome=\"2xx\",le=\"10.0\"} 3\n"))
        #expect(out.contains("x_seconds_bucket{listener=\"v\",outcome=\"2xx\",le=\"+Inf\"} 4\n"))
        #expect(out.contains("x_seconds_count{listener=\"v\",outcome=\"2xx\"} 4\n"))
    }
}
