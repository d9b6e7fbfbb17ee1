// libcurl.h - libcurl, loaded on the first download instead of with the program.
//
// libcurl and the libraries it pulls in (TLS, Kerberos, LDAP, SSH, IDN...) cost every zeroclip
// process ~12 ms of start-up on a 2-core VM, and only the hub's downloads use it: it is opened
// with dlopen when the first HttpClient is made. curl.h still gives the types and constants.
#pragma once

#define CURL_DISABLE_TYPECHECK  // the typecheck macros would wrap curl_easy_setopt, not our pointer
#include <curl/curl.h>

namespace zeroclip::hub {

struct Libcurl {
    CURLcode (*global_init)(long flags);
    CURL* (*easy_init)();
    void (*easy_cleanup)(CURL* curl);
    void (*easy_reset)(CURL* curl);
    CURLcode (*easy_setopt)(CURL* curl, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL* curl, CURLINFO info, ...);
    CURLcode (*easy_perform)(CURL* curl);
    const char* (*easy_strerror)(CURLcode code);
    curl_slist* (*slist_append)(curl_slist* list, const char* text);
    void (*slist_free_all)(curl_slist* list);
};

// libcurl, loaded and initialised once (thread-safe). Throws Error naming the library when it
// is missing or lacks a function.
const Libcurl& libcurl();

}  // namespace zeroclip::hub
