/* SPDX-License-Identifier: Apache-2.0 */
#include <stddef.h>
extern int sa_unused_cmd_owner_;
