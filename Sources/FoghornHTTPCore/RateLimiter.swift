/// Token buckets per key (a source address, an edge credential) in a table of fixed capacity:
/// memory is bounded whatever the number of keys an attacker brings, and every call does at
/// most ``probeLength`` slot visits.
///
/// A bucket holds up to `burst` requests and refills at `perMinute`. A new key starts full.
/// When a key's probe window is full, the slot that loses least is reused: the one whose bucket
/// has refilled completely (forgetting it changes nothing), else the one idle longest. So a
/// flood of new keys can make an old, quiet key start over with a full bucket — never refuse
/// a key it has not seen.
///
/// ```swift
/// var limits = RateLimiter(capacity: 1024, policy: .init(perMinute: 60, burst: 2))
/// limits.take("198.51.100.7", nowMs: 0)     // .allowed
/// limits.take("198.51.100.7", nowMs: 0)     // .allowed
/// limits.take("198.51.100.7", nowMs: 0)     // .limited(retryAfterMs: 1000): one token a second
/// limits.take("198.51.100.7", nowMs: 1000)  // .allowed
/// ```
public struct RateLimiter: Sendable {
    public struct Policy: Sendable, Equatable {
        public var perMinute: UInt64
        public var burst: UInt64
        public init(perMinute: UInt64, burst: UInt64) {
            self.perMinute = perMinute
            self.burst = max(burst, 1)
        }
    }

    public enum Decision: Equatable, Sendable {
        case allowed
        /// Try again after this long (at least 1 ms).
        case limited(retryAfterMs: UInt64)
    }

    struct Slot {
        /// Hash of the key; 0 = empty.
        var key: UInt64 = 0
        /// Tokens in thousandths (a token refills in pieces).
        var milliTokens: UInt64 = 0
        var lastMs: UInt64 = 0
    }

    public var policy: Policy
    public let capacity: Int
    /// Slots visited per call.
    public static let probeLength = 8
    private var slots: [Slot]
    private let mask: Int
    /// Keys hashed with a per-process seed: an attacker cannot aim keys at one probe window.
    private let seed: UInt64
    /// Slots reused for a new key (the table was full around it).
    public private(set) var evictions: UInt64 = 0

    /// `capacity` is rounded up to a power of two (at least ``probeLength``).
    public init(capacity: Int, policy: Policy, seed: UInt64 = UInt64.random(in: 1...UInt64.max)) {
        var n = RateLimiter.probeLength
        while n < capacity { n <<= 1 }
        self.capacity = n
        slots = [Slot](repeating: Slot(), count: n)
        mask = n - 1
        self.policy = policy
        self.seed = seed
    }

    /// Takes one token for `key` (any bytes: an address, a node ID).
    public mutating func take(_ key: String, nowMs: UInt64) -> Decision {
        var h = seed ^ 0xcbf2_9ce4_8422_2325
        for b in key.utf8 {
            h = (h ^ UInt64(b)) &* 0x100_0000_01b3
        }
        h ^= h >> 29
        h = h &* 0xbf58_476d_1ce4_e5b9
        h ^= h >> 32
        return take(hash: h == 0 ? 1 : h, nowMs: nowMs)
    }

    mutating func take(hash: UInt64, nowMs: UInt64) -> Decision {
        let full = policy.burst * 1000
        let start = Int(truncatingIfNeeded: hash) & mask
        var chosen = -1
        var victim = start, victimScore: (Bool, UInt64) = (false, UInt64.max)  // (refilled, lastMs): prefer refilled, then oldest
        for step in 0..<RateLimiter.probeLength {
            let i = (start + step) & mask
            let slot = slots[i]
            if slot.key == hash { chosen = i; break }
            if slot.key == 0 {
                slots[i] = Slot(key: hash, milliTokens: full, lastMs: nowMs)
                chosen = i
                break
            }
            let refilled = refill(slot, nowMs: nowMs) >= full
            if (refilled && !victimScore.0) || (refilled == victimScore.0 && slot.lastMs < victimScore.1) {
                victim = i
                victimScore = (refilled, slot.lastMs)
            }
        }
        if chosen < 0 {
            evictions &+= 1
            slots[victim] = Slot(key: hash, milliTokens: full, lastMs: nowMs)
            chosen = victim
        }
        var slot = slots[chosen]
        slot.milliTokens = refill(slot, nowMs: nowMs)
        slot.lastMs = max(slot.lastMs, nowMs)
        if slot.milliTokens >= 1000 {
            slot.milliTokens -= 1000
            slots[chosen] = slot
            return .allowed
        }
        slots[chosen] = slot
        guard policy.perMinute > 0 else { return .limited(retryAfterMs: 60_000) }
        // perMinute tokens per 60,000 ms = perMinute milli-tokens per 60 ms.
        let missing = 1000 - slot.milliTokens
        return .limited(retryAfterMs: max(1, (missing * 60 + policy.perMinute - 1) / policy.perMinute))
    }

    private func refill(_ slot: Slot, nowMs: UInt64) -> UInt64 {
        let full = policy.burst * 1000
        guard nowMs > slot.lastMs, policy.perMinute > 0 else { return min(slot.milliTokens, full) }
        let elapsed = min(nowMs - slot.lastMs, 86_400_000)
        return min(full, slot.milliTokens + elapsed * policy.perMinute / 60)
    }
}
