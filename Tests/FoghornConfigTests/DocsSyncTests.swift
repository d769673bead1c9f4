import Foundation
import Testing
import FoghornConfig

/// docs/OPERATIONS.md must list every config key with its default.
@Suite struct DocsSyncTests {
    static var operations: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("docs/OPERATIONS.md"), encoding: .utf8)) ?? ""
    }

    @Test func everyConfigKeyIsDocumentedWithItsDefault() {
        let doc = Self.operations
        #expect(!doc.isEmpty)
        for key in ConfigKeys.all {
            #expect(doc.contains("| `\(key.name)` | `\(key.defaultText)` |"), "docs/OPERATIONS.md lacks \(key.name) = \(key.defaultText)")
        }
    }
}
