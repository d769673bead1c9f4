import Foundation
import Testing
import FoghornOps
import Logging

/// The log queue: bounded per producer, overflow dropped and counted, one writer thread.
@Suite struct LogSinkTests {
    /// Starts and stops `sink` (its writer drains every queue), closes the pipe's write end and
    /// returns the lines that came out of its read end.
    static func writeAll(_ sink: LogSink, into fds: [Int32]) -> [Substring] {
        sink.start()
        sink.stop()
        close(fds[1])
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &chunk, chunk.count)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n")
    }

    @Test func overflowIsDroppedAndCountedThenTheRestIsWritten() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let sink = LogSink(fd: fds[1], queueCapacity: 4)
        let queue = sink.makeQueue()
        // The writer is not running yet: the queue fills at 4 lines, the rest are refused.
        var accepted = 0
        for i in 0..<10 where queue.push(Array("{\"line\":\(i)}".utf8)) { accepted += 1 }
        #expect(accepted == 4)
        #expect(sink.dropped == 6)
        let lines = Self.writeAll(sink, into: fds)
        #expect(lines == [#"{"line":0}"#, #"{"line":1}"#, #"{"line":2}"#, #"{"line":3}"#])
        #expect(sink.written == 4)
        // Space again: new lines are accepted.
        #expect(queue.push(Array("{}".utf8)))
    }

    struct Refused: Error, CustomStringConvertible {
        var description: String { "connection refused" }
    }

    @Test func handlerWritesOneJSONLinePerEventWithMetadataSortedAndTheError() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let sink = LogSink(fd: fds[1], queueCapacity: 8)
        var logger = Logger(label: "foghorn.test") { label in JSONLogHandler(label: label, level: .info, queue: sink.shared) }
        logger[metadataKey: "loop"] = "1"
        logger.debug("below the level")
        logger.warning("resolver down", metadata: ["url": "http://127.0.0.1:1/", "attempt": "3"])
        logger.error("peer lost", error: Refused(), metadata: ["error": "from metadata"])
        let lines = Self.writeAll(sink, into: fds).map { line in
            // The timestamp varies: check its shape, then compare the rest.
            let ts = line.dropFirst(#"{"ts":""#.count).prefix(24)
            #expect(ts.count == 24 && ts.hasSuffix("Z") && ts.dropFirst(10).hasPrefix("T"))
            return String(line.dropFirst(#"{"ts":""#.count + 24 + 2))
        }
        #expect(lines == [
            #""level":"warning","label":"foghorn.test","msg":"resolver down","attempt":"3","loop":"1","url":"http://127.0.0.1:1/"}"#,
            #""level":"error","label":"foghorn.test","msg":"peer lost","error":"connection refused","loop":"1"}"#,
        ])
    }
}
