import Testing
import FoghornJSON

@Suite struct JSONParserTests {
    @Test func parsesValues() throws {
        let v = try JSONParser.parse(#"{"a":[1,-2.5,"x\n\u00e9\ud83d\ude00",true,false,null],"b":{}}"#)
        #expect(v["a"] == .array([.int(1), .double(-2.5), .string("x\né😀"), .bool(true), .bool(false), .null]))
        #expect(v["b"] == .object([]))
        #expect(try JSONParser.parse("1e3") == .double(1000))
        #expect(try JSONParser.parse(" 0 ") == .int(0))
        #expect(try JSONParser.parse("9223372036854775807") == .int(Int64.max))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1", "\"\\x\"", "\"a\nb\"", "tru", "nul",
        "{\"a\":1,\"a\":2}", "[1] [2]", "\"\\ud800\"", "\"\\udc00\"", "{a:1}", "'a'", "// c\n1", "1e999",
    ])
    func rejects(_ text: String) {
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(text) }
    }

    /// Top-level members named in `streaming` hand each element over as it is parsed; the
    /// result keeps them as empty arrays. Nested members of the same name are not streamed.
    @Test func streamsTopLevelArrays() throws {
        let text = #"{"a": [1, {"a": [2]}, "x"], "b": [3], "c": {"a": [4]}, "d": 5}"#
        var seen: [String] = []
        let tree = try Array(text.utf8).withUnsafeBytes { bytes in
            try JSONParser.parse(bytes, streaming: ["a", "d"]) { key, i, value in
                seen.append("\(key)[\(i)]=\(value)")
                return true
            }
        }
        #expect(seen == [#"a[0]=int(1)"#, #"a[1]=object([(key: "a", value: FoghornJSON.JSONValue.array([FoghornJSON.JSONValue.int(2)]))])"#, #"a[2]=string("x")"#])
        #expect(tree == .object([("a", .array([])), ("b", .array([.int(3)])), ("c", .object([("a", .array([.int(4)]))])), ("d", .int(5))]))
        // The consumer can stop the parse (its own error is what the caller reports).
        var count = 0
        let stopped = #expect(throws: JSONParser.Error.self) {
            _ = try Array(text.utf8).withUnsafeBytes { bytes in
                try JSONParser.parse(bytes, streaming: ["a"]) { _, _, _ in count += 1; return count < 2 }
            }
        }
        #expect(stopped?.offset == 10 && stopped?.reason == JSONParser.stoppedReason)
        #expect(count == 2)
        // Syntax errors inside a streamed element are errors of the document.
        let broken = #expect(throws: JSONParser.Error.self) {
            _ = try Array(#"{"a": [1,]}"#.utf8).withUnsafeBytes { bytes in
                try JSONParser.parse(bytes, streaming: ["a"]) { _, _, _ in true }
            }
        }
        #expect(broken?.description == "invalid JSON at byte 9: unexpected character")
    }

    @Test func boundsNesting() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONParser.parse(ok) }
    }

    @Test func errorsNameTheOffset() {
        do {
            _ = try JSONParser.parse(#"{"a":1,"a":2}"#)
            Issue.record("accepted a duplicate key")
        } catch {
            #expect(error.offset == 7)
            #expect(error.description == #"invalid JSON at byte 7: duplicate key "a""#)
        }
    }

    /// Objects past eight members check duplicates with a set: every position of the repeat is found.
    @Test func duplicateKeysInLargeObjectsAreRefused() throws {
        for n in [7, 8, 9, 40] {
            let keys = (0..<n).map { "k\($0)" }
            let ok = "{" + keys.map { #""\#($0)": 1"# }.joined(separator: ",") + "}"
            guard case .object(let members) = try JSONParser.parse(ok) else { Issue.record("not an object"); continue }
            #expect(members.map(\.key) == keys)
            for dup in [0, n / 2, n - 1] {
                let text = "{" + (keys + [keys[dup], "z"]).map { #""\#($0)": 1"# }.joined(separator: ",") + "}"
                do {
                    _ = try JSONParser.parse(text)
                    Issue.record("\(n) members: accepted a second \(keys[dup])")
                } catch {
                    #expect(error.description.hasSuffix(#"duplicate key "\#(keys[dup])""#), "\(error.description)")
                }
            }
        }
    }

    /// Strings without escapes: ASCII copied as is, anything else validated as UTF-8.
    @Test func unescapedStringsAreValidatedUnlessASCII() throws {
        #expect(try JSONParser.parse(#"["plain", "caf\#u{E9}", "\#u{1F600}x", ""]"#)
                == .array([.string("plain"), .string("caf\u{E9}"), .string("\u{1F600}x"), .string("")]))
        for bad: [UInt8] in [[0xFF], [0xC3], [0x61, 0xED, 0xA0, 0x80], [0xC0, 0xAF]] {
            #expect(throws: JSONParser.Error.self) { try JSONParser.parse([0x22] + bad + [0x22]) }
        }
    }

    @Test func writerEscapesAndRoundTrips() throws {
        var w = JSONWriter()
        w.objectStart()
        w.field("s", "q\"\\\n\u{1}")
        w.field("i", 42)
        w.field("d", 0.5)
        w.key("a"); w.arrayStart(); w.int(1); w.null(); w.bool(true); w.arrayEnd()
        w.objectEnd()
        #expect(w.string == #"{"s":"q\"\\\n\u0001","i":42,"d":0.5,"a":[1,null,true]}"#)
        let back = try JSONParser.parse(w.bytes)
        #expect(back["s"] == .string("q\"\\\n\u{1}"))
        #expect(back.jsonText == w.string)

        // Escaping in runs, every control character as \u00XX (lower-case hex), DEL too.
        var e = JSONWriter()
        e.stringParts(UnsafeRawBufferPointer(start: nil, count: 0))
        "ab\u{1F}c\u{7F}d\"\\e\t\r".utf8.withContiguousStorageIfAvailable { e.stringParts(UnsafeRawBufferPointer($0)) }
        #expect(e.string == #""","ab\u001fc\u007fd\"\\e\t\r""#)
        // Integers without String building, every edge of the range.
        var n = JSONWriter()
        n.arrayStart(); n.int(0); n.int(-42); n.int(Int64.min); n.int(Int64.max); n.int(UInt64.max); n.arrayEnd()
        #expect(n.string == "[0,-42,-9223372036854775808,9223372036854775807,18446744073709551615]")
        // One decimal, as `double` would print the rounded value.
        var d = JSONWriter()
        d.arrayStart(); d.oneDecimal(340.66); d.oneDecimal(50.01); d.oneDecimal(0.04); d.oneDecimal(-0.5); d.oneDecimal(-12.34); d.oneDecimal(.infinity); d.arrayEnd()
        #expect(d.string == "[340.7,50,0,-0.5,-12.3,null]")
    }
}
