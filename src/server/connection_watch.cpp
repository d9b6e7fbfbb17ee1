// Finding a request's socket and polling the sockets of waiting requests for a hang-up.
#include "server/connection_watch.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <vector>

namespace zeroclip::server {

namespace {

bool address_is(const sockaddr_storage& address, const std::string& ip, int port) {
    char text[INET6_ADDRSTRLEN] = {};
    int actual_port = -1;
    if (address.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(address);
        inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
        actual_port = ntohs(in.sin_port);
    } else if (address.ss_family == AF_INET6) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
        inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
        actual_port = ntohs(in6.sin6_port);
    } else {
        return false;
    }
    return actual_port == port && ip == text;
}

// A TCP connection is the only live socket with its pair of addresses.
bool socket_is(int fd, const std::string& local_addr, int local_port, const std::string& remote_addr,
               int remote_port) {
    sockaddr_storage peer{}, local{};
    socklen_t peer_len = sizeof peer, local_len = sizeof local;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) return false;
    if (!address_is(peer, remote_addr, remote_port)) return false;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) return false;
    return address_is(local, local_addr, local_port);
}

int scan_for_socket(const std::string& local_addr, int local_port, const std::string& remote_addr,
                    int remote_port) {
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return -1;
    int found = -1;
    while (const dirent* entry = ::readdir(dir)) {
        char* end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (*end != '\0' || end == entry->d_name) continue;
        if (socket_is(static_cast<int>(fd), local_addr, local_port, remote_addr, remote_port)) {
            found = static_cast<int>(fd);
            break;
        }
    }
    ::closedir(dir);
    return found;
}

}  // namespace

int connection_socket(const std::string& local_addr, int local_port, const std::string& remote_addr,
                      int remote_port) {
    thread_local int last_socket = -1;
    if (last_socket >= 0 && socket_is(last_socket, local_addr, local_port, remote_addr, remote_port))
        return last_socket;
    last_socket = scan_for_socket(local_addr, local_port, remote_addr, remote_port);
    return last_socket;
}

void close_connection(int fd) {
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

HangupWatcher::HangupWatcher() : thread_([this] { loop(); }) {}

HangupWatcher::~HangupWatcher() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

HangupWatcher::Watch HangupWatcher::watch(int fd, CancelFlag flag) {
    if (fd < 0) return Watch(nullptr, 0);
    bool first;
    uint64_t id;
    {
        std::lock_guard lock(mutex_);
        first = entries_.empty();
        id = next_id_++;
        entries_.emplace(id, Entry{fd, std::move(flag)});
    }
    if (first) changed_.notify_all();  // the thread sleeps while nothing is watched
    return Watch(this, id);
}

HangupWatcher::Watch::~Watch() {
    if (!owner_) return;
    std::lock_guard lock(owner_->mutex_);
    owner_->entries_.erase(id_);
}

void HangupWatcher::loop() {
    std::vector<pollfd> fds;
    std::vector<CancelFlag> flags;
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (entries_.empty()) {
            changed_.wait(lock, [&] { return stopping_ || !entries_.empty(); });
            continue;
        }
        fds.clear();
        flags.clear();
        for (const auto& [id, entry] : entries_) {
            fds.push_back({entry.fd, POLLRDHUP, 0});
            flags.push_back(entry.flag);
        }
        lock.unlock();
        // A request that ends meanwhile leaves its flag set at worst: nobody reads it any more.
        if (::poll(fds.data(), fds.size(), 0) > 0) {
            for (size_t i = 0; i < fds.size(); ++i)
                if (fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) flags[i]->store(true);
        }
        lock.lock();
        changed_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stopping_; });
    }
}

}  // namespace zeroclip::server
