#ifndef FOGHORN_CSQLITE_SHIM_H
#define FOGHORN_CSQLITE_SHIM_H
#include <sqlite3.h>

/// sqlite3_bind_text with SQLITE_TRANSIENT (a cast macro Swift cannot import): SQLite copies the bytes.
static inline int foghorn_sqlite3_bind_text(sqlite3_stmt *stmt, int index, const char *text, int bytes) {
    return sqlite3_bind_text(stmt, index, text, bytes, SQLITE_TRANSIENT);
}
#endif
