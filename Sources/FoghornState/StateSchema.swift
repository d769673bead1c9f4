/// The SQLite state file's schema, as migrations: migration `k` takes a file at version `k`
/// (`PRAGMA user_version`) to `k + 1`. A file written by any earlier version opens and is
/// migrated in one transaction; a file from a newer Foghorn is refused (a downgrade would
/// silently drop what it does not know).
///
/// Version 1 (the first release with durable state) held registrations, token uses, modes,
/// playback records, weights and Mist nodes; version 2 added token revocation
/// (`enrollment_tokens.revoked`) and the store's epoch (`meta`).
enum StateSchema {
    static let migrations: [String] = [
        // 0 → 1
        """
        CREATE TABLE edges(
          node_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, domain TEXT NOT NULL, public_ip TEXT NOT NULL,
          lat REAL, lon REAL, location TEXT NOT NULL, base_url TEXT NOT NULL, capabilities INTEGER NOT NULL,
          enrolled_at_ms INTEGER NOT NULL);
        CREATE TABLE enrollment_tokens(token_id TEXT PRIMARY KEY, uses INTEGER NOT NULL, expires_at INTEGER NOT NULL);
        CREATE TABLE edge_modes(node_id TEXT PRIMARY KEY, mode TEXT NOT NULL);
        CREATE TABLE playback(playback_id TEXT PRIMARY KEY, stream TEXT NOT NULL, tenant TEXT NOT NULL, cluster TEXT NOT NULL);
        CREATE TABLE weights(id INTEGER PRIMARY KEY CHECK (id = 1), cpu INTEGER NOT NULL, ram INTEGER NOT NULL,
          bandwidth INTEGER NOT NULL, geo INTEGER NOT NULL, stream_bonus INTEGER NOT NULL,
          file_cpu INTEGER NOT NULL, file_ram INTEGER NOT NULL, file_bandwidth INTEGER NOT NULL, file_geo INTEGER NOT NULL,
          file_stream_bonus INTEGER NOT NULL);
        CREATE TABLE mist_nodes(node_id TEXT PRIMARY KEY, address TEXT NOT NULL, present INTEGER NOT NULL);
        """,
        // 1 → 2
        """
        ALTER TABLE enrollment_tokens ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
    ]

    static var currentVersion: Int { migrations.count }

    /// Brings `db` to ``currentVersion``; returns the version it had.
    @discardableResult
    static func migrate(_ db: SQLiteDatabase, upTo target: Int = currentVersion) throws(StateStoreError) -> Int {
        let found = try db.userVersion()
        guard found <= currentVersion else {
            throw StateStoreError(
                code: "STATE_SCHEMA_TOO_NEW",
                message: "\(db.path) has schema version \(found); this Foghorn knows up to \(currentVersion) (was it written by a newer release?)")
        }
        guard found < target else { return found }
        try db.exec("BEGIN IMMEDIATE")
        do throws(StateStoreError) {
            for v in found..<target { try db.exec(migrations[v]) }
            try db.exec("PRAGMA user_version = \(target)")
            try db.exec("COMMIT")
        } catch {
            try? db.exec("ROLLBACK")
            throw error
        }
        return found
    }
}
