/// RFC 9110 character classes as 256-bit masks (no tables to initialise).
enum CharacterClass {
    /// tchar: "!#$%&'*+-.^_`|~", DIGIT, ALPHA.
    @inline(__always) static func isTchar(_ b: UInt8) -> Bool {
        test(b, 0x03ff_6cfa_0000_0000, 0x57ff_ffff_c7ff_fffe, 0, 0)
    }

    /// field-vchar / SP / HTAB, obs-text allowed (0x80–0xFF); no CTLs, no DEL.
    @inline(__always) static func isFieldValueChar(_ b: UInt8) -> Bool {
        test(b, 0xffff_ffff_0000_0200, 0x7fff_ffff_ffff_ffff, 0xffff_ffff_ffff_ffff, 0xffff_ffff_ffff_ffff)
    }

    /// Visible ASCII (0x21–0x7E): what a request target may contain.
    @inline(__always) static func isTargetChar(_ b: UInt8) -> Bool {
        test(b, 0xffff_fffe_0000_0000, 0x7fff_ffff_ffff_ffff, 0, 0)
    }

    @inline(__always)
    private static func test(_ b: UInt8, _ m0: UInt64, _ m1: UInt64, _ m2: UInt64, _ m3: UInt64) -> Bool {
        let word: UInt64
        switch b >> 6 {
        case 0: word = m0
        case 1: word = m1
        case 2: word = m2
        default: word = m3
        }
        return (word >> UInt64(b & 63)) & 1 == 1
    }
}
