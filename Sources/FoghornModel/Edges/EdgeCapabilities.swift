/// Edge capabilities reported by the sidecar.
public struct EdgeCapabilities: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let edge = EdgeCapabilities(rawValue: 1)
    public static let ingest = EdgeCapabilities(rawValue: 2)
    public static let storage = EdgeCapabilities(rawValue: 4)
    public static let processing = EdgeCapabilities(rawValue: 8)

    public static func named(_ name: String) -> EdgeCapabilities? {
        switch name {
        case "edge": return .edge
        case "ingest": return .ingest
        case "storage": return .storage
        case "processing": return .processing
        default: return nil
        }
    }

    public var names: [String] {
        var out: [String] = []
        if contains(.edge) { out.append("edge") }
        if contains(.ingest) { out.append("ingest") }
        if contains(.storage) { out.append("storage") }
        if contains(.processing) { out.append("processing") }
        return out
    }

    /// Foghorn's `cap=` filter: a comma list whose every capability an edge must have (AND).
    /// Empty items are skipped; `""` requires nothing. Throws on a name that is not one of
    /// the four (Foghorn would look it up in the node's roles, which edges here do not have).
    ///
    ///     try EdgeCapabilities.required(by: "edge,ingest")  // [.edge, .ingest]
    public static func required(by list: String) throws(UnknownCapability) -> EdgeCapabilities {
        var out: EdgeCapabilities = []
        for item in list.split(separator: ",") {
            let token = String(item.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
            if token.isEmpty { continue }
            guard let c = named(token) else { throw UnknownCapability(name: token) }
            out.insert(c)
        }
        return out
    }

    public struct UnknownCapability: Error, Sendable {
        public let name: String
        public init(name: String) { self.name = name }
        public var message: String { "unknown capability \"\(name.prefix(64))\": cap is a comma list of edge, ingest, storage, processing" }
    }
}
