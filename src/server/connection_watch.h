// server/connection_watch.h - noticing that an HTTP client went away while its request waits
// for the model. cpp-httplib 0.11 does not hand its socket to handlers, so the socket is found
// by its addresses (both ends); one thread then polls the sockets of all waiting requests.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "zeroclip/batcher.h"

namespace zeroclip::server {

// The descriptor of the connection with these addresses, or -1. httplib serves a keep-alive
// connection on one thread from its first request to its last, so each thread remembers the
// socket it found and checks it (two system calls) before scanning /proc/self/fd again.
int connection_socket(const std::string& local_addr, int local_port, const std::string& remote_addr,
                      int remote_port);

// Shuts a connection down (after its response was sent): httplib then ends the keep-alive loop
// that holds one of its threads. httplib 0.11 ignores a "Connection: close" response header,
// so this is how a refused client's thread is freed for others.
void close_connection(int fd);

// Sets a request's cancel flag when its client hangs up. One thread polls every watched socket
// (about 20 times a second while any is watched, not at all otherwise), rather than each
// waiting request waking up to look: at hundreds of requests a second those wake-ups cost the
// model a quarter of its speed on 2 cores.
class HangupWatcher {
public:
    HangupWatcher();
    ~HangupWatcher();
    HangupWatcher(const HangupWatcher&) = delete;
    HangupWatcher& operator=(const HangupWatcher&) = delete;

    // Watches `fd` for as long as the returned object lives; fd < 0 watches nothing.
    class Watch {
    public:
        Watch(Watch&& other) noexcept : owner_(other.owner_), id_(other.id_) { other.owner_ = nullptr; }
        Watch(const Watch&) = delete;
        Watch& operator=(const Watch&) = delete;
        Watch& operator=(Watch&&) = delete;
        ~Watch();

    private:
        friend class HangupWatcher;
        Watch(HangupWatcher* owner, uint64_t id) : owner_(owner), id_(id) {}
        HangupWatcher* owner_;
        uint64_t id_;
    };
    Watch watch(int fd, CancelFlag flag);

private:
    struct Entry {
        int fd;
        CancelFlag flag;
    };
    void loop();

    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<uint64_t, Entry> entries_;
    uint64_t next_id_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace zeroclip::server
