// SQLite connection, statements and transactions with one-line errors.
#include "index/sqlite_db.h"

#include "zeroclip/error.h"

namespace zeroclip::index {

SqliteDb::SqliteDb(const std::filesystem::path& path, Mode mode, int busy_timeout_ms) : path_(path) {
    int flags = SQLITE_OPEN_NOMUTEX;
    switch (mode) {
    case Mode::ReadOnly: flags |= SQLITE_OPEN_READONLY; break;
    case Mode::ReadWrite: flags |= SQLITE_OPEN_READWRITE; break;
    case Mode::Create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
    }
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close(db_);
        db_ = nullptr;
        throw Error(path.string() + ": cannot open: " + message);
    }
    sqlite3_extended_result_codes(db_, 1);
    // A second writer waits this long for the lock before failing with "database is locked".
    sqlite3_busy_timeout(db_, busy_timeout_ms);
}

SqliteDb::~SqliteDb() { sqlite3_close_v2(db_); }

void SqliteDb::fail(const std::string& what, int code) const {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(code);
    const int primary = code & 0xff;
    if (primary == SQLITE_NOTADB) message = "not a zeroclip index (not an SQLite database)";
    else if (primary == SQLITE_CORRUPT) message = "the database is damaged (" + message + ")";
    else if (primary == SQLITE_BUSY) message += " (another process holds it; try again)";
    throw Error(path_.string() + ": " + what + ": " + message);
}

void SqliteDb::exec(const char* sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
        sqlite3_free(error);
        fail(std::string("cannot run '") + std::string(sql).substr(0, 40) + "'", rc);
    }
}

int64_t SqliteDb::changes() const { return sqlite3_changes64(db_); }

Statement::Statement(SqliteDb& db, const char* sql) : db_(db) {
    const int rc = sqlite3_prepare_v3(db.handle(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc != SQLITE_OK) db_.fail("cannot prepare a statement", rc);
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int i, int64_t value) {
    const int rc = sqlite3_bind_int64(stmt_, i, value);
    if (rc != SQLITE_OK) db_.fail("cannot bind", rc);
    return *this;
}

Statement& Statement::bind(int i, std::string_view text) {
    const int rc = sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK) db_.fail("cannot bind", rc);
    return *this;
}

Statement& Statement::bind_blob(int i, std::span<const uint8_t> bytes) {
    // A zero-length blob, not NULL, for empty input.
    static const uint8_t empty = 0;
    const int rc = sqlite3_bind_blob64(stmt_, i, bytes.empty() ? &empty : bytes.data(), bytes.size(),
                                       SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) db_.fail("cannot bind", rc);
    return *this;
}

Statement& Statement::bind_blob(int i, std::string_view bytes) {
    return bind_blob(i, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

bool Statement::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3_reset(stmt_);
    db_.fail("query failed", rc);
}

void Statement::run() {
    while (step()) {
    }
    reset();
}

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

int64_t Statement::column_int(int i) const { return sqlite3_column_int64(stmt_, i); }

std::string Statement::column_text(int i) const {
    const auto* text = sqlite3_column_text(stmt_, i);
    return text ? std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, i)) : std::string();
}

std::span<const uint8_t> Statement::column_blob(int i) const {
    const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, i));
    return {data, static_cast<size_t>(sqlite3_column_bytes(stmt_, i))};
}

std::string Statement::column_blob_string(int i) const {
    const auto blob = column_blob(i);
    return {reinterpret_cast<const char*>(blob.data()), blob.size()};
}

bool Statement::column_is_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

Transaction::Transaction(SqliteDb& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
    if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
    db_.exec("COMMIT");
    done_ = true;
}

}  // namespace zeroclip::index
