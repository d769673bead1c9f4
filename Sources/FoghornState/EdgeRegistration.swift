public import FoghornModel

/// What enrolling made of an edge, kept while the edge is registered (evicted or not):
/// identity, tenant, address and what it last said of itself that changes rarely (base URL,
/// capabilities). Load figures are not here: they are measured, not set.
public struct EdgeRegistration: Sendable, Equatable {
    public var nodeId: String
    public var tenant: String
    public var domain: String
    public var publicIP: String
    public var lat: Double?
    public var lon: Double?
    public var location: String
    public var baseURL: String
    public var capabilities: EdgeCapabilities
    /// Wall clock (Unix ms) of the enrolment.
    public var enrolledAtUnixMs: Int64

    public init(nodeId: String, tenant: String, domain: String, publicIP: String, lat: Double? = nil, lon: Double? = nil,
                location: String = "", baseURL: String = "", capabilities: EdgeCapabilities = [.edge], enrolledAtUnixMs: Int64) {
        self.nodeId = nodeId
        self.tenant = tenant
        self.domain = domain
        self.publicIP = publicIP
        self.lat = lat
        self.lon = lon
        self.location = location
        self.baseURL = baseURL
        self.capabilities = capabilities
        self.enrolledAtUnixMs = enrolledAtUnixMs
    }

    public static func == (a: EdgeRegistration, b: EdgeRegistration) -> Bool {
        a.nodeId == b.nodeId && a.tenant == b.tenant && a.domain == b.domain && a.publicIP == b.publicIP
            && a.lat?.bitPattern == b.lat?.bitPattern && a.lon?.bitPattern == b.lon?.bitPattern && a.location == b.location
            && a.baseURL == b.baseURL && a.capabilities == b.capabilities && a.enrolledAtUnixMs == b.enrolledAtUnixMs
    }
}
