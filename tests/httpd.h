/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny HTTP/1.1 server for tests: one thread, 127.0.0.1 on an ephemeral
 * port, GET only, one request per connection (Connection: close).  It serves
 * a table of exact request targets (path plus query) set by the test and
 * answers 404 for anything else.  It records every request target it saw.
 */
#ifndef SEVATTEST_TEST_HTTPD_H
#define SEVATTEST_TEST_HTTPD_H

#include <stddef.h>

typedef struct tu_httpd tu_httpd;

/* Start serving; asserts on failure. */
tu_httpd *tu_httpd_start(void);
/* Stop the thread, close the socket, free everything. */
void tu_httpd_stop(tu_httpd *h);

/* "http://127.0.0.1:<port>" (owned by h). */
const char *tu_httpd_url(const tu_httpd *h);

/*
 * Serve target (e.g. "/vcek/v1/Milan/cert_chain") with this status, extra
 * header lines (each ending in "\r\n"; may be NULL) and body (copied).
 * Setting a target again replaces its answer.
 */
void tu_httpd_set(tu_httpd *h, const char *target, int status, const char *headers, const void *body, size_t len);

/* Send target's body without Content-Length (delimited by closing the connection). */
void tu_httpd_omit_length(tu_httpd *h, const char *target);

/*
 * Answer the first k requests for target with 429 Too Many Requests, with
 * "Retry-After: <retry_after>" unless retry_after < 0; later requests get the
 * answer set by tu_httpd_set.  k = ~0u throttles forever.
 */
void tu_httpd_throttle(tu_httpd *h, const char *target, unsigned k, int retry_after);

/* Requests seen for target, and in total. */
unsigned tu_httpd_hits(tu_httpd *h, const char *target);
unsigned tu_httpd_total(tu_httpd *h);
/* Copy the target of the i-th request (0-based) into buf; returns 0, or -1 if there is none. */
int tu_httpd_request(tu_httpd *h, unsigned i, char *buf, size_t cap);
/* Forget the hit counters and the request log (the table stays). */
void tu_httpd_reset_counts(tu_httpd *h);

#endif
