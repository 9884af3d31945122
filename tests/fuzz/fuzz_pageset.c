/*
 * fuzz_pageset.c — the page-set and undo-file readers on arbitrary bytes.
 * Both read files by path, so each input is written to one private file in
 * a tmpfs-backed folder first.  The first byte picks the reader.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repair/pageset.h"
#include "repair/undo.h"

static char path[256];

static int write_input(const uint8_t *data, size_t size)
{
	if (!path[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(path, sizeof path, "%s/waldo-fuzz-%d", base && *base ? base : "/tmp", (int)getpid());
	}
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	if (size && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || write_input(data + 1, size - 1))
		return 0;
	char err[256];
	if (data[0] & 1) {
		struct pageset s;
		if (pageset_open(&s, path, err, sizeof err) == 0) {
			uint8_t *page = malloc(s.info.page_size ? s.info.page_size : 1);
			if (page && pageset_rewind(&s, err, sizeof err) == 0) {
				uint32_t pgno;
				for (uint32_t i = 0; i < s.n && i < 64; i++)
					if (pageset_next(&s, page, &pgno, err, sizeof err) != 0)
						break;
			}
			free(page);
		}
		pageset_close(&s);
	} else {
		struct undo_doc u;
		if (undo_open(&u, path, err, sizeof err) == 0) {
			char buf[512];
			for (size_t i = 0; i < u.n && i < 16; i++)
				undo_rec_path(&u, i, buf, sizeof buf);
		}
		undo_close(&u);
	}
	unlink(path);
	return 0;
}
