/// RFC 9110 character classes as bit masks over the 128 ASCII codes (no
/// tables to initialise, branch-free selection of the mask word).
enum CharacterClass {
    /// tchar: "!#$%&'*+-.^_`|~", DIGIT, ALPHA.
    @inline(__always) static func isTchar(_ b: UInt8) -> Bool {
        let word: UInt64 = b & 64 == 0 ? 0x03ff_6cfa_0000_0000 : 0x57ff_ffff_c7ff_fffe
        return b < 128 && (word >> UInt64(b & 63)) & 1 != 0
    }

    /// field-vchar / SP / HTAB, obs-text allowed (0x80–0xFF); no CTLs, no DEL.
    @inline(__always) static func isFieldValueChar(_ b: UInt8) -> Bool {
        let word: UInt64 = b & 64 == 0 ? 0xffff_ffff_0000_0200 : 0x7fff_ffff_ffff_ffff
        return b >= 128 || (word >> UInt64(b & 63)) & 1 != 0
    }

    /// Visible ASCII (0x21–0x7E): what a request target may contain.
    @inline(__always) static func isTargetChar(_ b: UInt8) -> Bool {
        b &- 0x21 < 0x5E
    }
}
