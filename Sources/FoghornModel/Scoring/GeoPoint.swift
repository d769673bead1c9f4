#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A position on the sphere with its unit vector precomputed, so the angle to
/// another point costs a dot product and one `acos`.
public struct GeoPoint: Sendable, Equatable {
    public var lat: Double
    public var lon: Double
    public var x: Double
    public var y: Double
    public var z: Double

    public init(lat: Double, lon: Double) {
        self.lat = lat
        self.lon = lon
        let phi = lat * (Double.pi / 180)
        let lambda = lon * (Double.pi / 180)
        x = cos(phi) * cos(lambda)
        y = cos(phi) * sin(lambda)
        z = sin(phi)
    }

    /// Valid unless NaN/∞, out of range, or exactly (0, 0) ("null island" means unknown),
    /// as the reference's `IsValidLatLon`.
    public static func isValid(lat: Double, lon: Double) -> Bool {
        lat.isFinite && lon.isFinite && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 && !(lat == 0 && lon == 0)
    }

    /// The dot product of the two unit vectors, clamped to [-1, 1].
    @inline(__always) public func dot(_ o: GeoPoint) -> Double {
        min(1, max(-1, x * o.x + y * o.y + z * o.z))
    }

    /// Normalised great-circle angle in [0, 1]: 0 same point, 1 antipodes.
    public func normalizedDistance(to o: GeoPoint) -> Double {
        acos(dot(o)) * (1 / Double.pi)
    }

    /// Great-circle distance in kilometres (radius 6371).
    public func kilometres(to o: GeoPoint) -> Double {
        6371 * acos(dot(o))
    }
}

/// The geo term of the score, exactly as MistUtilLoad/Foghorn compute it:
/// `W_geo − UInt64(W_geo · acos(dot)/π)`.
///
/// Worked example: Amsterdam (52.37, 4.90) to Frankfurt (50.11, 8.68) are
/// 364.6 km apart: an angle of 0.057 23 rad, `d = 0.018 22`, so with
/// `W_geo = 1000` the term is `1000 − UInt64(18.22) = 982`.
public enum GeoTerm {
    /// Exact term from a clamped dot product.
    @inline(__always) public static func exact(weight: UInt64, dot: Double) -> UInt64 {
        let d = acos(dot) * (1 / Double.pi)
        return weight &- UInt64(Double(weight) * d)
    }

    /// The same value as ``exact(weight:dot:)``, computed with a polynomial
    /// `acos` (max error 6.7e-5 rad, A&S 4.4.45) and falling back to the real
    /// `acos` only when the approximation lands within its error bound
    /// (`W·3e-5`, 0.03 points at `W = 1000`) of an integer step, where
    /// truncation could differ. Cheap enough for 10,000 edges.
    /// `acos(dot)` within 6.7e-5 rad (Abramowitz & Stegun 4.4.45).
    @inline(__always) public static func approximateAngle(_ dot: Double) -> Double {
        let a = abs(dot)
        let poly = ((-0.0187293 * a + 0.0742610) * a - 0.2121144) * a + 1.5707288
        let angle = (1 - a).squareRoot() * poly
        return dot < 0 ? Double.pi - angle : angle
    }

    @inline(__always) public static func fast(weight: UInt64, dot: Double) -> UInt64 {
        let angle = approximateAngle(dot)
        let v = max(0, Double(weight) * angle * (1 / Double.pi))
        // Truncation instead of floor(): v ≥ 0, and a conversion inlines where floor() is a libm call.
        let floorV = Double(Int64(v))
        let frac = v - floorV
        // |angle error| ≤ 6.7e-5 rad → |v error| ≤ W·2.2e-5; keep a margin above that.
        let margin = Double(weight) * 3e-5 + 1e-9
        if frac < margin || frac > 1 - margin { return exact(weight: weight, dot: dot) }
        let k = UInt64(max(0, floorV))
        return k >= weight ? 0 : weight &- k
    }
}
