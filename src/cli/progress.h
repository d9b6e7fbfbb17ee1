// cli/progress.h - progress of a long command on stderr: a redrawn bar on a terminal, a line
// every 10 seconds otherwise.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

namespace zeroclip::cli {

using Clock = std::chrono::steady_clock;

inline std::string format_duration(double seconds) {
    const long s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

// Progress on stderr: a redrawn bar on a terminal, a line every 10 seconds otherwise.
class Progress {
public:
    Progress(std::string command, bool quiet)
        : command_(std::move(command)), quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1) {}

    void update(size_t done, size_t total) {
        if (quiet_ || total == 0) return;
        const auto now = Clock::now();
        const bool finished = done >= total;
        if (!tty_ && !finished && now - last_line_ < std::chrono::seconds(10)) return;
        last_line_ = now;
        const double elapsed = std::chrono::duration<double>(now - start_).count();
        const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
        const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
        char line[160];
        if (tty_) {
            constexpr int kWidth = 30;
            const int filled = static_cast<int>(kWidth * done / total);
            std::string bar(static_cast<size_t>(filled), '#');
            bar.resize(kWidth, '-');
            std::snprintf(line, sizeof line, "\r[%s] %zu/%zu %.1f img/s ETA %s\033[K", bar.c_str(), done, total,
                          rate, format_duration(eta).c_str());
            std::cerr << line << (finished ? "\n" : "") << std::flush;
            drawn_ = !finished;
        } else {
            std::snprintf(line, sizeof line, "zeroclip: %s %zu/%zu images (%.0f%%), %.1f img/s, ETA %s", command_.c_str(), done,
                          total, 100.0 * static_cast<double>(done) / static_cast<double>(total), rate,
                          format_duration(eta).c_str());
            std::cerr << line << "\n";
        }
    }

    // Clears a drawn bar so that a message gets its own line; the next update redraws it.
    void before_message() {
        if (drawn_) std::cerr << "\r\033[K";
        drawn_ = false;
    }

private:
    std::string command_;
    bool quiet_;
    bool tty_;
    bool drawn_ = false;
    Clock::time_point start_ = Clock::now();
    Clock::time_point last_line_ = Clock::now();
};

}  // namespace zeroclip::cli
