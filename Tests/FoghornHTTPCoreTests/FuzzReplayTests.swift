import Foundation
import Testing
@testable import FoghornHTTPCore

/// Replays Fuzz/FailCases (minimised crashers) and the seed corpus: the first
/// byte is the fuzzer's split selector, the rest the request. Every split must
/// agree with the whole.
@Suite struct FuzzReplayTests {
    static var files: [URL] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var urls: [URL] = []
        for dir in ["Fuzz/FailCases", "Fuzz/Corpus/http"] {
            let d = root.appendingPathComponent(dir)
            urls += ((try? FileManager.default.contentsOfDirectory(at: d, includingPropertiesForKeys: nil)) ?? [])
        }
        return urls.sorted { $0.path < $1.path }
    }

    @Test func replaysFailCasesAndCorpus() throws {
        let files = Self.files
        #expect(files.count >= 5)
        let limits = HTTPLimits(maxRequestLineBytes: 256, maxHeaderBytes: 1024, maxHeaderCount: 16, maxBodyBytes: 64)
        for url in files {
            let data = Array(try Data(contentsOf: url))
            guard data.count > 1 else { continue }
            let bytes = Array(data.dropFirst())
            let whole = parseWhole(bytes, limits: limits).0
            for cut in 1..<max(bytes.count, 2) {
                #expect(parseSplit(bytes, at: [cut], limits: limits).0 == whole, "\(url.lastPathComponent) cut \(cut)")
            }
        }
    }
}
