/* SPDX-License-Identifier: Apache-2.0 */
/* Being written (session 2): see the header. */
#include <stddef.h>
extern int sa_unused_sev_verify_;
