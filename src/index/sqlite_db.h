// index/sqlite_db.h - a thin RAII layer over SQLite: one connection, prepared statements, and
// errors as zeroclip::Error naming the database file.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace zeroclip::index {

class SqliteDb;

class Statement {
public:
    Statement(SqliteDb& db, const char* sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    // Binding is 1-based, as in SQLite.
    Statement& bind(int i, int64_t value);
    Statement& bind(int i, std::string_view text);          // TEXT
    Statement& bind_blob(int i, std::span<const uint8_t> bytes);
    Statement& bind_blob(int i, std::string_view bytes);
    // Steps once: true while a row is available.
    bool step();
    // Steps to completion (for statements without results) and resets.
    void run();
    void reset();

    int64_t column_int(int i) const;
    std::string column_text(int i) const;
    std::span<const uint8_t> column_blob(int i) const;  // valid until the next step
    std::string column_blob_string(int i) const;
    bool column_is_null(int i) const;

private:
    SqliteDb& db_;
    sqlite3_stmt* stmt_ = nullptr;
};

class SqliteDb {
public:
    enum class Mode { ReadOnly, ReadWrite, Create };
    SqliteDb(const std::filesystem::path& path, Mode mode, int busy_timeout_ms);
    ~SqliteDb();
    SqliteDb(const SqliteDb&) = delete;
    SqliteDb& operator=(const SqliteDb&) = delete;

    void exec(const char* sql);
    int64_t changes() const;
    const std::filesystem::path& path() const { return path_; }
    sqlite3* handle() { return db_; }
    // Throws zeroclip::Error: "<path>: <what>: <sqlite message>".
    [[noreturn]] void fail(const std::string& what, int code) const;

private:
    std::filesystem::path path_;
    sqlite3* db_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed without commit().
class Transaction {
public:
    explicit Transaction(SqliteDb& db);
    ~Transaction();
    void commit();

private:
    SqliteDb& db_;
    bool done_ = false;
};

}  // namespace zeroclip::index
