/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VMSA pages as the VMM creates them at reset, for expected launch digests.
 *
 * The page is the SEV-ES save area (APM vol. 2, table B-4; Linux struct
 * sev_es_save_area), zero except for the fields below, which are written in
 * ascending offset order through the bounds-checked writer (the gaps as
 * zeros).  Values per VMM (sev-snp-measure 0.0.13 vmsa.py, as facts):
 *
 *   field         QEMU                    EC2                      GCE
 *   CS.attr       0x9B                    0x9A (BSP) / 0x9B (AP)   0x9B
 *   SS.attr       0x93                    0x92                     0x93
 *   TR.attr       0x8B                    0x83                     0x8B
 *   G_PAT         0x0007040600070406      same                     0x00070106
 *   RDX           vCPU signature          0x600                    0x600
 *   MXCSR, FCW    0x1F80, 0x37F           0, 0                     0, 0
 *
 * EC2: virtee/sev sets RDX = 0 for EC2; we follow sev-snp-measure (0x600),
 * whose vectors (S10, S11) match.
 */
#include <string.h>
#include <strings.h>

#include "sevattest/bytes.h"
#include "sevattest/measure.h"

#include "internal.h"

typedef struct vmsa_field {
	size_t off;
	size_t size; /* 2, 4 or 8 */
	uint64_t value;
	const char *name;
} vmsa_field;

/* A segment register {selector u16, attributes u16, limit u32, base u64} as four fields. */
#define SEG(off, name, sel, attr, limit, base)                                                                     \
	{(off), 2, (sel), name ".selector"}, {(off) + 2, 2, (attr), name ".attrib"},                               \
		{(off) + 4, 4, (limit), name ".limit"}, {(off) + 8, 8, (base), name ".base"}

static sa_status write_field(sa_writer *w, const vmsa_field *f, sa_error *err)
{
	size_t at = sa_writer_offset(w);
	SA_ENSURE(f->off >= at, err, SA_ERR_STATE, "VMSA: field %s at 0x%zx overlaps the previous field (ending 0x%zx)",
		  f->name, f->off, at);
	SA_TRY(sa_write_zeros(w, f->off - at, "VMSA reserved/zero bytes", err));
	switch (f->size) {
	case 2: return sa_write_u16(w, (uint16_t)f->value, f->name, err);
	case 4: return sa_write_u32(w, (uint32_t)f->value, f->name, err);
	case 8: return sa_write_u64(w, f->value, f->name, err);
	}
	return sa_error_set(err, SA_ERR_STATE, "VMSA: field %s has size %zu, expected 2, 4 or 8", f->name, f->size);
}

sa_status sa_vmsa_build(sa_vmm_type vmm, uint32_t eip, uint32_t vcpu_sig, uint64_t sev_features,
			uint8_t page[SA_VMSA_SIZE], sa_error *err)
{
	SA_ENSURE(page, err, SA_ERR_ARG, "VMSA: missing output page");
	SA_ENSURE(vmm == SA_VMM_QEMU || vmm == SA_VMM_EC2 || vmm == SA_VMM_GCE, err, SA_ERR_ARG,
		  "VMSA: VMM type %d, expected qemu, ec2 or gce", (int)vmm);
	uint16_t cs_attr = 0x9B, ss_attr = 0x93, tr_attr = 0x8B;
	uint64_t g_pat = 0x0007040600070406ull, rdx = vcpu_sig;
	uint32_t mxcsr = 0x1F80;
	uint16_t fcw = 0x37F;
	if (vmm == SA_VMM_EC2) {
		cs_attr = eip == SA_BSP_EIP ? 0x9A : 0x9B;
		ss_attr = 0x92;
		tr_attr = 0x83;
		rdx = 0x600;
		mxcsr = 0;
		fcw = 0;
	} else if (vmm == SA_VMM_GCE) {
		g_pat = 0x00070106;
		rdx = 0x600;
		mxcsr = 0;
		fcw = 0;
	}
	const vmsa_field fields[] = {
		SEG(0x000, "ES", 0, 0x93, 0xFFFF, 0),
		SEG(0x010, "CS", 0xF000, cs_attr, 0xFFFF, eip & 0xFFFF0000u),
		SEG(0x020, "SS", 0, ss_attr, 0xFFFF, 0),
		SEG(0x030, "DS", 0, 0x93, 0xFFFF, 0),
		SEG(0x040, "FS", 0, 0x93, 0xFFFF, 0),
		SEG(0x050, "GS", 0, 0x93, 0xFFFF, 0),
		SEG(0x060, "GDTR", 0, 0, 0xFFFF, 0),
		SEG(0x070, "LDTR", 0, 0x82, 0xFFFF, 0),
		SEG(0x080, "IDTR", 0, 0, 0xFFFF, 0),
		SEG(0x090, "TR", 0, tr_attr, 0xFFFF, 0),
		{0x0D0, 8, 0x1000, "EFER"},
		{0x148, 8, 0x40, "CR4"},
		{0x158, 8, 0x10, "CR0"},
		{0x160, 8, 0x400, "DR7"},
		{0x168, 8, 0xFFFF0FF0, "DR6"},
		{0x170, 8, 0x2, "RFLAGS"},
		{0x178, 8, eip & 0xFFFFu, "RIP"},
		{0x268, 8, g_pat, "G_PAT"},
		{0x310, 8, rdx, "RDX"},
		{0x3B0, 8, sev_features, "SEV_FEATURES"},
		{0x3E8, 8, 0x1, "XCR0"},
		{0x408, 4, mxcsr, "MXCSR"},
		{0x410, 2, fcw, "X87_FCW"},
	};
	sa_writer w;
	sa_writer_init(&w, page, SA_VMSA_SIZE);
	for (size_t i = 0; i < SA_ARRAY_LEN(fields); i++)
		SA_TRY(write_field(&w, &fields[i], err));
	SA_TRY(sa_write_zeros(&w, SA_VMSA_SIZE - sa_writer_offset(&w), "VMSA tail", err));
	return SA_OK;
}

sa_status sa_vcpu_sig(unsigned family, unsigned model, unsigned stepping, uint32_t *sig, sa_error *err)
{
	SA_ENSURE(sig, err, SA_ERR_ARG, "vCPU signature: missing output");
	SA_ENSURE(family <= 0xFu + 0xFFu, err, SA_ERR_RANGE, "vCPU family %u, expected 0 to %u", family, 0xFu + 0xFFu);
	SA_ENSURE(model <= 0xFF, err, SA_ERR_RANGE, "vCPU model %u, expected 0 to 255", model);
	SA_ENSURE(stepping <= 0xF, err, SA_ERR_RANGE, "vCPU stepping %u, expected 0 to 15", stepping);
	uint32_t family_low = family > 0xF ? 0xF : family;
	uint32_t ext_family = family > 0xF ? family - 0xF : 0;
	*sig = ext_family << 20 | (uint32_t)(model >> 4) << 16 | family_low << 8 | (uint32_t)(model & 0xF) << 4 |
	       stepping;
	return SA_OK;
}

typedef struct vcpu_type {
	const char *name;
	unsigned family, model, stepping;
} vcpu_type;

static const vcpu_type vcpu_types[] = {
	{"EPYC", 23, 1, 2},           {"EPYC-v1", 23, 1, 2},       {"EPYC-v2", 23, 1, 2},
	{"EPYC-IBPB", 23, 1, 2},      {"EPYC-v3", 23, 1, 2},       {"EPYC-v4", 23, 1, 2},
	{"EPYC-Rome", 23, 49, 0},     {"EPYC-Rome-v1", 23, 49, 0}, {"EPYC-Rome-v2", 23, 49, 0},
	{"EPYC-Rome-v3", 23, 49, 0},  {"EPYC-Rome-v4", 23, 49, 0}, {"EPYC-Milan", 25, 1, 1},
	{"EPYC-Milan-v1", 25, 1, 1},  {"EPYC-Milan-v2", 25, 1, 1}, {"EPYC-Genoa", 25, 17, 0},
	{"EPYC-Genoa-v1", 25, 17, 0}, {"EPYC-Turin", 26, 0, 0},    {"EPYC-Turin-v1", 26, 0, 0},
};

sa_status sa_vcpu_sig_by_name(const char *name, uint32_t *sig, sa_error *err)
{
	SA_ENSURE(name && sig, err, SA_ERR_ARG, "vCPU type: missing name or output");
	for (size_t i = 0; i < SA_ARRAY_LEN(vcpu_types); i++)
		if (strcasecmp(vcpu_types[i].name, name) == 0)
			return sa_vcpu_sig(vcpu_types[i].family, vcpu_types[i].model, vcpu_types[i].stepping, sig, err);
	return sa_error_set(err, SA_ERR_UNSUPPORTED,
			    "vCPU type '%s' is unknown, expected EPYC, EPYC-v1..v4, EPYC-IBPB, EPYC-Rome(-v1..v4), "
			    "EPYC-Milan(-v1, -v2), EPYC-Genoa(-v1) or EPYC-Turin(-v1)",
			    name);
}
