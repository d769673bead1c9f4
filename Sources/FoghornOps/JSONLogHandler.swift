public import Logging
import FoghornJSON
#if canImport(Glibc)
import Glibc
#endif

/// swift-log handler writing one JSON object per line through a ``LogSink``:
/// `{"ts":"2026-11-29T08:00:00.123Z","level":"info","label":"foghorn","msg":"…",["error":"…",]<metadata>}`
/// (metadata sorted by key; an `error` given with the event wins over an `error` metadata key).
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String
    let queue: LogSink.Queue

    public init(label: String, level: Logger.Level, queue: LogSink.Queue) {
        self.label = label
        self.logLevel = level
        self.queue = queue
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var w = JSONWriter(capacity: 256)
        w.objectStart()
        w.field("ts", JSONLogHandler.timestamp())
        w.field("level", event.level.rawValue)
        w.field("label", label)
        w.field("msg", event.message.description)
        if let error = event.error { w.field("error", String(describing: error)) }
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !(key == "error" && event.error != nil) {
            w.field(key, "\(value)")
        }
        w.objectEnd()
        queue.push(w.bytes)
    }

    /// RFC 3339 UTC with milliseconds.
    public static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return timestamp(unixMs: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    /// `unixMs` as RFC 3339 UTC with milliseconds: 1_700_000_000_123 → `2023-11-14T22:13:20.123Z`.
    public static func timestamp(unixMs: Int64) -> String {
        let ts = (tv_sec: unixMs / 1000, tv_nsec: (unixMs % 1000) * 1_000_000)
        var t = time_t(ts.tv_sec)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }
}
