/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the OVMF image parser (footer GUID table, SEV-ES reset
 * block, hashes-table entry, SEV metadata) and the launch calculators over it.
 *
 * The input is placed at the end of a zero-padded image whose size is the next
 * multiple of 4096 (the parser refuses other sizes), so the fuzzer drives the
 * footer table at the image's end; the raw input is parsed as well.
 * Properties checked (abort() on violation):
 *  - a parsed image has 1..64 sections when it has metadata, none otherwise;
 *  - sa_ovmf_find_entry agrees with the parser on the hashes-table entry;
 *  - measuring a parsed image (when its sections are small) either succeeds
 *    with a digest of the mode's length or fails with an error message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sevattest/measure.h"
#include "sevattest/ovmf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                            \
	do {                                                                                                   \
		if (!(cond)) {                                                                                 \
			fprintf(stderr, "fuzz_ovmf: property violated: %s (%s:%d)\n", #cond, __FILE__,        \
				__LINE__);                                                                     \
			abort();                                                                               \
		}                                                                                              \
	} while (0)

#define MAX_IMAGE (1u << 20)
#define MAX_MEASURED_PAGES 2048u

static void measure_all(const uint8_t *image, size_t len, const sa_ovmf *o)
{
	uint64_t pages = 0;
	for (size_t i = 0; i < o->n_sections; i++)
		pages += o->sections[i].size / 4096u;
	if (pages > MAX_MEASURED_PAGES)
		return;
	static const uint8_t kernel[3] = {1, 2, 3};
	static const sa_measure_mode modes[] = {SA_MEASURE_SNP, SA_MEASURE_SEVES, SA_MEASURE_SEV};
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		for (int vmm = 0; vmm < 3; vmm++)
			for (int with_kernel = 0; with_kernel <= 1; with_kernel++) {
				sa_measure_params p;
				memset(&p, 0, sizeof(p));
				p.mode = modes[m];
				p.ovmf = image;
				p.ovmf_len = len;
				p.vcpus = 2;
				p.vcpu_sig = 0x800F12;
				p.vmm = (sa_vmm_type)vmm;
				p.guest_features = 1;
				p.has_kernel = with_kernel;
				p.kernel = with_kernel ? kernel : NULL;
				p.kernel_len = with_kernel ? sizeof(kernel) : 0;
				p.cmdline = with_kernel ? "console=ttyS0" : NULL;
				sa_measure_result r;
				sa_error e;
				e.msg[0] = '\0';
				if (sa_measure(&p, &r, &e) == SA_OK)
					CHECK(r.digest_len == (modes[m] == SA_MEASURE_SNP ? 48u : 32u));
				else
					CHECK(e.msg[0] != '\0');
			}
}

static void one(const uint8_t *image, size_t len)
{
	sa_ovmf o;
	sa_error e;
	if (sa_ovmf_parse(image, len, &o, &e) != SA_OK)
		return;
	CHECK(o.has_metadata ? o.n_sections >= 1 && o.n_sections <= SA_OVMF_MAX_SECTIONS : o.n_sections == 0);
	CHECK(o.gpa + len == 0x100000000ull);
	const uint8_t *d;
	size_t n;
	CHECK(sa_ovmf_find_entry(image, len, "7255371f-3a3b-4b04-927b-1da6efa8d454", &d, &n, &e) == SA_OK);
	CHECK((d != NULL) == o.has_hashes_table);
	if (d)
		CHECK(d >= image && d + n <= image + len && n >= 8);
	measure_all(image, len, &o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_IMAGE)
		return 0;
	one(data, size);
	size_t len = (size + 4095u) / 4096u * 4096u;
	if (len == 0)
		len = 4096;
	uint8_t *image = calloc(1, len);
	if (!image)
		return 0;
	memcpy(image + (len - size), data, size);
	one(image, len);
	free(image);
	return 0;
}
