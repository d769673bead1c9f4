import FoghornConfig
import FoghornJSON
import FoghornModel

/// Every parser of untrusted input in one target; the first byte picks which.
/// Invariants: nothing traps; JSON that parses re-serialises to an equal value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInputs(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let text = String(decoding: bytes, as: UTF8.self)
    switch data[0] % 8 {
    case 0:
        if let v = try? JSONParser.parse(bytes) {
            let again = try? JSONParser.parse(v.jsonText)
            precondition(again == v, "JSON round trip changed the value")
        }
    case 1:
        _ = try? YAMLSubsetParser.parse(text)
    case 2:
        if case .success(let p) = PlaybackPath.parse(bytes) {
            precondition(p.id.upperBound <= bytes.count)
            if let r = p.protocolName { precondition(r.upperBound <= bytes.count); _ = ViewerProtocol.normalize(UnsafeRawBufferPointer(rebasing: bytes[r])) }
            if let r = p.manifest { precondition(r.upperBound <= bytes.count) }
        }
    case 3:
        if let ip = IPAddress.parse(bytes) {
            precondition(IPAddress.parse(ip.description) == ip, "IP text round trip")
        }
    case 4:
        let resolver = ClientAddressResolver(trustedProxies: [CIDRBlock.parse("127.0.0.0/8")!, CIDRBlock.parse("10.0.0.0/8")!])
        _ = resolver.resolve(peer: IPAddress(v4: 0x7F00_0001), cfConnectingIP: nil, forwardedFor: bytes, realIP: bytes)
    case 5:
        _ = try? TagAdjustment.parse(text)
    case 6:
        if let v = try? JSONParser.parse(bytes), let report = try? EdgeReport.parse(v) {
            var edge = EdgeState(nodeId: "fuzz")
            report.apply(to: &edge, nowMs: 1)
        }
    default:
        if let v = try? JSONParser.parse(bytes), let sample = try? MistSample.parse(v) {
            var edge = EdgeState(nodeId: "fuzz")
            sample.apply(to: &edge, previous: sample, elapsedMs: 1000, address: MistNodeAddress.parse("fuzz.example")!, nowMs: 1)
            _ = MistNodeAddress.parse(text)
        }
    }
    return 0
}
