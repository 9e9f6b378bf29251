/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON renderings of the library's objects, so that everything the CLI prints
 * can also be had by programs.  Each returns a malloc'ed NUL-terminated string
 * (pretty-printed) or NULL on allocation failure.
 */
#ifndef SEVATTEST_JSON_H
#define SEVATTEST_JSON_H

#include "sevattest/cert.h"
#include "sevattest/report.h"
#include "sevattest/sev_cert.h"
#include "sevattest/verify.h"

#ifdef __cplusplus
extern "C" {
#endif

/* product: used to decode the TCB fields when the report's CPUID does not say. */
char *sa_snp_report_to_json(const sa_snp_report *r, sa_product product);
char *sa_cert_to_json(const sa_cert *c);
char *sa_verdict_to_json(const sa_verdict *v);
/* AMD-format certificates, every field; offset: where the certificate starts in its file or bundle. */
char *sa_sev_cert_to_json(const sa_sev_cert *c, size_t offset);
char *sa_amd_cert_to_json(const sa_amd_cert *c, size_t offset);

#ifdef __cplusplus
}
#endif
#endif
