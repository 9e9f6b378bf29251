/* SPDX-License-Identifier: Apache-2.0 */
/* QMP: the bounded message reader and the client (see include/sevattest/qmp.h). */
#include "sevattest/qmp.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "qmp_internal.h"
#include "sevattest/encoding.h"

/* ---- the reader ------------------------------------------------------------ */

/* Scanner state for the message being received (reset after each message). */
#define SCAN_IDLE 0  /* between messages */
#define SCAN_MSG 1   /* inside an object or array */
#define SCAN_JUNK 2  /* a top-level token that is not an object: dropped */

void sa_qmp_reader_init(sa_qmp_reader *r, size_t max_size, unsigned max_depth)
{
	memset(r, 0, sizeof(*r));
	r->max_size = max_size ? max_size : SA_QMP_MAX_MESSAGE_DEFAULT;
	if (r->max_size > (size_t)INT_MAX - 1)
		r->max_size = (size_t)INT_MAX - 1;
	r->max_depth = max_depth ? max_depth : SA_QMP_MAX_DEPTH_DEFAULT;
	if (r->max_depth > 1000)
		r->max_depth = 1000;
}

void sa_qmp_reader_free(sa_qmp_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

size_t sa_qmp_reader_pending(const sa_qmp_reader *r)
{
	return r->len;
}

static int is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static sa_status reader_append(sa_qmp_reader *r, const uint8_t *data, size_t n, sa_error *err)
{
	if (n == 0)
		return SA_OK;
	size_t need;
	SA_ENSURE(!__builtin_add_overflow(r->len, n, &need), err, SA_ERR_RANGE, "QMP input: length overflow");
	if (need > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < need) {
			SA_ENSURE(cap <= SIZE_MAX / 2, err, SA_ERR_RANGE, "QMP input: length overflow");
			cap *= 2;
		}
		uint8_t *nb = realloc(r->buf, cap);
		SA_ENSURE(nb != NULL, err, SA_ERR_NOMEM, "QMP input: out of memory");
		r->buf = nb;
		r->cap = cap;
	}
	if (n)
		memcpy(r->buf + r->len, data, n);
	r->len = need;
	return SA_OK;
}

static void reader_consume(sa_qmp_reader *r, size_t n)
{
	if (n < r->len)
		memmove(r->buf, r->buf + n, r->len - n);
	r->len -= n;
}

/* Count the members of every object in v (to compare with the member separators scanned). */
static size_t count_members(json_object *v)
{
	size_t n = 0;
	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, val)
		{
			(void)key;
			n += 1 + count_members(val);
		}
	} else if (json_object_is_type(v, json_type_array)) {
		size_t len = json_object_array_length(v);
		for (size_t i = 0; i < len; i++)
			n += count_members(json_object_array_get_idx(v, i));
	}
	return n;
}

/*
 * Find the end of the first message in buf[0, len): the whole message is
 * buf[start, *end).  Returns 1 when found, 0 when more bytes are needed, -1
 * with err set when it must be rejected (*end: bytes to drop).  *pairs
 * receives the number of ':' outside strings (object members).
 */
static int scan_message(const sa_qmp_reader *r, size_t *start, size_t *end, size_t *pairs, sa_status *code,
			sa_error *err)
{
	size_t i = 0;
	while (i < r->len && is_ws(r->buf[i]))
		i++;
	*start = i;
	if (i == r->len)
		return 0;
	uint8_t first = r->buf[i];
	if (first != '{' && first != '[') {
		/* QEMU's streamer hands a lone top-level token to the parser, which rejects it. */
		while (i < r->len && !is_ws(r->buf[i]) && r->buf[i] != '{' && r->buf[i] != '[')
			i++;
		*end = i;
		*code = SA_ERR_FORMAT;
		sa_error_set(err, SA_ERR_FORMAT, "QMP input must be a JSON object (got a token starting with 0x%02x)",
			     first);
		return -1;
	}
	unsigned depth = 0;
	bool in_str = false, esc = false;
	unsigned u_left = 0;
	bool u_zero = false;
	size_t colons = 0;
	bool bad = false; /* a string error was found: the message is dropped when it ends */
	for (; i < r->len; i++) {
		uint8_t c = r->buf[i];
		if (i - *start + 1 > r->max_size) {
			*code = SA_ERR_RANGE;
			sa_error_set(err, SA_ERR_RANGE, "QMP message longer than %zu bytes", r->max_size);
			return -1;
		}
		if (in_str) {
			if (u_left > 0) {
				u_left--;
				if (c != '0')
					u_zero = false;
				if (u_left == 0 && u_zero && !bad) {
					bad = true;
					sa_error_set(err, SA_ERR_FORMAT, "JSON parse error, \\u0000 is not supported");
				}
			} else if (esc) {
				esc = false;
				if (c == 'u') {
					u_left = 4;
					u_zero = true;
				}
			} else if (c == '\\') {
				esc = true;
			} else if (c == '"') {
				in_str = false;
			} else if (c < 0x20 && !bad) {
				bad = true;
				sa_error_set(err, SA_ERR_FORMAT,
					     "JSON parse error, control character 0x%02x in a string at byte %zu", c,
					     i - *start);
			}
			continue;
		}
		switch (c) {
		case '"':
			in_str = true;
			break;
		case '{':
		case '[':
			if (++depth > r->max_depth) {
				*code = SA_ERR_RANGE;
				sa_error_set(err, SA_ERR_RANGE, "QMP message nested deeper than %u", r->max_depth);
				return -1;
			}
			break;
		case '}':
		case ']':
			if (--depth == 0) {
				*end = i + 1;
				*pairs = colons;
				if (bad) {
					/* The malformed message is dropped whole; the stream goes on after it. */
					*code = SA_ERR_FORMAT;
					return -1;
				}
				return 1;
			}
			break;
		case ':':
			colons++;
			break;
		case '\'':
			/* QEMU also takes 'single-quoted' strings; strict JSON (and we) do not. */
			if (!bad) {
				bad = true;
				sa_error_set(err, SA_ERR_FORMAT, "JSON parse error, single-quoted strings are not accepted");
			}
			break;
		default:
			break;
		}
	}
	return 0;
}

sa_status sa_qmp_reader_next(sa_qmp_reader *r, const uint8_t *data, size_t n, json_object **msg, sa_error *err)
{
	*msg = NULL;
	SA_ENSURE(!r->poisoned, err, SA_ERR_RANGE, "QMP stream abandoned after a message exceeded the limits");
	SA_ENSURE(n == 0 || data != NULL, err, SA_ERR_ARG, "QMP input: NULL data");
	SA_TRY(reader_append(r, data, n, err));

	size_t start = 0, end = 0, pairs = 0;
	sa_status code = SA_OK;
	int found = scan_message(r, &start, &end, &pairs, &code, err);
	if (found == 0) {
		/* Leading whitespace is dropped so that pending() counts an incomplete message only. */
		reader_consume(r, start);
		if (r->len > r->max_size) {
			r->poisoned = true;
			return sa_error_set(err, SA_ERR_RANGE, "QMP message longer than %zu bytes", r->max_size);
		}
		return SA_OK;
	}
	if (found < 0) {
		if (code == SA_ERR_RANGE) {
			r->poisoned = true;
			return code;
		}
		reader_consume(r, end);
		return code;
	}

	size_t mlen = end - start;
	json_tokener *tok = json_tokener_new_ex((int)r->max_depth + 1);
	if (tok == NULL)
		return sa_error_set(err, SA_ERR_NOMEM, "QMP input: out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *obj = json_tokener_parse_ex(tok, (const char *)r->buf + start, (int)mlen);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t parse_end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	reader_consume(r, end);

	if (obj == NULL || jerr != json_tokener_success) {
		json_object_put(obj);
		return sa_error_set(err, SA_ERR_FORMAT, "JSON parse error, %s", json_tokener_error_desc(jerr));
	}
	if (parse_end != mlen) {
		json_object_put(obj);
		return sa_error_set(err, SA_ERR_FORMAT, "JSON parse error, trailing bytes after the value at %zu",
				    parse_end);
	}
	if (count_members(obj) != pairs) {
		json_object_put(obj);
		return sa_error_set(err, SA_ERR_FORMAT, "JSON parse error, duplicate key");
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return sa_error_set(err, SA_ERR_FORMAT, "QMP input must be a JSON object");
	}
	*msg = obj;
	return SA_OK;
}

/* ---- shared with the server -------------------------------------------------------- */

sa_status qmp_send(int fd, json_object *msg, sa_error *err)
{
	size_t len = 0;
	const char *text = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN, &len);
	SA_ENSURE(text != NULL, err, SA_ERR_NOMEM, "QMP: out of memory");
	/* One write per message: the text, then QEMU's line end. */
	char *line = malloc(len + 2);
	SA_ENSURE(line != NULL, err, SA_ERR_NOMEM, "QMP: out of memory");
	memcpy(line, text, len);
	line[len] = '\r';
	line[len + 1] = '\n';
	size_t off = 0, total = len + 2;
	while (off < total) {
		ssize_t w = send(fd, line + off, total - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			free(line);
			return sa_error_set(err, SA_ERR_IO, "QMP: write failed: %s", w < 0 ? strerror(e) : "closed");
		}
		off += (size_t)w;
	}
	free(line);
	return SA_OK;
}

json_object *qmp_member(json_object *obj, const char *key, json_type type)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* ---- the client ----------------------------------------------------------------- */

#define QMP_EVENTS_MAX 64

struct sa_qmp {
	int fd;
	int timeout_ms;
	uint64_t next_id;
	sa_qmp_reader r;
	sa_qmp_greeting g;
	json_object *events[QMP_EVENTS_MAX];
	size_t n_events;
};

static void keep_event(sa_qmp *q, json_object *msg)
{
	if (q->n_events == QMP_EVENTS_MAX) {
		json_object_put(q->events[0]);
		memmove(q->events, q->events + 1, (QMP_EVENTS_MAX - 1) * sizeof(q->events[0]));
		q->n_events--;
	}
	q->events[q->n_events++] = msg;
}

size_t sa_qmp_event_count(const sa_qmp *q)
{
	return q->n_events;
}

json_object *sa_qmp_event_get(const sa_qmp *q, size_t i)
{
	return i < q->n_events ? q->events[i] : NULL;
}

void sa_qmp_events_clear(sa_qmp *q)
{
	for (size_t i = 0; i < q->n_events; i++)
		json_object_put(q->events[i]);
	q->n_events = 0;
}

const sa_qmp_greeting *sa_qmp_get_greeting(const sa_qmp *q)
{
	return &q->g;
}

void sa_qmp_close(sa_qmp *q)
{
	if (q == NULL)
		return;
	sa_qmp_events_clear(q);
	sa_qmp_reader_free(&q->r);
	if (q->fd >= 0)
		close(q->fd);
	free(q);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next whole message from the peer, waiting at most the timeout in all. */
static sa_status client_read(sa_qmp *q, json_object **msg, sa_error *err)
{
	int64_t deadline = now_ms() + q->timeout_ms;
	uint8_t chunk[4096];
	size_t n = 0;
	for (;;) {
		sa_status st = sa_qmp_reader_next(&q->r, chunk, n, msg, err);
		if (st != SA_OK)
			return sa_error_wrap(err, st, "QMP reply");
		if (*msg != NULL)
			return SA_OK;
		int64_t left = deadline - now_ms();
		SA_ENSURE(left > 0, err, SA_ERR_IO, "QMP: no answer within %d ms", q->timeout_ms);
		struct pollfd pfd = {.fd = q->fd, .events = POLLIN};
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		SA_ENSURE(pr >= 0, err, SA_ERR_IO, "QMP: poll failed: %s", strerror(errno));
		SA_ENSURE(pr > 0, err, SA_ERR_IO, "QMP: no answer within %d ms", q->timeout_ms);
		ssize_t got = recv(q->fd, chunk, sizeof(chunk), 0);
		if (got < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		SA_ENSURE(got >= 0, err, SA_ERR_IO, "QMP: read failed: %s", strerror(errno));
		SA_ENSURE(got > 0, err, SA_ERR_IO, "QMP: the peer closed the connection%s",
			  sa_qmp_reader_pending(&q->r) ? " in the middle of a message" : "");
		n = (size_t)got;
	}
}

static sa_status parse_greeting(sa_qmp *q, json_object *msg, sa_error *err)
{
	json_object *qmp = qmp_member(msg, "QMP", json_type_object);
	SA_ENSURE(qmp != NULL, err, SA_ERR_FORMAT, "QMP greeting: expected an object with a \"QMP\" object");
	json_object *ver = qmp_member(qmp, "version", json_type_object);
	SA_ENSURE(ver != NULL, err, SA_ERR_FORMAT, "QMP greeting: \"version\" must be an object");
	json_object *qemu = qmp_member(ver, "qemu", json_type_object);
	SA_ENSURE(qemu != NULL, err, SA_ERR_FORMAT, "QMP greeting: \"version\".\"qemu\" must be an object");
	static const char *const names[3] = {"major", "minor", "micro"};
	unsigned *dst[3] = {&q->g.major, &q->g.minor, &q->g.micro};
	for (size_t i = 0; i < 3; i++) {
		json_object *v = qmp_member(qemu, names[i], json_type_int);
		SA_ENSURE(v != NULL, err, SA_ERR_FORMAT, "QMP greeting: version \"%s\" must be an integer", names[i]);
		int64_t x = json_object_get_int64(v);
		SA_ENSURE(x >= 0 && x <= 65535, err, SA_ERR_FORMAT,
			  "QMP greeting: version \"%s\": expected 0..65535, got %" PRId64, names[i], x);
		*dst[i] = (unsigned)x;
	}
	json_object *pkg = qmp_member(ver, "package", json_type_string);
	SA_ENSURE(pkg != NULL, err, SA_ERR_FORMAT, "QMP greeting: \"package\" must be a string");
	snprintf(q->g.package, sizeof(q->g.package), "%s", json_object_get_string(pkg));
	json_object *caps = qmp_member(qmp, "capabilities", json_type_array);
	SA_ENSURE(caps != NULL, err, SA_ERR_FORMAT, "QMP greeting: \"capabilities\" must be an array");
	for (size_t i = 0; i < json_object_array_length(caps); i++) {
		json_object *c = json_object_array_get_idx(caps, i);
		SA_ENSURE(json_object_is_type(c, json_type_string), err, SA_ERR_FORMAT,
			  "QMP greeting: capability %zu must be a string", i);
		if (strcmp(json_object_get_string(c), "oob") == 0)
			q->g.oob = true;
	}
	return SA_OK;
}

static sa_status parse_qmp_error(json_object *msg, sa_qmp_error *qerr, sa_error *err)
{
	json_object *e = qmp_member(msg, "error", json_type_object);
	SA_ENSURE(e != NULL, err, SA_ERR_FORMAT, "QMP reply: \"error\" must be an object");
	json_object *cls = qmp_member(e, "class", json_type_string);
	json_object *desc = qmp_member(e, "desc", json_type_string);
	SA_ENSURE(cls != NULL && desc != NULL, err, SA_ERR_FORMAT,
		  "QMP reply: \"error\" must have string members \"class\" and \"desc\"");
	sa_qmp_error tmp;
	snprintf(tmp.cls, sizeof(tmp.cls), "%s", json_object_get_string(cls));
	snprintf(tmp.desc, sizeof(tmp.desc), "%s", json_object_get_string(desc));
	if (qerr != NULL)
		*qerr = tmp;
	return sa_error_set(err, SA_ERR_STATE, "%s: %s", tmp.cls, tmp.desc);
}

sa_status sa_qmp_execute(sa_qmp *q, const char *command, json_object *args, json_object **ret, sa_qmp_error *qerr,
			 sa_error *err)
{
	if (ret != NULL)
		*ret = NULL;
	if (qerr != NULL)
		memset(qerr, 0, sizeof(*qerr));
	SA_ENSURE(q != NULL && command != NULL, err, SA_ERR_ARG, "QMP execute: NULL argument");
	SA_ENSURE(args == NULL || json_object_is_type(args, json_type_object), err, SA_ERR_ARG,
		  "QMP execute %s: arguments must be an object", command);
	char id[32];
	snprintf(id, sizeof(id), "sevattest-%" PRIu64, ++q->next_id);
	json_object *req = json_object_new_object();
	SA_ENSURE(req != NULL, err, SA_ERR_NOMEM, "QMP: out of memory");
	json_object_object_add(req, "execute", json_object_new_string(command));
	if (args != NULL)
		json_object_object_add(req, "arguments", json_object_get(args));
	json_object_object_add(req, "id", json_object_new_string(id));
	sa_status st = qmp_send(q->fd, req, err);
	json_object_put(req);
	SA_TRY(st);

	for (;;) {
		json_object *msg = NULL;
		SA_TRY(client_read(q, &msg, err));
		json_object *idv = NULL;
		bool has_id = json_object_object_get_ex(msg, "id", &idv);
		bool is_ours = has_id && json_object_is_type(idv, json_type_string) &&
			       strcmp(json_object_get_string(idv), id) == 0;
		bool is_reply = json_object_object_get_ex(msg, "return", NULL) ||
				json_object_object_get_ex(msg, "error", NULL);
		if (json_object_object_get_ex(msg, "event", NULL) || (has_id && !is_ours)) {
			keep_event(q, msg);
			continue;
		}
		if (!has_id) {
			/* We always send an id, so a reply without one means the server could not read our request. */
			if (is_reply && json_object_object_get_ex(msg, "error", NULL)) {
				sa_error tmp;
				(void)parse_qmp_error(msg, NULL, &tmp);
				json_object_put(msg);
				return sa_error_set(err, SA_ERR_FORMAT, "QMP %s: the server could not read the request: %s",
						    command, tmp.msg);
			}
			json_object_put(msg);
			return sa_error_set(err, SA_ERR_FORMAT, "QMP %s: a message that is neither a reply nor an event",
					    command);
		}
		sa_status rst;
		json_object *rv = NULL;
		if (json_object_object_get_ex(msg, "return", &rv)) {
			if (ret != NULL)
				*ret = json_object_get(rv);
			rst = SA_OK;
		} else if (json_object_object_get_ex(msg, "error", NULL)) {
			rst = parse_qmp_error(msg, qerr, err);
		} else {
			rst = sa_error_set(err, SA_ERR_FORMAT, "QMP %s: the reply has neither \"return\" nor \"error\"",
					   command);
		}
		json_object_put(msg);
		return rst;
	}
}

sa_status sa_qmp_open_fd(int fd, int timeout_ms, sa_qmp **out, sa_error *err)
{
	*out = NULL;
	sa_qmp *q = calloc(1, sizeof(*q));
	if (q == NULL) {
		close(fd);
		return sa_error_set(err, SA_ERR_NOMEM, "QMP: out of memory");
	}
	q->fd = fd;
	q->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	sa_qmp_reader_init(&q->r, 0, 0);
	json_object *greet = NULL;
	sa_status st = client_read(q, &greet, err);
	if (st == SA_OK) {
		st = parse_greeting(q, greet, err);
		json_object_put(greet);
	}
	if (st == SA_OK)
		st = sa_qmp_execute(q, "qmp_capabilities", NULL, NULL, NULL, err);
	if (st != SA_OK) {
		sa_qmp_close(q);
		return st;
	}
	*out = q;
	return SA_OK;
}

sa_status sa_qmp_connect(const char *path, int timeout_ms, sa_qmp **out, sa_error *err)
{
	*out = NULL;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	SA_ENSURE(path != NULL && strlen(path) < sizeof(sun.sun_path), err, SA_ERR_ARG,
		  "QMP socket path: expected at most %zu bytes", sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	SA_ENSURE(fd >= 0, err, SA_ERR_IO, "QMP: socket: %s", strerror(errno));
	/* A unix socket connects at once or fails at once (ECONNREFUSED, ENOENT): no wait needed. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int e = errno;
		close(fd);
		return sa_error_set(err, e == ENOENT ? SA_ERR_NOT_FOUND : SA_ERR_IO, "QMP: connect to %s: %s", path,
				    strerror(e));
	}
	return sa_qmp_open_fd(fd, timeout_ms, out, err);
}

/* ---- typed helpers ---------------------------------------------------------------- */

static sa_status get_b64(json_object *obj, const char *key, const char *what, uint8_t **out, size_t *len,
			 sa_error *err)
{
	json_object *v = qmp_member(obj, key, json_type_string);
	SA_ENSURE(v != NULL, err, SA_ERR_FORMAT, "QMP %s: \"%s\" must be a string", what, key);
	return sa_base64_decode_alloc(json_object_get_string(v), (size_t)json_object_get_string_len(v), 0, out, len,
				      key, err);
}

static sa_status get_uint(json_object *obj, const char *key, const char *what, uint64_t max, uint64_t *out,
			  sa_error *err)
{
	json_object *v = qmp_member(obj, key, json_type_int);
	SA_ENSURE(v != NULL, err, SA_ERR_FORMAT, "QMP %s: \"%s\" must be an integer", what, key);
	/* json-c keeps values above INT64_MAX as uint64. */
	uint64_t x;
	if (json_object_get_int64(v) < 0) {
		return sa_error_set(err, SA_ERR_FORMAT, "QMP %s: \"%s\": expected 0..%" PRIu64 ", got %" PRId64, what,
				    key, max, json_object_get_int64(v));
	}
	x = json_object_get_uint64(v);
	SA_ENSURE(x <= max, err, SA_ERR_FORMAT, "QMP %s: \"%s\": expected 0..%" PRIu64 ", got %" PRIu64, what, key,
		  max, x);
	*out = x;
	return SA_OK;
}

static sa_status expect_object(json_object *ret, const char *what, sa_error *err)
{
	SA_ENSURE(json_object_is_type(ret, json_type_object), err, SA_ERR_FORMAT, "QMP %s: the return must be an object",
		  what);
	return SA_OK;
}

static sa_status parse_sev_info(json_object *ret, sa_qmp_sev_info *out, sa_error *err)
{
	const char *w = "query-sev";
	SA_TRY(expect_object(ret, w, err));
	memset(out, 0, sizeof(*out));
	json_object *en = qmp_member(ret, "enabled", json_type_boolean);
	SA_ENSURE(en != NULL, err, SA_ERR_FORMAT, "QMP query-sev: \"enabled\" must be a boolean");
	out->enabled = json_object_get_boolean(en);
	uint64_t x;
	SA_TRY(get_uint(ret, "api-major", w, 255, &x, err));
	out->api_major = (uint8_t)x;
	SA_TRY(get_uint(ret, "api-minor", w, 255, &x, err));
	out->api_minor = (uint8_t)x;
	SA_TRY(get_uint(ret, "build-id", w, 255, &x, err));
	out->build_id = (uint8_t)x;
	json_object *state = qmp_member(ret, "state", json_type_string);
	SA_ENSURE(state != NULL, err, SA_ERR_FORMAT, "QMP query-sev: \"state\" must be a string");
	snprintf(out->state, sizeof(out->state), "%s", json_object_get_string(state));
	json_object *type = NULL;
	if (json_object_object_get_ex(ret, "sev-type", &type)) {
		SA_ENSURE(json_object_is_type(type, json_type_string), err, SA_ERR_FORMAT,
			  "QMP query-sev: \"sev-type\" must be a string");
		snprintf(out->sev_type, sizeof(out->sev_type), "%s", json_object_get_string(type));
	} else {
		snprintf(out->sev_type, sizeof(out->sev_type), "sev");
	}
	if (strcmp(out->sev_type, "sev-snp") == 0)
		return get_uint(ret, "snp-policy", w, UINT64_MAX, &out->snp_policy, err);
	SA_ENSURE(strcmp(out->sev_type, "sev") == 0, err, SA_ERR_FORMAT,
		  "QMP query-sev: \"sev-type\": expected \"sev\" or \"sev-snp\", got \"%s\"", out->sev_type);
	SA_TRY(get_uint(ret, "policy", w, UINT32_MAX, &x, err));
	out->policy = (uint32_t)x;
	SA_TRY(get_uint(ret, "handle", w, UINT32_MAX, &x, err));
	out->handle = (uint32_t)x;
	return SA_OK;
}

sa_status sa_qmp_query_sev(sa_qmp *q, sa_qmp_sev_info *out, sa_qmp_error *qerr, sa_error *err)
{
	json_object *ret = NULL;
	SA_TRY(sa_qmp_execute(q, "query-sev", NULL, &ret, qerr, err));
	sa_status st = parse_sev_info(ret, out, err);
	json_object_put(ret);
	return st;
}

void sa_qmp_sev_caps_free(sa_qmp_sev_caps *c)
{
	if (c == NULL)
		return;
	free(c->pdh);
	free(c->cert_chain);
	free(c->cpu0_id);
	memset(c, 0, sizeof(*c));
}

static sa_status parse_caps(json_object *ret, sa_qmp_sev_caps *out, sa_error *err)
{
	const char *w = "query-sev-capabilities";
	SA_TRY(expect_object(ret, w, err));
	SA_TRY(get_b64(ret, "pdh", w, &out->pdh, &out->pdh_len, err));
	SA_TRY(get_b64(ret, "cert-chain", w, &out->cert_chain, &out->cert_chain_len, err));
	if (json_object_object_get_ex(ret, "cpu0-id", NULL))
		SA_TRY(get_b64(ret, "cpu0-id", w, &out->cpu0_id, &out->cpu0_id_len, err));
	uint64_t x;
	SA_TRY(get_uint(ret, "cbitpos", w, 63, &x, err));
	out->cbitpos = (uint32_t)x;
	SA_TRY(get_uint(ret, "reduced-phys-bits", w, 63, &x, err));
	out->reduced_phys_bits = (uint32_t)x;
	return SA_OK;
}

sa_status sa_qmp_query_sev_capabilities(sa_qmp *q, sa_qmp_sev_caps *out, sa_qmp_error *qerr, sa_error *err)
{
	memset(out, 0, sizeof(*out));
	json_object *ret = NULL;
	SA_TRY(sa_qmp_execute(q, "query-sev-capabilities", NULL, &ret, qerr, err));
	sa_status st = parse_caps(ret, out, err);
	json_object_put(ret);
	if (st != SA_OK)
		sa_qmp_sev_caps_free(out);
	return st;
}

/* Execute a command whose return is {"data": base64}. */
static sa_status exec_data(sa_qmp *q, const char *cmd, json_object *args, uint8_t **data, size_t *len,
			   sa_qmp_error *qerr, sa_error *err)
{
	*data = NULL;
	*len = 0;
	json_object *ret = NULL;
	SA_TRY(sa_qmp_execute(q, cmd, args, &ret, qerr, err));
	sa_status st = expect_object(ret, cmd, err);
	if (st == SA_OK)
		st = get_b64(ret, "data", cmd, data, len, err);
	json_object_put(ret);
	return st;
}

sa_status sa_qmp_query_sev_launch_measure(sa_qmp *q, uint8_t **data, size_t *len, sa_qmp_error *qerr, sa_error *err)
{
	return exec_data(q, "query-sev-launch-measure", NULL, data, len, qerr, err);
}

static sa_status add_b64(json_object *args, const char *key, const uint8_t *data, size_t len, sa_error *err)
{
	char *b64 = sa_base64_encode(data, len);
	SA_ENSURE(b64 != NULL, err, SA_ERR_NOMEM, "QMP: out of memory");
	json_object_object_add(args, key, json_object_new_string(b64));
	free(b64);
	return SA_OK;
}

sa_status sa_qmp_sev_inject_launch_secret(sa_qmp *q, const uint8_t *hdr, size_t hdr_len, const uint8_t *secret,
					  size_t secret_len, bool has_gpa, uint64_t gpa, sa_qmp_error *qerr,
					  sa_error *err)
{
	if (qerr != NULL)
		memset(qerr, 0, sizeof(*qerr));
	json_object *args = json_object_new_object();
	SA_ENSURE(args != NULL, err, SA_ERR_NOMEM, "QMP: out of memory");
	sa_status st = add_b64(args, "packet-header", hdr, hdr_len, err);
	if (st == SA_OK)
		st = add_b64(args, "secret", secret, secret_len, err);
	if (st == SA_OK && has_gpa)
		json_object_object_add(args, "gpa", json_object_new_uint64(gpa));
	if (st == SA_OK)
		st = sa_qmp_execute(q, "sev-inject-launch-secret", args, NULL, qerr, err);
	json_object_put(args);
	return st;
}

static sa_status mnonce_args(const uint8_t *mnonce, json_object **args, sa_error *err)
{
	*args = json_object_new_object();
	SA_ENSURE(*args != NULL, err, SA_ERR_NOMEM, "QMP: out of memory");
	if (mnonce == NULL)
		return SA_OK;
	sa_status st = add_b64(*args, "mnonce", mnonce, 16, err);
	if (st != SA_OK) {
		json_object_put(*args);
		*args = NULL;
	}
	return st;
}

sa_status sa_qmp_query_sev_attestation_report(sa_qmp *q, const uint8_t mnonce[16], uint8_t **report, size_t *len,
					      sa_qmp_error *qerr, sa_error *err)
{
	*report = NULL;
	*len = 0;
	SA_ENSURE(mnonce != NULL, err, SA_ERR_ARG, "query-sev-attestation-report: mnonce is required");
	json_object *args = NULL;
	SA_TRY(mnonce_args(mnonce, &args, err));
	sa_status st = exec_data(q, "query-sev-attestation-report", args, report, len, qerr, err);
	json_object_put(args);
	return st;
}

sa_status sa_qmp_query_attestation_report(sa_qmp *q, const uint8_t *mnonce, json_object **ret, sa_qmp_error *qerr,
					  sa_error *err)
{
	*ret = NULL;
	json_object *args = NULL;
	SA_TRY(mnonce_args(mnonce, &args, err));
	json_object *r = NULL;
	sa_status st = sa_qmp_execute(q, "query-attestation-report", args, &r, qerr, err);
	json_object_put(args);
	SA_TRY(st);
	st = expect_object(r, "query-attestation-report", err);
	if (st != SA_OK) {
		json_object_put(r);
		return st;
	}
	*ret = r;
	return SA_OK;
}

sa_status sa_qmp_attestation_sev_data(json_object *ret, uint8_t **report, size_t *len, sa_error *err)
{
	*report = NULL;
	*len = 0;
	json_object *sev = NULL;
	SA_ENSURE(json_object_object_get_ex(ret, "sev", &sev), err, SA_ERR_NOT_FOUND,
		  "query-attestation-report: no \"sev\" member (not an SEV guest)");
	SA_ENSURE(json_object_is_type(sev, json_type_object), err, SA_ERR_FORMAT,
		  "query-attestation-report: \"sev\" must be an object");
	return get_b64(sev, "data", "query-attestation-report sev", report, len, err);
}
