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
    }
}
