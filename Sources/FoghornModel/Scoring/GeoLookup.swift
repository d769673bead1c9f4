/// A source of viewer positions (the MMDB reader in FoghornGeo implements it).
/// Lookups must be safe from several threads at once.
public protocol GeoLookup: AnyObject, Sendable {
    /// Position of `ip`, or nil when unknown (private, absent, no location).
    func position(of ip: IPAddress) -> GeoPoint?
    /// Describes the database (path, build time) for `/debug` and `/readyz`.
    var describe: String { get }
}
