import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Directories a test writes files into (certificates, config files): each one new
/// (`mkdtemp`), all removed with their contents when the test process exits, so
/// repeated runs leave nothing behind in the temporary directory.
///
/// Removal waits for the exit on purpose: a server under test may read a file
/// (a certificate on SIGHUP, a config on reload) long after the test's last
/// mention of the path.
public enum ScratchDirectory {
    private static let made = Mutex<[String]>([])

    /// A new empty directory under the temporary directory: `prefix`, a dash and six random
    /// characters.
    public static func make(_ prefix: String) throws -> String {
        // mkdtemp(3) replaces a template's six trailing "X"s with random characters.
        let randomPart = String(repeating: "X", count: 6)
        var template = Array((NSTemporaryDirectory() + prefix + "-" + randomPart).utf8CString)
        let made: String? = template.withUnsafeMutableBufferPointer { buffer in
            guard let p = mkdtemp(buffer.baseAddress!) else { return nil }
            return String(cString: p)
        }
        guard let path = made else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: prefix, "errno": errno])
        }
        let first = Self.made.withLock { list -> Bool in
            list.append(path)
            return list.count == 1
        }
        if first { atexit(removeAllAtExit) }
        return path
    }

    /// Removes every directory made so far (called by `atexit`).
    static func removeAll() {
        let paths = made.withLock { list -> [String] in
            defer { list.removeAll() }
            return list
        }
        for path in paths { try? FileManager.default.removeItem(atPath: path) }
    }
}

private func removeAllAtExit() {
    ScratchDirectory.removeAll()
}
