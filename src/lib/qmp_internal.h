/* SPDX-License-Identifier: Apache-2.0 */
/* What the QMP client (qmp.c) and server (qmp_server.c) share (not installed). */
#ifndef SEVATTEST_QMP_INTERNAL_H
#define SEVATTEST_QMP_INTERNAL_H
#include <json-c/json.h>

#include "internal.h"

/* Write one message (compact JSON and "\r\n", as QEMU ends its lines). */
SA_INTERNAL SA_MUST_USE sa_status qmp_send(int fd, json_object *msg, sa_error *err);
/* obj's member key if it has that type, else NULL (borrowed). */
SA_INTERNAL json_object *qmp_member(json_object *obj, const char *key, json_type type);
#endif
