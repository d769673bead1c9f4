import Foundation
@testable import FoghornHTTPCore

/// Parses `bytes` in one go; returns the result and the headers as strings.
func parseWhole(_ bytes: [UInt8], limits: HTTPLimits = HTTPLimits(maxBodyBytes: 1 << 20)) -> (HTTPParseResult, [(String, String)]) {
    let parser = HTTPRequestParser(limits: limits)
    let scratch = UnsafeMutableBufferPointer<HTTPHeaderField>.allocate(capacity: limits.maxHeaderCount)
    defer { scratch.deallocate() }
    var progress = HTTPParseProgress()
    return bytes.withUnsafeBytes { raw in
        let result = parser.parse(raw, progress: &progress, headers: scratch)
        var pairs: [(String, String)] = []
        if case .complete(let head) = result {
            for f in scratch[0..<head.headerCount] {
                pairs.append((String(decoding: raw[Int(f.name.start)..<Int(f.name.end)], as: UTF8.self),
                              String(decoding: raw[Int(f.value.start)..<Int(f.value.end)], as: UTF8.self)))
            }
        }
        return (result, pairs)
    }
}

func parseWhole(_ text: String, limits: HTTPLimits = HTTPLimits(maxBodyBytes: 1 << 20)) -> HTTPParseResult {
    parseWhole(Array(text.utf8), limits: limits).0
}

/// Feeds `bytes` in chunks whose ends are `splits`, the way a connection
/// does: the buffer grows and the same progress is reused. Returns the first
/// non-incomplete result (or `.incomplete`).
func parseSplit(_ bytes: [UInt8], at splits: [Int], limits: HTTPLimits = HTTPLimits(maxBodyBytes: 1 << 20)) -> (HTTPParseResult, [(String, String)]) {
    let parser = HTTPRequestParser(limits: limits)
    let scratch = UnsafeMutableBufferPointer<HTTPHeaderField>.allocate(capacity: limits.maxHeaderCount)
    defer { scratch.deallocate() }
    var progress = HTTPParseProgress()
    var ends = splits.filter { $0 > 0 && $0 < bytes.count }
    ends.append(bytes.count)
    for end in ends {
        let prefix = Array(bytes[0..<end])
        let outcome: (HTTPParseResult, [(String, String)])? = prefix.withUnsafeBytes { raw in
            let result = parser.parse(raw, progress: &progress, headers: scratch)
            if case .incomplete = result { return nil }
            var pairs: [(String, String)] = []
            if case .complete(let head) = result {
                for f in scratch[0..<head.headerCount] {
                    pairs.append((String(decoding: raw[Int(f.name.start)..<Int(f.name.end)], as: UTF8.self),
                                  String(decoding: raw[Int(f.value.start)..<Int(f.value.end)], as: UTF8.self)))
                }
            }
            return (result, pairs)
        }
        if let outcome { return outcome }
    }
    return (.incomplete, [])
}

func failure(_ result: HTTPParseResult) -> HTTPParseError? {
    if case .failed(let e) = result { return e }
    return nil
}

func head(_ result: HTTPParseResult) -> HTTPRequestHead? {
    if case .complete(let h) = result { return h }
    return nil
}

func text(_ bytes: [UInt8], _ r: ByteRange) -> String {
    String(decoding: bytes[Int(r.start)..<Int(r.end)], as: UTF8.self)
}

/// A 442-byte browser-player request with 10 headers (also used by the benchmark):
/// fixtures/http/browser-player-request.http.
let browserRequest: [UInt8] = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return Array((try? Data(contentsOf: root.appendingPathComponent("fixtures/http/browser-player-request.http"))) ?? Data())
}()
