// Finding a request's socket and polling it for a hang-up.
#include "server/connection_watch.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>

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

int find_socket(const std::string& local_addr, int local_port, const std::string& remote_addr, int remote_port) {
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return -1;
    int found = -1;
    while (const dirent* entry = ::readdir(dir)) {
        char* end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (*end != '\0' || end == entry->d_name) continue;
        sockaddr_storage peer{}, local{};
        socklen_t peer_len = sizeof peer, local_len = sizeof local;
        if (::getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
        if (!address_is(peer, remote_addr, remote_port)) continue;
        if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
        if (!address_is(local, local_addr, local_port)) continue;
        found = static_cast<int>(fd);
        break;
    }
    ::closedir(dir);
    return found;
}

}  // namespace

ConnectionWatch::ConnectionWatch(std::string local_addr, int local_port, std::string remote_addr, int remote_port)
    : local_addr_(std::move(local_addr)), remote_addr_(std::move(remote_addr)),
      local_port_(local_port), remote_port_(remote_port) {}

bool ConnectionWatch::client_gone() {
    if (fd_ == -2) fd_ = find_socket(local_addr_, local_port_, remote_addr_, remote_port_);
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

void ConnectionWatch::close_connection() {
    if (fd_ == -2) fd_ = find_socket(local_addr_, local_port_, remote_addr_, remote_port_);
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

}  // namespace zeroclip::server
