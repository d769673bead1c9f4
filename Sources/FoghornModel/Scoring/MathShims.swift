#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always) func acosDouble(_ x: Double) -> Double { acos(x) }
