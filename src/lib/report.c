/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SNP ATTESTATION_REPORT codec.  One table describes the layout; decode and
 * encode both walk it field by field through the bounds-checked reader and
 * writer, so the two directions cannot disagree.
 *
 * Layout: SEV-SNP ABI spec 56860, "ATTESTATION_REPORT Structure" (versions 2,
 * 3 and 5; version 4 has the version-3 layout).
 */
#include <stddef.h>
#include <string.h>

#include "sevattest/bytes.h"
#include "sevattest/report.h"

#include "internal.h"

/* A report field at wire offset off; its size is the member's. */
#define F(off, kind, m, name) SA_FIELD(sa_snp_report, off, SA_FIELD_##kind, m, name)

static const sa_field layout[] = {
	F(0x000, U32, version, "VERSION"),
	F(0x004, U32, guest_svn, "GUEST_SVN"),
	F(0x008, U64, policy, "POLICY"),
	F(0x010, BYTES, family_id, "FAMILY_ID"),
	F(0x020, BYTES, image_id, "IMAGE_ID"),
	F(0x030, U32, vmpl, "VMPL"),
	F(0x034, U32, signature_algo, "SIGNATURE_ALGO"),
	F(0x038, U64, current_tcb, "CURRENT_TCB"),
	F(0x040, U64, platform_info, "PLATFORM_INFO"),
	F(0x048, U32, key_info, "KEY_INFO"),
	F(0x04C, BYTES, reserved_04c, "reserved (0x04C)"),
	F(0x050, BYTES, report_data, "REPORT_DATA"),
	F(0x090, BYTES, measurement, "MEASUREMENT"),
	F(0x0C0, BYTES, host_data, "HOST_DATA"),
	F(0x0E0, BYTES, id_key_digest, "ID_KEY_DIGEST"),
	F(0x110, BYTES, author_key_digest, "AUTHOR_KEY_DIGEST"),
	F(0x140, BYTES, report_id, "REPORT_ID"),
	F(0x160, BYTES, report_id_ma, "REPORT_ID_MA"),
	F(0x180, U64, reported_tcb, "REPORTED_TCB"),
	F(0x188, U8, cpuid_fam_id, "CPUID_FAM_ID"),
	F(0x189, U8, cpuid_mod_id, "CPUID_MOD_ID"),
	F(0x18A, U8, cpuid_step, "CPUID_STEP"),
	F(0x18B, BYTES, reserved_18b, "reserved (0x18B)"),
	F(0x1A0, BYTES, chip_id, "CHIP_ID"),
	F(0x1E0, U64, committed_tcb, "COMMITTED_TCB"),
	F(0x1E8, U8, current.build, "CURRENT_BUILD"),
	F(0x1E9, U8, current.minor, "CURRENT_MINOR"),
	F(0x1EA, U8, current.major, "CURRENT_MAJOR"),
	F(0x1EB, U8, reserved_1eb, "reserved (0x1EB)"),
	F(0x1EC, U8, committed.build, "COMMITTED_BUILD"),
	F(0x1ED, U8, committed.minor, "COMMITTED_MINOR"),
	F(0x1EE, U8, committed.major, "COMMITTED_MAJOR"),
	F(0x1EF, U8, reserved_1ef, "reserved (0x1EF)"),
	F(0x1F0, U64, launch_tcb, "LAUNCH_TCB"),
	F(0x1F8, U64, launch_mit_vector, "LAUNCH_MIT_VECTOR"),
	F(0x200, U64, current_mit_vector, "CURRENT_MIT_VECTOR"),
	F(0x208, BYTES, reserved_208, "reserved (0x208)"),
	F(0x2A0, BYTES, sig_r, "SIGNATURE.R"),
	F(0x2E8, BYTES, sig_s, "SIGNATURE.S"),
	F(0x330, BYTES, sig_reserved, "SIGNATURE reserved (0x330)"),
};

_Static_assert(sizeof(((sa_snp_report *)0)->reserved_208) == 0x2A0 - 0x208, "reserved_208 size");

sa_status sa_snp_report_decode(const uint8_t *buf, size_t len, sa_snp_report *out, sa_error *err)
{
	SA_ENSURE(buf || len == 0, err, SA_ERR_ARG, "report: no buffer");
	SA_ENSURE(len >= SA_SNP_REPORT_SIZE, err, SA_ERR_TRUNCATED,
		  "report: %zu bytes, an SNP attestation report is exactly %d (0x%X) bytes", len, SA_SNP_REPORT_SIZE,
		  SA_SNP_REPORT_SIZE);
	SA_ENSURE(len == SA_SNP_REPORT_SIZE, err, SA_ERR_TRAILING,
		  "report: %zu bytes, an SNP attestation report is exactly %d (0x%X) bytes (%zu extra)", len,
		  SA_SNP_REPORT_SIZE, SA_SNP_REPORT_SIZE, len - SA_SNP_REPORT_SIZE);
	sa_snp_report r;
	memset(&r, 0, sizeof(r));
	sa_reader rd;
	sa_reader_init(&rd, buf, len);
	SA_TRY(sa_read_fields(&rd, layout, SA_ARRAY_LEN(layout), &r, "report", err));
	SA_TRY(sa_reader_expect_end(&rd, "report", err));
	SA_ENSURE(r.version >= SA_SNP_REPORT_MIN_VERSION, err, SA_ERR_UNSUPPORTED,
		  "report: VERSION is %u, expected %d or later", r.version, SA_SNP_REPORT_MIN_VERSION);
	*out = r;
	return SA_OK;
}

sa_status sa_snp_report_encode(const sa_snp_report *r, uint8_t *out, size_t cap, sa_error *err)
{
	SA_ENSURE(cap >= SA_SNP_REPORT_SIZE, err, SA_ERR_RANGE, "report: output buffer of %zu bytes, needs %d", cap,
		  SA_SNP_REPORT_SIZE);
	sa_writer w;
	sa_writer_init(&w, out, SA_SNP_REPORT_SIZE);
	SA_TRY(sa_write_fields(&w, layout, SA_ARRAY_LEN(layout), r, "report", err));
	SA_ENSURE(sa_writer_offset(&w) == SA_SNP_REPORT_SIZE, err, SA_ERR_STATE, "report: encoded %zu bytes",
		  sa_writer_offset(&w));
	return SA_OK;
}

const char *sa_signing_key_name(unsigned key)
{
	switch (key) {
	case SA_SIGNING_KEY_VCEK: return "VCEK";
	case SA_SIGNING_KEY_VLEK: return "VLEK";
	case SA_SIGNING_KEY_NONE: return "none";
	}
	return "reserved";
}

sa_product sa_snp_report_cpuid_product(const sa_snp_report *r)
{
	if (!sa_snp_report_has_cpuid(r))
		return SA_PRODUCT_UNKNOWN;
	return sa_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id);
}

static void add_finding(sa_reserved_finding *out, size_t max, size_t *n, size_t off, size_t len, const char *name,
			bool mbz)
{
	if (*n < max) {
		out[*n].offset = off;
		out[*n].length = len;
		out[*n].name = name;
		out[*n].mbz = mbz;
	}
	(*n)++;
}

size_t sa_snp_report_findings(const sa_snp_report *r, sa_reserved_finding *out, size_t max)
{
	size_t n = 0;
	/* Regions the report's own version defines as reserved are must-be-zero;
	 * in a version newer than we know they may hold fields we cannot name. */
	bool known = r->version <= SA_SNP_REPORT_MAX_VERSION;
	if (r->key_info & SA_KEYINFO_MBZ_MASK)
		add_finding(out, max, &n, 0x48, 4, "KEY_INFO bits 31:5", known);
	unsigned sk = sa_snp_report_signing_key(r);
	if (sk != SA_SIGNING_KEY_VCEK && sk != SA_SIGNING_KEY_VLEK && sk != SA_SIGNING_KEY_NONE)
		add_finding(out, max, &n, 0x48, 4, "KEY_INFO.SIGNING_KEY (reserved value)", known);
	if (!sa_all_zero(r->reserved_04c, sizeof(r->reserved_04c)))
		add_finding(out, max, &n, 0x4C, 4, "reserved (0x04C)", known);
	if (!sa_snp_report_has_cpuid(r) && (r->cpuid_fam_id || r->cpuid_mod_id || r->cpuid_step))
		add_finding(out, max, &n, 0x188, 3, "CPUID fields (reserved before version 3)", true);
	if (!sa_all_zero(r->reserved_18b, sizeof(r->reserved_18b)))
		add_finding(out, max, &n, 0x18B, 21, "reserved (0x18B)", known);
	if (r->reserved_1eb)
		add_finding(out, max, &n, 0x1EB, 1, "reserved (0x1EB)", known);
	if (r->reserved_1ef)
		add_finding(out, max, &n, 0x1EF, 1, "reserved (0x1EF)", known);
	if (!sa_snp_report_has_mit_vectors(r) && (r->launch_mit_vector || r->current_mit_vector))
		add_finding(out, max, &n, 0x1F8, 16, "MIT vectors (reserved before version 5)", true);
	if (!sa_all_zero(r->reserved_208, sizeof(r->reserved_208)))
		add_finding(out, max, &n, 0x208, 0x98, "reserved (0x208)", known);
	if (!sa_all_zero(r->sig_reserved, sizeof(r->sig_reserved)))
		add_finding(out, max, &n, 0x330, 0x170, "SIGNATURE reserved (0x330)", known);
	return n;
}
