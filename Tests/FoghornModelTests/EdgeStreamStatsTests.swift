import Testing
import FoghornModel

@Suite struct EdgeStreamStatsTests {
    @Test func packsTheReplicatedFlagWithTheInputCount() {
        #expect(MemoryLayout<EdgeStreamStats>.stride == 16)
        var s = EdgeStreamStats(inputs: 3, viewers: 7, upBytesPerSec: 1 << 40, replicated: true)
        #expect(s.inputs == 3 && s.viewers == 7 && s.upBytesPerSec == 1 << 40 && s.replicated)
        s.inputs = 0
        #expect(s.inputs == 0 && s.replicated)
        s.replicated = false
        s.inputs = 9
        #expect(s.inputs == 9 && !s.replicated)
        // The count saturates below the flag bit instead of setting it.
        s.inputs = .max
        #expect(s.inputs == 0x7FFF_FFFF && !s.replicated)
        #expect(EdgeStreamStats(inputs: .max).inputs == 0x7FFF_FFFF && !EdgeStreamStats(inputs: .max).replicated)
        #expect(EdgeStreamStats(inputs: 1, replicated: true) != EdgeStreamStats(inputs: 1, replicated: false))
    }
}
