/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Expected launch measurements for SEV, SEV-ES and SEV-SNP guests booted with
 * OVMF (optionally with QEMU's measured direct boot of kernel, initrd and
 * command line).  The SNP digest is the firmware's PAGE_INFO chain (sa_gctx)
 * over the page plan (sa_snp_page_plan, measure.h), the one place the SNP
 * page layout lives.
 * SEV and SEV-ES hash OVMF ‖ hashes table [‖ VMSAs] with SHA-256.
 */
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "sevattest/bytes.h"
#include "sevattest/crypto.h"
#include "sevattest/gctx.h"
#include "sevattest/measure.h"
#include "sevattest/ovmf.h"

#include "internal.h"

#define MAX_VCPUS 1024u

static const struct {
	sa_measure_mode mode;
	const char *name;
} mode_names[] = {
	{SA_MEASURE_SNP, "snp"},
	{SA_MEASURE_SNP_OVMF_HASH, "snp:ovmf-hash"},
	{SA_MEASURE_SEVES, "seves"},
	{SA_MEASURE_SEV, "sev"},
};

sa_status sa_measure_mode_parse(const char *text, sa_measure_mode *out, sa_error *err)
{
	SA_ENSURE(text && out, err, SA_ERR_ARG, "measurement mode: missing text or output");
	for (size_t i = 0; i < SA_ARRAY_LEN(mode_names); i++)
		if (strcasecmp(text, mode_names[i].name) == 0) {
			*out = mode_names[i].mode;
			return SA_OK;
		}
	return sa_error_set(err, SA_ERR_ARG, "measurement mode '%s' is unknown, expected snp, snp:ovmf-hash, seves or sev",
			    text);
}

const char *sa_measure_mode_name(sa_measure_mode mode)
{
	for (size_t i = 0; i < SA_ARRAY_LEN(mode_names); i++)
		if (mode_names[i].mode == mode)
			return mode_names[i].name;
	return "unknown";
}

static const char *const vmm_names[] = {"qemu", "ec2", "gce"};

sa_status sa_vmm_type_parse(const char *text, sa_vmm_type *out, sa_error *err)
{
	SA_ENSURE(text && out, err, SA_ERR_ARG, "VMM type: missing text or output");
	for (size_t i = 0; i < SA_ARRAY_LEN(vmm_names); i++)
		if (strcasecmp(text, vmm_names[i]) == 0) {
			*out = (sa_vmm_type)i;
			return SA_OK;
		}
	return sa_error_set(err, SA_ERR_ARG, "VMM type '%s' is unknown, expected qemu, ec2 or gce", text);
}

const char *sa_vmm_type_name(sa_vmm_type vmm)
{
	return (unsigned)vmm < SA_ARRAY_LEN(vmm_names) ? vmm_names[vmm] : "unknown";
}

/* The table and entry GUIDs in EFI byte order (bytes_le). */
static const uint8_t table_guid[16] = {0x06, 0xd6, 0x38, 0x94, 0x22, 0x4f, 0xc9, 0x4c,
				       0xb4, 0x79, 0xa7, 0x93, 0xd4, 0x11, 0xfd, 0x21}; /* 9438d606-4f22-4cc9-b479-a793d411fd21 */
static const uint8_t cmdline_guid[16] = {0xd8, 0x2d, 0xd0, 0x97, 0x20, 0xbd, 0x94, 0x4c,
					 0xaa, 0x78, 0xe7, 0x71, 0x4d, 0x36, 0xab, 0x2a}; /* 97d02dd8-bd20-4c94-aa78-e7714d36ab2a */
static const uint8_t initrd_guid[16] = {0x31, 0xf7, 0xba, 0x44, 0x2f, 0x3a, 0xd7, 0x4b,
					0x9a, 0xf1, 0x41, 0xe2, 0x91, 0x69, 0x78, 0x1d}; /* 44baf731-3a2f-4bd7-9af1-41e29169781d */
static const uint8_t kernel_guid[16] = {0x37, 0x94, 0xe7, 0x4d, 0xd2, 0xab, 0x7f, 0x42,
					0xb8, 0x35, 0xd5, 0xb1, 0x72, 0xd2, 0x04, 0x5b}; /* 4de79437-abd2-427f-b835-d5b172d2045b */

#define HASH_ENTRY_SIZE 0x32u     /* GUID + u16 + SHA-256 */
#define HASHES_TABLE_LEN 0xA8u    /* unpadded: GUID + u16 + three entries */

static sa_status write_entry(sa_writer *w, const uint8_t guid[16], const uint8_t *data, size_t len,
			     const char *what, sa_error *err)
{
	static const uint8_t empty[1] = {0};
	uint8_t digest[32];
	SA_TRY(sa_sha256(len ? data : empty, len, digest, err));
	SA_TRY(sa_write_bytes(w, guid, 16, what, err));
	SA_TRY(sa_write_u16(w, HASH_ENTRY_SIZE, what, err));
	SA_TRY(sa_write_bytes(w, digest, sizeof(digest), what, err));
	return SA_OK;
}

sa_status sa_sev_hashes_table(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd, size_t initrd_len,
			      const char *cmdline, uint8_t out[SA_SEV_HASHES_TABLE_SIZE], sa_error *err)
{
	SA_ENSURE(out && (kernel || kernel_len == 0) && (initrd || initrd_len == 0), err, SA_ERR_ARG,
		  "SEV hashes table: missing kernel/initrd data or output");
	/* The command line is hashed with its terminating NUL, as QEMU passes it. */
	const char *cl = cmdline ? cmdline : "";
	size_t cl_len = strlen(cl) + 1;
	sa_writer w;
	sa_writer_init(&w, out, SA_SEV_HASHES_TABLE_SIZE);
	SA_TRY(sa_write_bytes(&w, table_guid, sizeof(table_guid), "SEV hashes table GUID", err));
	SA_TRY(sa_write_u16(&w, HASHES_TABLE_LEN, "SEV hashes table length", err));
	SA_TRY(write_entry(&w, cmdline_guid, (const uint8_t *)cl, cl_len, "SEV hashes table cmdline entry", err));
	SA_TRY(write_entry(&w, initrd_guid, initrd, initrd_len, "SEV hashes table initrd entry", err));
	SA_TRY(write_entry(&w, kernel_guid, kernel, kernel_len, "SEV hashes table kernel entry", err));
	SA_TRY(sa_write_zeros(&w, SA_SEV_HASHES_TABLE_SIZE - sa_writer_offset(&w), "SEV hashes table padding", err));
	return SA_OK;
}

/* A SHA-384 page hasher that fetches the algorithm once (the OVMF loop hashes every page). */
typedef struct hasher {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
} hasher;

static void hasher_free(hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
}

static sa_status hasher_init(hasher *h, const char *alg, sa_error *err)
{
	h->md = EVP_MD_fetch(NULL, alg, NULL);
	h->ctx = EVP_MD_CTX_new();
	if (!h->md || !h->ctx || EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1) {
		hasher_free(h);
		return sa_crypto_error(err, "%s: initialising the digest failed", alg);
	}
	return SA_OK;
}

static sa_status hasher_update(hasher *h, const void *data, size_t len, sa_error *err)
{
	if (len && EVP_DigestUpdate(h->ctx, data, len) != 1)
		return sa_crypto_error(err, "digest update failed");
	return SA_OK;
}

/* Finish into out and restart for the next message. */
static sa_status hasher_final(hasher *h, uint8_t *out, sa_error *err)
{
	unsigned n = 0;
	if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1)
		return sa_crypto_error(err, "digest final failed");
	return SA_OK;
}

static const uint8_t zero48[48];

/* Emit size/4096 pages of type starting at the section's GPA (a ZERO, UNMEASURED, ... run). */
static sa_status plan_run(sa_snp_page_fn fn, void *ctx, uint8_t type, const sa_ovmf_section *sec, sa_error *err)
{
	SA_ENSURE(sec->size % SA_PAGE_SIZE == 0 && sec->gpa % SA_PAGE_SIZE == 0, err, SA_ERR_FORMAT,
		  "OVMF SEV metadata %s section at GPA 0x%x: size 0x%x, expected a 4 KiB aligned GPA and size",
		  sa_ovmf_section_type_name(sec->type), sec->gpa, sec->size);
	for (uint64_t off = 0; off < sec->size; off += SA_PAGE_SIZE)
		SA_TRY(fn(ctx, type, (uint64_t)sec->gpa + off, NULL, err));
	return SA_OK;
}

/* The kernel hashes page: zeros with the table at hashes_table_base & 0xFFF. */
static sa_status build_hashes_page(const sa_ovmf *o, const sa_ovmf_section *sec,
				   const uint8_t table[SA_SEV_HASHES_TABLE_SIZE], uint8_t page[SA_PAGE_SIZE],
				   sa_error *err)
{
	SA_ENSURE(o->has_hashes_table, err, SA_ERR_UNSUPPORTED,
		  "Kernel specified but OVMF has no kernel hashes table entry (GUID 7255371f-3a3b-4b04-927b-1da6efa8d454)");
	SA_ENSURE(sec->size == SA_PAGE_SIZE, err, SA_ERR_FORMAT,
		  "OVMF SEV metadata SNP_KERNEL_HASHES section at GPA 0x%x: size 0x%x, expected 0x1000", sec->gpa,
		  sec->size);
	size_t off = o->hashes_table_base & (SA_PAGE_SIZE - 1);
	SA_ENSURE(off <= SA_PAGE_SIZE - SA_SEV_HASHES_TABLE_SIZE, err, SA_ERR_RANGE,
		  "OVMF kernel hashes table base 0x%x: the %d-byte table would cross its page", o->hashes_table_base,
		  SA_SEV_HASHES_TABLE_SIZE);
	sa_writer w;
	sa_writer_init(&w, page, SA_PAGE_SIZE);
	SA_TRY(sa_write_zeros(&w, off, "kernel hashes page (before the table)", err));
	SA_TRY(sa_write_bytes(&w, table, SA_SEV_HASHES_TABLE_SIZE, "kernel hashes table", err));
	SA_TRY(sa_write_zeros(&w, SA_PAGE_SIZE - sa_writer_offset(&w), "kernel hashes page (after the table)", err));
	return SA_OK;
}

static sa_status check_vcpus(const sa_measure_params *p, const sa_ovmf *o, sa_error *err)
{
	SA_ENSURE(p->vcpus >= 1 && p->vcpus <= MAX_VCPUS, err, SA_ERR_RANGE, "vCPU count %u, expected 1 to %u",
		  p->vcpus, MAX_VCPUS);
	SA_ENSURE(p->vcpus == 1 || o->sev_es_reset_eip != 0, err, SA_ERR_UNSUPPORTED,
		  "%u vCPUs need an AP reset vector, but OVMF has no SEV-ES reset block "
		  "(GUID 00f771de-1a7e-4fcb-890e-68c77e2fb44e) or it is 0",
		  p->vcpus);
	return SA_OK;
}

/* VMSA pages: BSP and (for more than one vCPU) AP. */
static sa_status build_vmsas(const sa_measure_params *p, const sa_ovmf *o, uint64_t features,
			     uint8_t bsp[SA_VMSA_SIZE], uint8_t ap[SA_VMSA_SIZE], sa_error *err)
{
	SA_TRY(sa_vmsa_build(p->vmm, SA_BSP_EIP, p->vcpu_sig, features, bsp, err));
	if (p->vcpus > 1)
		SA_TRY(sa_vmsa_build(p->vmm, o->sev_es_reset_eip, p->vcpu_sig, features, ap, err));
	return SA_OK;
}

/* The parameter checks every mode shares. */
static sa_status check_params(const sa_measure_params *p, sa_error *err)
{
	SA_ENSURE(p->mode == SA_MEASURE_SNP || p->mode == SA_MEASURE_SNP_OVMF_HASH || p->mode == SA_MEASURE_SEVES ||
			  p->mode == SA_MEASURE_SEV,
		  err, SA_ERR_ARG, "measure: mode %d, expected snp, snp:ovmf-hash, seves or sev", (int)p->mode);
	SA_ENSURE(p->vmm == SA_VMM_QEMU || p->vmm == SA_VMM_EC2 || p->vmm == SA_VMM_GCE, err, SA_ERR_ARG,
		  "measure: VMM type %d, expected qemu, ec2 or gce", (int)p->vmm);
	SA_ENSURE(!p->ovmf_hash || p->mode == SA_MEASURE_SNP, err, SA_ERR_ARG,
		  "measure: a precomputed OVMF hash applies to mode snp only, not %s", sa_measure_mode_name(p->mode));
	SA_ENSURE(p->has_kernel || (!p->initrd && !p->cmdline), err, SA_ERR_ARG,
		  "measure: an initrd or command line is measured only with a kernel");
	SA_ENSURE(!p->has_kernel || p->kernel || p->kernel_len == 0, err, SA_ERR_ARG, "measure: missing kernel data");
	SA_ENSURE((!p->vmsa_bsp && !p->vmsa_ap) || p->mode == SA_MEASURE_SEVES, err, SA_ERR_ARG,
		  "measure: given VMSA pages apply to mode seves only, not %s", sa_measure_mode_name(p->mode));
	SA_ENSURE(p->vmsa_bsp || !p->vmsa_ap, err, SA_ERR_ARG, "measure: an AP VMSA was given without the BSP VMSA");
	return SA_OK;
}

static sa_status snp_plan(const sa_measure_params *p, const sa_ovmf *o, sa_snp_page_fn fn, void *ctx,
			  sa_snp_plan_info *info, sa_error *err)
{
	if (!p->ovmf_hash)
		for (size_t off = 0; off < o->len; off += SA_PAGE_SIZE)
			SA_TRY(fn(ctx, SA_PAGE_NORMAL, o->gpa + off, o->data + off, err));
	if (p->mode == SA_MEASURE_SNP_OVMF_HASH)
		return SA_OK;
	SA_ENSURE(o->has_metadata, err, SA_ERR_UNSUPPORTED,
		  "OVMF has no SEV metadata (GUID dc886566-984a-4798-a75e-5585a7bf67cc): it does not support SEV-SNP");
	SA_TRY(check_vcpus(p, o, err));
	bool has_hashes_section = false;
	for (size_t i = 0; i < o->n_sections; i++)
		has_hashes_section |= o->sections[i].type == SA_OVMF_SNP_KERNEL_HASHES;
	SA_ENSURE(!p->has_kernel || has_hashes_section, err, SA_ERR_UNSUPPORTED,
		  "Kernel specified but OVMF metadata doesn't include SNP_KERNEL_HASHES section");
	if (p->has_kernel) {
		SA_TRY(sa_sev_hashes_table(p->kernel, p->kernel_len, p->initrd, p->initrd_len, p->cmdline,
					   info->hashes_table, err));
		info->has_hashes_table = true;
	}
	uint8_t page[SA_PAGE_SIZE];
	for (size_t i = 0; i < o->n_sections; i++) {
		const sa_ovmf_section *sec = &o->sections[i];
		switch (sec->type) {
		case SA_OVMF_SNP_SEC_MEM:
			SA_TRY(plan_run(fn, ctx, p->vmm == SA_VMM_GCE ? SA_PAGE_UNMEASURED : SA_PAGE_ZERO, sec, err));
			break;
		case SA_OVMF_SNP_SECRETS:
			if (!info->has_secrets) {
				info->has_secrets = true;
				info->secrets_gpa = sec->gpa;
			}
			SA_TRY(fn(ctx, SA_PAGE_SECRETS, sec->gpa, NULL, err));
			break;
		case SA_OVMF_CPUID:
			if (p->vmm != SA_VMM_EC2)
				SA_TRY(fn(ctx, SA_PAGE_CPUID, sec->gpa, NULL, err));
			break;
		case SA_OVMF_SVSM_CAA: SA_TRY(plan_run(fn, ctx, SA_PAGE_ZERO, sec, err)); break;
		case SA_OVMF_SNP_KERNEL_HASHES:
			if (!p->has_kernel) {
				SA_TRY(plan_run(fn, ctx, SA_PAGE_ZERO, sec, err));
				break;
			}
			SA_TRY(build_hashes_page(o, sec, info->hashes_table, page, err));
			SA_TRY(fn(ctx, SA_PAGE_NORMAL, sec->gpa, page, err));
			break;
		default:
			return sa_error_set(err, SA_ERR_UNSUPPORTED, "OVMF SEV metadata section type 0x%x is unknown",
					    sec->type);
		}
	}
	if (p->vmm == SA_VMM_EC2) /* EC2 measures the CPUID pages after all other sections */
		for (size_t i = 0; i < o->n_sections; i++)
			if (o->sections[i].type == SA_OVMF_CPUID)
				SA_TRY(fn(ctx, SA_PAGE_CPUID, o->sections[i].gpa, NULL, err));
	uint8_t ap[SA_VMSA_SIZE];
	SA_TRY(build_vmsas(p, o, p->guest_features, page, ap, err));
	for (unsigned i = 0; i < p->vcpus; i++)
		SA_TRY(fn(ctx, SA_PAGE_VMSA, SA_VMSA_GPA, i == 0 ? page : ap, err));
	return SA_OK;
}

sa_status sa_snp_page_plan(const sa_measure_params *p, sa_snp_page_fn fn, void *ctx, sa_snp_plan_info *info,
			   sa_error *err)
{
	SA_ENSURE(p && fn, err, SA_ERR_ARG, "SNP page plan: missing parameters or page function");
	SA_TRY(check_params(p, err));
	SA_ENSURE(p->mode == SA_MEASURE_SNP || p->mode == SA_MEASURE_SNP_OVMF_HASH, err, SA_ERR_ARG,
		  "SNP page plan: mode %s, expected snp or snp:ovmf-hash", sa_measure_mode_name(p->mode));
	sa_snp_plan_info local;
	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	sa_ovmf o;
	SA_TRY(sa_ovmf_parse(p->ovmf, p->ovmf_len, &o, err));
	info->ovmf_pages = p->ovmf_hash ? 0 : o.len / SA_PAGE_SIZE;
	return snp_plan(p, &o, fn, ctx, info, err);
}

/* sa_measure's page function: fold each planned page into the launch digest. */
typedef struct snp_run {
	const sa_measure_params *p;
	sa_gctx g;
	hasher *h;
	sa_measure_result *out;
	size_t pages, ovmf_pages, vmsas;
} snp_run;

static sa_status fold_page(void *ctx, uint8_t type, uint64_t gpa, const uint8_t *contents, sa_error *err)
{
	snp_run *s = ctx;
	if (s->pages == s->ovmf_pages && !s->out->has_ovmf_hash) { /* the first page after the OVMF image */
		memcpy(s->out->ovmf_hash, s->g.ld, 48);
		s->out->has_ovmf_hash = true;
	}
	uint8_t digest[48];
	const uint8_t *d = zero48;
	if (contents) {
		SA_TRY(hasher_update(s->h, contents, SA_PAGE_SIZE, err));
		SA_TRY(hasher_final(s->h, digest, err));
		d = digest;
	}
	if (type == SA_PAGE_VMSA && s->vmsas < 2) {
		memcpy(s->vmsas == 0 ? s->out->bsp_vmsa_sha384 : s->out->ap_vmsa_sha384, digest, 48);
		*(s->vmsas == 0 ? &s->out->has_bsp_vmsa : &s->out->has_ap_vmsa) = true;
		s->vmsas++;
	}
	SA_TRY(sa_gctx_update_digest(&s->g, type, gpa, d, err));
	if (s->p->trace)
		s->p->trace(s->p->trace_ctx, s->pages, type, gpa, d, s->g.ld);
	s->pages++;
	return SA_OK;
}

static sa_status measure_snp(const sa_measure_params *p, const sa_ovmf *o, hasher *h, sa_measure_result *out,
			     sa_error *err)
{
	snp_run s = {.p = p, .h = h, .out = out, .ovmf_pages = p->ovmf_hash ? 0 : o->len / SA_PAGE_SIZE};
	sa_gctx_init(&s.g, p->ovmf_hash);
	sa_snp_plan_info info;
	memset(&info, 0, sizeof(info));
	info.ovmf_pages = s.ovmf_pages;
	sa_status st = snp_plan(p, o, fold_page, &s, &info, err);
	if (info.has_hashes_table) {
		memcpy(out->hashes_table, info.hashes_table, sizeof(out->hashes_table));
		out->has_hashes_table = true;
	}
	SA_TRY(st);
	if (!out->has_ovmf_hash) {
		memcpy(out->ovmf_hash, s.g.ld, 48);
		out->has_ovmf_hash = true;
	}
	memcpy(out->digest, s.g.ld, 48);
	out->digest_len = 48;
	out->pages = s.pages;
	return SA_OK;
}

static sa_status measure_sev(const sa_measure_params *p, const sa_ovmf *o, sa_measure_result *out, sa_error *err)
{
	if (p->has_kernel) {
		SA_ENSURE(o->has_hashes_table && o->hashes_table_base != 0, err, SA_ERR_UNSUPPORTED,
			  "Kernel specified but OVMF doesn't support kernel/initrd/cmdline measurement");
		SA_TRY(sa_sev_hashes_table(p->kernel, p->kernel_len, p->initrd, p->initrd_len, p->cmdline,
					   out->hashes_table, err));
		out->has_hashes_table = true;
	}
	uint8_t bsp[SA_VMSA_SIZE], ap[SA_VMSA_SIZE];
	const uint8_t *vbsp = bsp, *vap = ap;
	if (p->mode == SA_MEASURE_SEVES && p->vmsa_bsp) {
		/* The caller's VMSA pages: the AP reset vector is theirs, not OVMF's. */
		SA_ENSURE(p->vcpus >= 1 && p->vcpus <= MAX_VCPUS, err, SA_ERR_RANGE, "vCPU count %u, expected 1 to %u",
			  p->vcpus, MAX_VCPUS);
		SA_ENSURE(p->vcpus == 1 || p->vmsa_ap, err, SA_ERR_ARG,
			  "measure: %u vCPUs with a given BSP VMSA need the AP VMSA too", p->vcpus);
		vbsp = p->vmsa_bsp;
		vap = p->vmsa_ap;
	} else if (p->mode == SA_MEASURE_SEVES) {
		SA_TRY(check_vcpus(p, o, err));
		SA_TRY(build_vmsas(p, o, 0, bsp, ap, err)); /* SEV-ES VMSAs have SEV_FEATURES 0 */
	}
	if (p->mode == SA_MEASURE_SEVES) {
		SA_TRY(sa_sha384(vbsp, SA_VMSA_SIZE, out->bsp_vmsa_sha384, err));
		out->has_bsp_vmsa = true;
		if (p->vcpus > 1) {
			SA_TRY(sa_sha384(vap, SA_VMSA_SIZE, out->ap_vmsa_sha384, err));
			out->has_ap_vmsa = true;
		}
	}
	hasher h;
	SA_TRY(hasher_init(&h, "SHA256", err));
	sa_status st = hasher_update(&h, o->data, o->len, err);
	if (st == SA_OK && out->has_hashes_table)
		st = hasher_update(&h, out->hashes_table, sizeof(out->hashes_table), err);
	for (unsigned i = 0; st == SA_OK && p->mode == SA_MEASURE_SEVES && i < p->vcpus; i++)
		st = hasher_update(&h, i == 0 ? vbsp : vap, SA_VMSA_SIZE, err);
	if (st == SA_OK)
		st = hasher_final(&h, out->digest, err);
	hasher_free(&h);
	SA_TRY(st);
	out->digest_len = 32;
	return SA_OK;
}

sa_status sa_measure(const sa_measure_params *p, sa_measure_result *out, sa_error *err)
{
	SA_ENSURE(p && out, err, SA_ERR_ARG, "measure: missing parameters or result");
	memset(out, 0, sizeof(*out));
	SA_TRY(check_params(p, err));
	sa_ovmf o;
	SA_TRY(sa_ovmf_parse(p->ovmf, p->ovmf_len, &o, err));
	if (p->mode == SA_MEASURE_SEV || p->mode == SA_MEASURE_SEVES)
		return measure_sev(p, &o, out, err);
	hasher h;
	SA_TRY(hasher_init(&h, "SHA384", err));
	sa_status st = measure_snp(p, &o, &h, out, err);
	hasher_free(&h);
	return st;
}
