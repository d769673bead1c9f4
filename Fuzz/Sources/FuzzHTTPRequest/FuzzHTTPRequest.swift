import FoghornHTTPCore

/// Feeds the input to the request parser whole, then again split at a point
/// chosen by the first byte, and traps if the two outcomes differ or a parsed
/// range points outside the buffer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 1 else { return 0 }
    let limits = HTTPLimits(maxRequestLineBytes: 256, maxHeaderBytes: 1024, maxHeaderCount: 16, maxBodyBytes: 64)
    let parser = HTTPRequestParser(limits: limits)
    let scratch = UnsafeMutableBufferPointer<HTTPHeaderField>.allocate(capacity: 16)
    defer { scratch.deallocate() }
    let split = 1 + Int(data[0]) % (size - 1)
    let bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)

    var whole = HTTPParseProgress()
    let wholeResult = parser.parse(bytes, progress: &whole, headers: scratch)
    if case .complete(let head) = wholeResult {
        precondition(head.headLength <= bytes.count)
        for field in scratch[0..<head.headerCount] {
            precondition(field.name.start >= 0 && Int(field.name.end) <= head.headLength)
            precondition(field.value.start <= field.value.end && Int(field.value.end) <= head.headLength)
        }
    }

    var progress = HTTPParseProgress()
    var splitResult = parser.parse(UnsafeRawBufferPointer(rebasing: bytes[0..<min(split, bytes.count)]), progress: &progress, headers: scratch)
    if case .incomplete = splitResult {
        splitResult = parser.parse(bytes, progress: &progress, headers: scratch)
    }
    precondition(splitResult == wholeResult, "split parse disagrees")
    return 0
}
