/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OVMF image parsing for the launch calculators: the GUIDed footer table, the
 * SEV-ES reset block, the kernel-hashes table area and the SEV metadata.
 * Every read goes through sa_reader over a range checked against the image;
 * every offset is checked before it is subtracted or added.
 */
#include <string.h>

#include "sevattest/bytes.h"
#include "sevattest/ovmf.h"

#include "internal.h"

#define FOOTER_GUID "96b582de-1fb2-45f7-baea-a366c55a082d"
#define RESET_BLOCK_GUID "00f771de-1a7e-4fcb-890e-68c77e2fb44e"
#define METADATA_GUID "dc886566-984a-4798-a75e-5585a7bf67cc"
#define HASHES_TABLE_GUID "7255371f-3a3b-4b04-927b-1da6efa8d454"

#define FOOTER_END_GAP 0x20u /* the footer entry ends this many bytes before the end */
#define ENTRY_HEADER 18u     /* u16 length + GUID */
#define METADATA_HEADER 16u
#define METADATA_ITEM 12u

const char *sa_ovmf_section_type_name(uint32_t type)
{
	switch (type) {
	case SA_OVMF_SNP_SEC_MEM: return "SNP_SEC_MEM";
	case SA_OVMF_SNP_SECRETS: return "SNP_SECRETS";
	case SA_OVMF_CPUID: return "CPUID";
	case SA_OVMF_SVSM_CAA: return "SVSM_CAA";
	case SA_OVMF_SNP_KERNEL_HASHES: return "SNP_KERNEL_HASHES";
	}
	return "unknown";
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Canonical GUID text to the EFI byte order (bytes_le): the first three groups
 * little-endian, the last two as written.  Only our own constants come here.
 */
static sa_status guid_bytes_le(const char *text, uint8_t out[16], sa_error *err)
{
	uint8_t be[16];
	size_t n = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '-')
			continue;
		int hi = hexval(p[0]);
		int lo = p[1] ? hexval(p[1]) : -1;
		SA_ENSURE(hi >= 0 && lo >= 0 && n < sizeof(be), err, SA_ERR_ARG, "GUID '%s' is not canonical", text);
		be[n++] = (uint8_t)(hi << 4 | lo);
		p++;
	}
	SA_ENSURE(n == sizeof(be), err, SA_ERR_ARG, "GUID '%s' is not canonical", text);
	static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	for (size_t i = 0; i < 16; i++)
		out[i] = be[order[i]];
	return SA_OK;
}

static void guid_text(const uint8_t le[16], char out[37])
{
	static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		uint8_t b = le[order[i]];
		out[o++] = hex[b >> 4];
		out[o++] = hex[b & 0xF];
	}
	out[o] = '\0';
}

/* A reader over image[off, off + n), after checking the range lies inside the image. */
static sa_status sub_reader(const uint8_t *image, size_t len, size_t off, size_t n, sa_reader *r, const char *what,
			    sa_error *err)
{
	size_t end;
	SA_ENSURE(sa_add_size(off, n, &end) && end <= len, err, SA_ERR_TRUNCATED,
		  "OVMF %s: bytes [0x%zx, 0x%zx + 0x%zx) lie outside the %zu-byte image", what, off, off, n, len);
	sa_reader_init(r, image + off, n);
	return SA_OK;
}

typedef sa_status (*entry_fn)(void *ctx, const uint8_t guid[16], const uint8_t *data, size_t data_len,
			      sa_error *err);

/* Walk the footer table from the footer entry backwards, calling fn for every entry but the footer. */
static sa_status walk_table(const uint8_t *image, size_t len, entry_fn fn, void *ctx, sa_error *err)
{
	SA_ENSURE(image, err, SA_ERR_ARG, "OVMF image: missing");
	SA_ENSURE(len >= FOOTER_END_GAP + ENTRY_HEADER, err, SA_ERR_TRUNCATED,
		  "OVMF image: %zu bytes, expected at least %u to hold the footer GUID table", len,
		  FOOTER_END_GAP + ENTRY_HEADER);
	size_t footer_start = len - FOOTER_END_GAP - ENTRY_HEADER;
	sa_reader r;
	SA_TRY(sub_reader(image, len, footer_start, ENTRY_HEADER, &r, "footer entry", err));
	uint16_t table_len;
	uint8_t guid[16], want[16];
	SA_TRY(sa_read_u16(&r, &table_len, "OVMF footer table length", err));
	SA_TRY(sa_read_bytes(&r, guid, sizeof(guid), "OVMF footer GUID", err));
	SA_TRY(guid_bytes_le(FOOTER_GUID, want, err));
	if (memcmp(guid, want, sizeof(want)) != 0) {
		char got[37];
		guid_text(guid, got);
		return sa_error_set(err, SA_ERR_FORMAT, "OVMF footer GUID at offset 0x%zx is %s, expected %s",
				    footer_start + 2, got, FOOTER_GUID);
	}
	SA_ENSURE(table_len >= ENTRY_HEADER && table_len <= len - FOOTER_END_GAP, err, SA_ERR_FORMAT,
		  "OVMF footer table length is %u, expected %u to %zu", table_len, ENTRY_HEADER,
		  len - FOOTER_END_GAP);
	size_t table_start = len - FOOTER_END_GAP - table_len;
	size_t pos = footer_start;
	while (pos > table_start) {
		size_t left = pos - table_start;
		SA_ENSURE(left >= ENTRY_HEADER, err, SA_ERR_FORMAT,
			  "OVMF footer table: %zu bytes left below offset 0x%zx, expected at least %u for an entry header",
			  left, pos, ENTRY_HEADER);
		SA_TRY(sub_reader(image, len, pos - ENTRY_HEADER, ENTRY_HEADER, &r, "table entry header", err));
		uint16_t entry_len;
		SA_TRY(sa_read_u16(&r, &entry_len, "OVMF table entry length", err));
		SA_TRY(sa_read_bytes(&r, guid, sizeof(guid), "OVMF table entry GUID", err));
		if (entry_len < ENTRY_HEADER || entry_len > left) {
			char got[37];
			guid_text(guid, got);
			return sa_error_set(err, SA_ERR_FORMAT,
					    "OVMF table entry %s (ending at offset 0x%zx): length %u, expected %u to %zu",
					    got, pos, entry_len, ENTRY_HEADER, left);
		}
		size_t data_len = (size_t)entry_len - ENTRY_HEADER;
		const uint8_t *data;
		SA_TRY(sub_reader(image, len, pos - entry_len, data_len, &r, "table entry data", err));
		SA_TRY(sa_read_view(&r, &data, data_len, "OVMF table entry data", err));
		SA_TRY(fn(ctx, guid, data, data_len, err));
		pos -= entry_len;
	}
	return SA_OK;
}

typedef struct find_ctx {
	uint8_t guid[16];
	const uint8_t *data;
	size_t data_len;
	bool found;
} find_ctx;

static sa_status find_cb(void *ctx, const uint8_t guid[16], const uint8_t *data, size_t data_len, sa_error *err)
{
	(void)err;
	find_ctx *f = ctx;
	if (!f->found && memcmp(guid, f->guid, 16) == 0) {
		f->found = true;
		f->data = data;
		f->data_len = data_len;
	}
	return SA_OK;
}

sa_status sa_ovmf_find_entry(const uint8_t *image, size_t len, const char *guid, const uint8_t **data,
			     size_t *data_len, sa_error *err)
{
	SA_ENSURE(guid && data && data_len, err, SA_ERR_ARG, "OVMF table lookup: missing GUID or output");
	find_ctx f = {.found = false};
	SA_TRY(guid_bytes_le(guid, f.guid, err));
	SA_TRY(walk_table(image, len, find_cb, &f, err));
	*data = f.found ? f.data : NULL;
	*data_len = f.found ? f.data_len : 0;
	return SA_OK;
}

typedef struct parse_ctx {
	uint8_t reset_guid[16], metadata_guid[16], hashes_guid[16];
	sa_ovmf *o;
	bool has_metadata_offset;
	uint32_t metadata_offset;
} parse_ctx;

static sa_status parse_cb(void *ctx, const uint8_t guid[16], const uint8_t *data, size_t data_len, sa_error *err)
{
	parse_ctx *p = ctx;
	sa_reader r;
	sa_reader_init(&r, data, data_len);
	if (memcmp(guid, p->reset_guid, 16) == 0 && !p->o->has_reset_block) {
		SA_TRY(sa_read_u32(&r, &p->o->sev_es_reset_eip, "OVMF SEV-ES reset block (AP reset vector)", err));
		p->o->has_reset_block = true;
	} else if (memcmp(guid, p->metadata_guid, 16) == 0 && !p->has_metadata_offset) {
		SA_TRY(sa_read_u32(&r, &p->metadata_offset, "OVMF SEV metadata offset", err));
		p->has_metadata_offset = true;
	} else if (memcmp(guid, p->hashes_guid, 16) == 0 && !p->o->has_hashes_table) {
		SA_TRY(sa_read_u32(&r, &p->o->hashes_table_base, "OVMF kernel hashes table base", err));
		SA_TRY(sa_read_u32(&r, &p->o->hashes_table_size, "OVMF kernel hashes table size", err));
		p->o->has_hashes_table = true;
	}
	return SA_OK;
}

static sa_status parse_metadata(const uint8_t *image, size_t len, uint32_t offset, sa_ovmf *o, sa_error *err)
{
	SA_ENSURE(offset >= METADATA_HEADER && offset <= len, err, SA_ERR_RANGE,
		  "OVMF SEV metadata offset is 0x%x bytes from the end, expected 0x%x to 0x%zx (the image size)", offset,
		  METADATA_HEADER, len);
	size_t start = len - offset;
	sa_reader r;
	SA_TRY(sub_reader(image, len, start, METADATA_HEADER, &r, "SEV metadata header", err));
	uint8_t sig[4];
	uint32_t size, version, count;
	SA_TRY(sa_read_bytes(&r, sig, sizeof(sig), "OVMF SEV metadata signature", err));
	SA_ENSURE(memcmp(sig, "ASEV", 4) == 0, err, SA_ERR_FORMAT,
		  "OVMF SEV metadata at offset 0x%zx: signature %02x%02x%02x%02x, expected \"ASEV\"", start, sig[0],
		  sig[1], sig[2], sig[3]);
	SA_TRY(sa_read_u32(&r, &size, "OVMF SEV metadata size", err));
	SA_TRY(sa_read_u32(&r, &version, "OVMF SEV metadata version", err));
	SA_TRY(sa_read_u32(&r, &count, "OVMF SEV metadata section count", err));
	SA_ENSURE(version == 1, err, SA_ERR_UNSUPPORTED, "OVMF SEV metadata version is %u, expected 1", version);
	SA_ENSURE(count >= 1 && count <= SA_OVMF_MAX_SECTIONS, err, SA_ERR_RANGE,
		  "OVMF SEV metadata section count is %u, expected 1 to %d", count, SA_OVMF_MAX_SECTIONS);
	size_t need = METADATA_HEADER + (size_t)count * METADATA_ITEM; /* count <= 64: no overflow */
	SA_ENSURE(size >= need, err, SA_ERR_FORMAT,
		  "OVMF SEV metadata size is %u, expected at least %zu for %u sections", size, need, count);
	SA_TRY(sub_reader(image, len, start, size, &r, "SEV metadata", err));
	SA_TRY(sa_read_skip(&r, METADATA_HEADER, "OVMF SEV metadata header", err));
	for (uint32_t i = 0; i < count; i++) {
		sa_ovmf_section *s = &o->sections[i];
		SA_TRY(sa_read_u32(&r, &s->gpa, "OVMF SEV metadata section GPA", err));
		SA_TRY(sa_read_u32(&r, &s->size, "OVMF SEV metadata section size", err));
		SA_TRY(sa_read_u32(&r, &s->type, "OVMF SEV metadata section type", err));
		SA_ENSURE(s->type == SA_OVMF_SNP_SEC_MEM || s->type == SA_OVMF_SNP_SECRETS || s->type == SA_OVMF_CPUID ||
				  s->type == SA_OVMF_SVSM_CAA || s->type == SA_OVMF_SNP_KERNEL_HASHES,
			  err, SA_ERR_UNSUPPORTED,
			  "OVMF SEV metadata section %u: type 0x%x, expected 1 (SNP_SEC_MEM), 2 (SNP_SECRETS), 3 (CPUID), "
			  "4 (SVSM_CAA) or 0x10 (SNP_KERNEL_HASHES)",
			  i, s->type);
	}
	o->n_sections = count;
	o->has_metadata = true;
	return SA_OK;
}

sa_status sa_ovmf_parse(const uint8_t *image, size_t len, sa_ovmf *out, sa_error *err)
{
	SA_ENSURE(image && out, err, SA_ERR_ARG, "OVMF image: missing image or output");
	SA_ENSURE(len > 0 && len % 4096 == 0 && (uint64_t)len <= SA_OVMF_MAX_SIZE, err, SA_ERR_ARG,
		  "OVMF image: %zu bytes, expected a non-zero multiple of 4096 up to 4 GiB", len);
	memset(out, 0, sizeof(*out));
	out->data = image;
	out->len = len;
	out->gpa = SA_OVMF_MAX_SIZE - (uint64_t)len;
	parse_ctx p = {.o = out};
	SA_TRY(guid_bytes_le(RESET_BLOCK_GUID, p.reset_guid, err));
	SA_TRY(guid_bytes_le(METADATA_GUID, p.metadata_guid, err));
	SA_TRY(guid_bytes_le(HASHES_TABLE_GUID, p.hashes_guid, err));
	SA_TRY(walk_table(image, len, parse_cb, &p, err));
	if (p.has_metadata_offset)
		SA_TRY(parse_metadata(image, len, p.metadata_offset, out, err));
	return SA_OK;
}
