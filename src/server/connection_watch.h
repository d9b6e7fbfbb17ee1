// server/connection_watch.h - noticing that an HTTP client went away while its request waits
// for the model. cpp-httplib 0.11 does not hand its socket to handlers, so the socket is found
// by its addresses (both ends), once, and then polled for a hang-up.
#pragma once

#include <string>

namespace zeroclip::server {

class ConnectionWatch {
public:
    ConnectionWatch(std::string local_addr, int local_port, std::string remote_addr, int remote_port);

    // True once the peer has closed or reset the connection.
    bool client_gone();

    // Shuts the connection down (after its response was sent): httplib then ends the keep-alive
    // loop that holds one of its threads. httplib 0.11 ignores a "Connection: close" response
    // header, so this is how a refused client's thread is freed for others.
    void close_connection();

private:
    std::string local_addr_, remote_addr_;
    int local_port_, remote_port_;
    int fd_ = -2;  // -2: not looked up yet; -1: not found (then never reports a hang-up)
};

}  // namespace zeroclip::server
