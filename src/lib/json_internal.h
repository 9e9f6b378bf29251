/* SPDX-License-Identifier: Apache-2.0 */
/* json-c helpers shared by the library's sources (not installed). */
#ifndef SEVATTEST_JSON_INTERNAL_H
#define SEVATTEST_JSON_INTERNAL_H

#include <stdbool.h>

#include <json-c/json.h>

#include "internal.h"

/* Add v under key, taking ownership of v: false (v freed) if o or v is NULL or the add fails. */
SA_INTERNAL bool sa_json_add(json_object *o, const char *key, json_object *v);

#endif
