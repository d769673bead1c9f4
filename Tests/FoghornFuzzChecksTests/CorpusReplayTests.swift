import Foundation
import Testing
import FoghornFuzzChecks

/// The fuzz corpora of the inputs and peer-frame targets (Fuzz/Corpus), replayed through the
/// same invariants the libFuzzer targets check (the HTTP corpus: FuzzReplayTests). A broken
/// invariant traps, failing the run.
@Suite struct CorpusReplayTests {
    static func files(_ dir: String) -> [URL] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let d = root.appendingPathComponent(dir)
        return ((try? FileManager.default.contentsOfDirectory(at: d, includingPropertiesForKeys: nil)) ?? []).sorted { $0.path < $1.path }
    }

    /// Every file of `dir` (at least `minimum`) through `check`.
    static func replay(_ dir: String, minimum: Int, _ check: (UnsafeRawBufferPointer) -> Void) throws {
        let files = Self.files(dir)
        #expect(files.count >= minimum, "\(dir): \(files.count) files")
        for url in files { Array(try Data(contentsOf: url)).withUnsafeBytes { check($0) } }
    }

    @Test func inputsCorpus() throws { try Self.replay("Fuzz/Corpus/inputs", minimum: 9) { InputChecks.check($0) } }

    @Test func peerCorpus() throws { try Self.replay("Fuzz/Corpus/peer", minimum: 8) { PeerFrameChecks.check($0) } }

    /// Seeds for the doors this round closed: a report and a Mist document with CR/LF in URLs,
    /// a ByteKeyTable burst larger than its free slots. Each must be refused (or dropped), not trap.
    @Test func injectionAndBurstSeeds() {
        let seeds: [[UInt8]] = [
            [6] + Array(#"{"base_url": "http://a/\r\nSet-Cookie: x=1", "outputs": {"HLS": "https://HOST/$\r\nX: y"}}"#.utf8),
            [7] + Array(#"{"cpu": 1, "mem_total": 1, "outputs": {"HLS": "http://HOST/$\r\nSet-Cookie: m=1"}, "streams": {"a\nb": {}}}"#.utf8),
            [8] + Array((0..<1000).map { "k\($0)" }.joined(separator: ",").utf8),
            [8] + Array("-a,-b,x,y,-c,z,a".utf8),
            [4] + Array("1.1.1.1;10.0.0.1, 2.2.2.2;;10.0.0.9".utf8),
        ]
        for seed in seeds { seed.withUnsafeBytes { InputChecks.check($0) } }
    }
}
