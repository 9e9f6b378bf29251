/* SPDX-License-Identifier: Apache-2.0 */
/* Loopback HTTP/1.1 test server; see httpd.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "httpd.h"
#include "testutil.h"

#define MAX_ROUTES 32
#define MAX_LOG 256
#define MAX_TARGET 1024
#define MAX_REQUEST 8192

struct route {
	char target[MAX_TARGET];
	bool has_answer;
	int status;
	char *headers;
	uint8_t *body;
	size_t len;
	unsigned throttle_left;
	int retry_after;
	unsigned hits;
	bool no_length;
};

struct tu_httpd {
	int fd;
	char url[64];
	pthread_t thread;
	pthread_mutex_t mu;
	int stop; /* under mu */
	struct route routes[MAX_ROUTES];
	size_t nroutes;
	char log[MAX_LOG][MAX_TARGET];
	unsigned nlog, total;
};

static struct route *find_route(tu_httpd *h, const char *target, bool create)
{
	for (size_t i = 0; i < h->nroutes; i++)
		if (strcmp(h->routes[i].target, target) == 0)
			return &h->routes[i];
	if (!create)
		return NULL;
	assert_true(h->nroutes < MAX_ROUTES);
	assert_true(strlen(target) < MAX_TARGET);
	struct route *r = &h->routes[h->nroutes++];
	memset(r, 0, sizeof(*r));
	strcpy(r->target, target);
	r->retry_after = -1;
	return r;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 404: return "Not Found";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

static void send_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the client went away (e.g. it refused an oversized body) */
		p += w;
		len -= (size_t)w;
	}
}

/* Read one request head; returns its length or -1. */
static ssize_t read_head(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return (ssize_t)n;
	}
	return -1;
}

static void serve_one(tu_httpd *h, int fd)
{
	struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	char req[MAX_REQUEST];
	if (read_head(fd, req, sizeof(req)) < 0)
		return;
	char target[MAX_TARGET] = "";
	const char *sp = strchr(req, ' ');
	const char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
	bool is_get = strncmp(req, "GET ", 4) == 0;
	if (sp && sp2 && (size_t)(sp2 - sp - 1) < sizeof(target)) {
		memcpy(target, sp + 1, (size_t)(sp2 - sp - 1));
		target[sp2 - sp - 1] = '\0';
	}

	int status = 404;
	char extra[256] = "";
	bool no_length = false;
	const char *headers = "";
	uint8_t *body = NULL;
	size_t len = 0;
	pthread_mutex_lock(&h->mu);
	h->total++;
	if (h->nlog < MAX_LOG)
		snprintf(h->log[h->nlog++], MAX_TARGET, "%s", target);
	struct route *r = is_get ? find_route(h, target, false) : NULL;
	if (!is_get)
		status = 405;
	if (r) {
		r->hits++;
		if (r->throttle_left > 0) {
			if (r->throttle_left != ~0u)
				r->throttle_left--;
			status = 429;
			if (r->retry_after >= 0)
				snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", r->retry_after);
		} else if (r->has_answer) {
			status = r->status;
			no_length = r->no_length;
			headers = r->headers ? r->headers : "";
			body = r->len ? malloc(r->len) : NULL;
			if (body) { /* no cmocka asserts on this thread: on OOM the client sees a short body */
				memcpy(body, r->body, r->len);
				len = r->len;
			}
		}
	}
	char head[1024], clen[64] = "";
	if (!no_length)
		snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", len);
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n%sConnection: close\r\n%s%s\r\n", status,
			 reason(status), clen, extra, headers);
	pthread_mutex_unlock(&h->mu);
	if (n > 0 && (size_t)n < sizeof(head)) {
		send_all(fd, head, (size_t)n);
		send_all(fd, body, len);
	}
	free(body);
}

static void *run(void *arg)
{
	tu_httpd *h = arg;
	for (;;) {
		pthread_mutex_lock(&h->mu);
		int stop = h->stop;
		pthread_mutex_unlock(&h->mu);
		if (stop)
			break;
		struct pollfd p = {.fd = h->fd, .events = POLLIN};
		int rc = poll(&p, 1, 50);
		if (rc <= 0)
			continue;
		int c = accept(h->fd, NULL, NULL);
		if (c < 0)
			continue;
		serve_one(h, c);
		shutdown(c, SHUT_WR);
		close(c);
	}
	return NULL;
}

tu_httpd *tu_httpd_start(void)
{
	tu_httpd *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(h->fd >= 0);
	int one = 1;
	setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	assert_int_equal(bind(h->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(h->fd, 16), 0);
	socklen_t alen = sizeof(a);
	assert_int_equal(getsockname(h->fd, (struct sockaddr *)&a, &alen), 0);
	snprintf(h->url, sizeof(h->url), "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
	assert_int_equal(pthread_mutex_init(&h->mu, NULL), 0);
	assert_int_equal(pthread_create(&h->thread, NULL, run, h), 0);
	return h;
}

void tu_httpd_stop(tu_httpd *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = 1;
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	close(h->fd);
	for (size_t i = 0; i < h->nroutes; i++) {
		free(h->routes[i].headers);
		free(h->routes[i].body);
	}
	pthread_mutex_destroy(&h->mu);
	free(h);
}

const char *tu_httpd_url(const tu_httpd *h) { return h->url; }

void tu_httpd_set(tu_httpd *h, const char *target, int status, const char *headers, const void *body, size_t len)
{
	pthread_mutex_lock(&h->mu);
	struct route *r = find_route(h, target, true);
	free(r->headers);
	free(r->body);
	r->headers = headers ? strdup(headers) : NULL;
	r->body = NULL;
	if (len) {
		r->body = malloc(len);
		assert_non_null(r->body);
		memcpy(r->body, body, len);
	}
	r->len = len;
	r->status = status;
	r->has_answer = true;
	pthread_mutex_unlock(&h->mu);
}

void tu_httpd_omit_length(tu_httpd *h, const char *target)
{
	pthread_mutex_lock(&h->mu);
	find_route(h, target, true)->no_length = true;
	pthread_mutex_unlock(&h->mu);
}

void tu_httpd_throttle(tu_httpd *h, const char *target, unsigned k, int retry_after)
{
	pthread_mutex_lock(&h->mu);
	struct route *r = find_route(h, target, true);
	r->throttle_left = k;
	r->retry_after = retry_after;
	pthread_mutex_unlock(&h->mu);
}

unsigned tu_httpd_hits(tu_httpd *h, const char *target)
{
	pthread_mutex_lock(&h->mu);
	struct route *r = find_route(h, target, false);
	unsigned n = r ? r->hits : 0;
	/* Unrouted targets are counted only in the log. */
	if (!r)
		for (unsigned i = 0; i < h->nlog; i++)
			n += strcmp(h->log[i], target) == 0;
	pthread_mutex_unlock(&h->mu);
	return n;
}

unsigned tu_httpd_total(tu_httpd *h)
{
	pthread_mutex_lock(&h->mu);
	unsigned n = h->total;
	pthread_mutex_unlock(&h->mu);
	return n;
}

int tu_httpd_request(tu_httpd *h, unsigned i, char *buf, size_t cap)
{
	int rc = -1;
	pthread_mutex_lock(&h->mu);
	if (i < h->nlog) {
		snprintf(buf, cap, "%s", h->log[i]);
		rc = 0;
	}
	pthread_mutex_unlock(&h->mu);
	return rc;
}

void tu_httpd_reset_counts(tu_httpd *h)
{
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->nroutes; i++)
		h->routes[i].hits = 0;
	h->nlog = 0;
	h->total = 0;
	pthread_mutex_unlock(&h->mu);
}
