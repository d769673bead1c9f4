import CSQLite

/// One SQLite connection (the C API stays in this file). Used by one thread at a time: the
/// store's opening thread, then its writer thread.
final class SQLiteDatabase {
    private var handle: OpaquePointer?
    let path: String

    /// Opens (creating) `path`; `:memory:` is a private in-memory database.
    init(path: String) throws(StateStoreError) {
        self.path = path
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw StateStoreError(code: "STATE_OPEN_FAILED", message: "cannot open state database \(path): \(message)")
        }
        handle = db
        sqlite3_busy_timeout(db, 5000)  // another process holding the file: wait, then fail (never forever)
    }

    deinit { close() }

    func close() {
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Rows the last statement inserted, updated or deleted.
    var changes: Int { handle.map { Int(sqlite3_changes($0)) } ?? 0 }

    var lastError: String { handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed" }

    /// Runs SQL without results (several statements allowed).
    func exec(_ sql: String) throws(StateStoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? lastError
            sqlite3_free(message)
            throw StateStoreError(code: "STATE_WRITE_FAILED", message: "\(text) (SQLite \(rc))")
        }
    }

    func prepare(_ sql: String) throws(StateStoreError) -> Statement {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            throw StateStoreError(code: "STATE_WRITE_FAILED", message: "prepare failed: \(lastError)")
        }
        return Statement(stmt, db: self)
    }

    /// `PRAGMA user_version`: the schema version the file was written with.
    func userVersion() throws(StateStoreError) -> Int {
        let s = try prepare("PRAGMA user_version")
        guard try s.step() else { return 0 }
        return Int(s.int(0))
    }

    /// A prepared statement; finalized when released.
    final class Statement {
        private let stmt: OpaquePointer
        private unowned let db: SQLiteDatabase

        init(_ stmt: OpaquePointer, db: SQLiteDatabase) {
            self.stmt = stmt
            self.db = db
        }

        deinit { sqlite3_finalize(stmt) }

        /// Binds parameters 1… in order (String, Int64, Int, Double, nil) after resetting.
        func bind(_ values: [SQLValue]) throws(StateStoreError) {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
            for (i, v) in values.enumerated() {
                let index = Int32(i + 1)
                let rc: Int32
                switch v {
                case .text(let s):
                    rc = s.utf8CString.withUnsafeBufferPointer { foghorn_sqlite3_bind_text(stmt, index, $0.baseAddress, Int32($0.count - 1)) }
                case .int(let n): rc = sqlite3_bind_int64(stmt, index, n)
                case .real(let d): rc = sqlite3_bind_double(stmt, index, d)
                case .null: rc = sqlite3_bind_null(stmt, index)
                }
                if rc != SQLITE_OK { throw StateStoreError(code: "STATE_WRITE_FAILED", message: "bind failed: \(db.lastError)") }
            }
        }

        /// Steps once: true while a row is available, false when done.
        func step() throws(StateStoreError) -> Bool {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_ROW { return true }
            if rc == SQLITE_DONE { return false }
            let message = db.lastError
            sqlite3_reset(stmt)
            throw StateStoreError(code: "STATE_WRITE_FAILED", message: "\(message) (SQLite \(rc))")
        }

        /// Binds and runs a statement that returns no rows.
        func run(_ values: [SQLValue]) throws(StateStoreError) {
            try bind(values)
            while try step() {}
        }

        func text(_ column: Int32) -> String {
            guard let p = sqlite3_column_text(stmt, column) else { return "" }
            return String(cString: p)
        }

        func int(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }

        func real(_ column: Int32) -> Double? {
            sqlite3_column_type(stmt, column) == SQLITE_NULL ? nil : sqlite3_column_double(stmt, column)
        }
    }
}

/// A value bound to a statement parameter.
enum SQLValue {
    case text(String)
    case int(Int64)
    case real(Double)
    case null
}
