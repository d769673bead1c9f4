import Testing
@testable import FoghornHTTPCore

@Suite struct RateLimiterTests {
    @Test func aKeyGetsItsBurstThenOneTokenPerRefill() {
        var r = RateLimiter(capacity: 64, policy: .init(perMinute: 60, burst: 3), seed: 7)
        for _ in 0..<3 { #expect(r.take("198.51.100.7", nowMs: 1000) == .allowed) }
        #expect(r.take("198.51.100.7", nowMs: 1000) == .limited(retryAfterMs: 1000))
        #expect(r.take("198.51.100.7", nowMs: 1500) == .limited(retryAfterMs: 500))
        #expect(r.take("198.51.100.7", nowMs: 2000) == .allowed)
        #expect(r.take("198.51.100.7", nowMs: 2000) == .limited(retryAfterMs: 1000))
        // Another key is untouched.
        #expect(r.take("198.51.100.8", nowMs: 2000) == .allowed)
        // A long silence refills to the burst, not beyond.
        for _ in 0..<3 { #expect(r.take("198.51.100.7", nowMs: 1_000_000) == .allowed) }
        #expect(r.take("198.51.100.7", nowMs: 1_000_000) != .allowed)
    }

    @Test func aBurstOfAThousandRequestsIsCutAtTheBurst() {
        var r = RateLimiter(capacity: 1024, policy: .init(perMinute: 600, burst: 60), seed: 1)
        var allowed = 0
        for _ in 0..<1000 where r.take("k", nowMs: 5) == .allowed { allowed += 1 }
        #expect(allowed == 60)
    }

    @Test func oneMoreKeyThanSlotsReusesAQuietSlotAndRefusesNoNewKey() {
        var r = RateLimiter(capacity: 8, policy: .init(perMinute: 60, burst: 1), seed: 3)
        #expect(r.capacity == 8)
        // Eight keys spend their one token; a ninth arrives with every slot taken.
        for i in 0..<8 { #expect(r.take("key\(i)", nowMs: 0) == .allowed) }
        #expect(r.evictions == 0)
        #expect(r.take("key8", nowMs: 0) == .allowed)
        #expect(r.evictions == 1)
        // 10,000 distinct keys: bounded memory, every new key allowed once, each call terminates.
        for i in 0..<10_000 { #expect(r.take("flood\(i)", nowMs: UInt64(i)) == .allowed) }
        #expect(r.evictions == 10_001)
    }

    @Test func aRefilledSlotIsReusedBeforeAnActiveOne() {
        var r = RateLimiter(capacity: 8, policy: .init(perMinute: 60_000, burst: 1), seed: 9)  // one token per ms
        for i in 0..<7 { _ = r.take("idle\(i)", nowMs: 0) }
        _ = r.take("busy", nowMs: 100)  // the newest, spent
        // key "new" at 100: the idle slots refilled long ago, so one of them goes; "busy" stays limited.
        #expect(r.take("new", nowMs: 100) == .allowed)
        #expect(r.take("busy", nowMs: 100) == .limited(retryAfterMs: 1))
    }

    @Test func capacityRoundsUpToAPowerOfTwo() {
        #expect(RateLimiter(capacity: 1000, policy: .init(perMinute: 1, burst: 1)).capacity == 1024)
        #expect(RateLimiter(capacity: 1, policy: .init(perMinute: 1, burst: 1)).capacity == RateLimiter.probeLength)
    }
}
