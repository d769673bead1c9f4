import FoghornConfig
import FoghornJSON
import FoghornModel

/// The invariants of every parser of untrusted input, one input at a time: the body of the
/// `FuzzInputs` libFuzzer target (Fuzz/) and of the suite's corpus replay, so both check the
/// same thing. The first byte picks the parser; the rest is its input. Traps (precondition) on
/// a broken invariant; refusing an input is fine.
public enum InputChecks {
    public static let parsers = 9

    public static func check(_ data: UnsafeRawBufferPointer) {
        guard data.count > 0 else { return }
        let bytes = UnsafeRawBufferPointer(rebasing: data[1...])
        let text = String(decoding: bytes, as: UTF8.self)
        switch Int(data[0]) % parsers {
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
            // The same bytes as several X-Forwarded-For lines (split at each ';').
            let lines = bytes.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false).prefix(70)
            _ = resolver.resolve(peer: IPAddress(v4: 0x7F00_0001), lines: { name, n in
                name == .forwardedFor && n < lines.count ? UnsafeRawBufferPointer(rebasing: lines[n]) : nil
            }, duplicate: { _ in })
        case 5:
            _ = try? TagAdjustment.parse(text)
        case 6:
            if let v = try? JSONParser.parse(bytes), let report = try? EdgeReport.parse(v, names: StreamNameTable()) {
                // What passed the door is safe to put in a header: no URL byte a writer would refuse.
                if let base = report.baseURL { precondition(InputRules.forbiddenURLByte(base) == nil, "base_url with a control byte accepted") }
                for o in report.outputs ?? [] { precondition(InputRules.forbiddenURLByte(o.template) == nil, "template with a control byte accepted") }
                var edge = EdgeState(nodeId: "fuzz")
                report.apply(to: &edge, nowMs: 1)
            }
        case 7:
            if let v = try? JSONParser.parse(bytes), let sample = try? MistSample.parse(v) {
                for o in sample.outputs { precondition(InputRules.forbiddenURLByte(o.template) == nil, "Mist template with a control byte kept") }
                for name in sample.streams.keys { precondition(InputRules.streamNameProblem(name) == nil, "Mist stream name kept") }
                var edge = EdgeState(nodeId: "fuzz")
                sample.apply(to: &edge, previous: sample, elapsedMs: 1000, address: MistNodeAddress.parse("fuzz.example")!, nowMs: 1, names: StreamNameTable())
                _ = MistNodeAddress.parse(text)
            }
        default:
            // The playback ID table patched with the input's keys against a dictionary.
            checkByteKeyTable(bytes)
        }
    }

    /// Keys from the input (split at ','; a leading '-' removes) applied to a small table in one
    /// `updated` call, then in a fresh table when it declines: both must answer as a dictionary.
    static func checkByteKeyTable(_ bytes: UnsafeRawBufferPointer) {
        var model: [String: Int32] = ["a": 0, "b": 1, "c": 2]
        var removing: [String] = [], inserting: [(key: String, value: Int32)] = []
        for (i, part) in bytes.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).prefix(4096).enumerated() {
            let key = String(decoding: part, as: UTF8.self)
            if key.hasPrefix("-") {
                let k = String(key.dropFirst())
                removing.append(k)
                model[k] = nil
            } else {
                inserting.append((key, Int32(i)))
            }
        }
        for (k, v) in inserting { model[k] = v }
        let start = ByteKeyTable(keys: ["a", "b", "c"])
        let table = start.updated(removing: removing, inserting: inserting) ?? ByteKeyTable(model.map { (key: Array($0.key.utf8), value: $0.value) })
        for (k, v) in model { precondition(table.lookup(k) == v, "ByteKeyTable lost \(k)") }
        for k in removing where model[k] == nil { precondition(table.lookup(k) == nil, "ByteKeyTable kept removed \(k)") }
    }
}
