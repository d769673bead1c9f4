/// IMF-fixdate (RFC 9110 §5.6.7) without the C library's locale or allocation.
///
/// ```swift
/// HTTPDate.text(1_796_451_325)   // "Sat, 05 Dec 2026 06:15:25 GMT"
/// ```
public enum HTTPDate {
    static let days: [StaticString] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    static let months: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The civil date of `days` since 1970-01-01 (Howard Hinnant's algorithm).
    static func civil(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    public static func text(_ unixSeconds: Int) -> String {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 37, alignment: 1)
        defer { buffer.deallocate() }
        format(unixSeconds, into: buffer)
        return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[6..<35]), as: UTF8.self)
    }

    /// Writes `Date: <IMF-fixdate>\r\n` (37 bytes) into `out`.
    public static func format(_ unixSeconds: Int, into out: UnsafeMutableRawBufferPointer) {
        let seconds = max(unixSeconds, 0)
        let dayCount = seconds / 86_400, rest = seconds % 86_400
        let (y, m, d) = civil(dayCount)
        var i = 0
        func put(_ b: UInt8) { out[i] = b; i += 1 }
        func put(_ s: StaticString) { s.withUTF8Buffer { for b in $0 { put(b) } } }
        func two(_ n: Int) { put(UInt8(48 + n / 10 % 10)); put(UInt8(48 + n % 10)) }
        put("Date: ")
        put(HTTPDate.days[dayCount % 7])
        put(", ")
        two(d)
        put(" ")
        put(HTTPDate.months[m - 1])
        put(" ")
        two(y / 100)
        two(y % 100)
        put(" ")
        two(rest / 3600)
        put(":")
        two(rest / 60 % 60)
        put(":")
        two(rest % 60)
        put(" GMT\r\n")
    }
}
