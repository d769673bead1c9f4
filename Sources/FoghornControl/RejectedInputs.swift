/// Where data Foghorn did not ask a person for comes from: polled MistServer documents, peer
/// clusters' frames, the playback resolver's answers. What they send is checked at the door
/// (``InputRules``); a refused value is logged and counted here, by source
/// (`foghorn_input_rejections_total{source}`), since there is no HTTP caller to answer 400.
public enum InputSource: String, CaseIterable, Sendable {
    case mist, peer, resolver, replica
}

/// Counts of refused values by ``InputSource`` (control loop only).
public struct RejectedInputs: Sendable {
    private var counts = [UInt64](repeating: 0, count: InputSource.allCases.count)

    public init() {}

    public mutating func add(_ source: InputSource, _ n: Int = 1) {
        counts[InputSource.allCases.firstIndex(of: source)!] &+= UInt64(max(n, 0))
    }

    public subscript(_ source: InputSource) -> UInt64 { counts[InputSource.allCases.firstIndex(of: source)!] }
}
