#include "hub/progress_bar.h"

#include <cstdio>

namespace zeroclip::hub {

std::string format_bytes(uint64_t bytes) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1000 && unit < 4) value /= 1000, ++unit;
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
    return text;
}

ProgressBar::ProgressBar(std::string label, uint64_t total_bytes, bool enabled)
    : label_(std::move(label)), total_(total_bytes), enabled_(enabled), start_(std::chrono::steady_clock::now()) {
    if (label_.size() > 32) label_ = "..." + label_.substr(label_.size() - 29);
}

ProgressBar::~ProgressBar() {
    if (!enabled_) return;
    draw(true);
    std::fputc('\n', stderr);
}

void ProgressBar::set_initial(uint64_t resumed_bytes) {
    initial_ = done_ = resumed_bytes;
    start_ = std::chrono::steady_clock::now();
}

void ProgressBar::update(uint64_t done_bytes) {
    done_ = done_bytes;
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    draw(false);
}

void ProgressBar::draw(bool final) {
    drawn_ = true;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double speed = seconds > 0 ? static_cast<double>(done_ - initial_) / seconds : 0;
    const int percent = total_ > 0 ? static_cast<int>(100 * done_ / total_) : 100;
    std::string eta = "ETA --:--";
    if (final) {
        eta = "done";
    } else if (speed > 0 && total_ >= done_) {
        const auto left = static_cast<long>(static_cast<double>(total_ - done_) / speed);
        char text[32];
        std::snprintf(text, sizeof text, "ETA %ld:%02ld", left / 60, left % 60);
        eta = text;
    }
    std::fprintf(stderr, "\r%-32s %3d%% %10s / %-10s %10s/s  %s\x1b[K", label_.c_str(), percent,
                 format_bytes(done_).c_str(), format_bytes(total_).c_str(),
                 format_bytes(static_cast<uint64_t>(speed)).c_str(), eta.c_str());
    std::fflush(stderr);
}

}  // namespace zeroclip::hub
