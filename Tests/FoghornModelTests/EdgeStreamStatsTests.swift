import Testing
import FoghornModel
import FoghornModelFixtures

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

    /// Streams set from IDs in any order keep EdgeState's invariant (IDs ascending, unique; of a
    /// repeated ID the last figures), and read back by name as given.
    @Test func setStreamsSortsAndKeepsTheLastOfARepeat() {
        let table = fixtureNames
        let ids = table.ids(for: ["ss+c", "ss+a", "ss+b", "ss+a"])
        #expect(ids[1] == ids[3] && Set(ids).count == 3)
        #expect(table.ids(for: ["ss+a"]) == [ids[1]] && table.id(for: "ss+b") == ids[2])
        var e = EdgeState(nodeId: "n")
        e.setStreams(ids: ids, stats: [EdgeStreamStats(inputs: 3), EdgeStreamStats(inputs: 1), EdgeStreamStats(inputs: 2), EdgeStreamStats(inputs: 9)])
        #expect(e.streamIds == ids.dropLast().sorted())
        #expect(e.streams == ["ss+a": EdgeStreamStats(inputs: 9), "ss+b": EdgeStreamStats(inputs: 2), "ss+c": EdgeStreamStats(inputs: 3)])
        // Already ascending: taken as is.
        let sorted = e.streamIds, figures = e.streamStats
        e.setStreams(ids: sorted, stats: figures)
        #expect(e.streamIds == sorted && e.streamStats == figures)
        e.streams = [:]
        #expect(e.streamIds.isEmpty && e.streamCount == 0)
    }
}
