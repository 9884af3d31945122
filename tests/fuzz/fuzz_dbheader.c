/*
 * fuzz_dbheader.c — libFuzzer target for the database header and rollback
 * journal header parsers: dbh_parse and jrnl_parse_header on the input as
 * it is and on every prefix length that matters (0, 16, 99, 100 bytes).
 * Traps when a derived field contradicts the rules the callers rely on.
 */
#include <stdint.h>
#include <string.h>

#include "formats/dbheader.h"
#include "formats/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void header(const uint8_t *data, size_t n)
{
	struct db_header h;
	struct wd_diags d = { 0 };
	int rc = dbh_parse(data, n, &h, &d);
	if (rc != WD_FATAL) {
		if (h.page_size_ok != (h.page_size != 0))
			__builtin_trap();
		if (h.page_size_ok && (h.page_size < 512 || h.page_size > 65536 || (h.page_size & (h.page_size - 1))))
			__builtin_trap();
		if (h.usable_size > h.page_size)
			__builtin_trap();
		if (h.page_size_ok && h.usable_size < 480)
			__builtin_trap();
	}
	if (h.size_valid && (h.db_size == 0 || h.change_counter != h.version_valid_for))
		__builtin_trap();
	(void)dbh_lock_byte_page(h.page_size);
	(void)dbh_encoding_name(h.text_encoding);
	wd_diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t cuts[] = { 0, 16, 99, 100 };
	header(data, size);
	for (unsigned i = 0; i < sizeof cuts / sizeof *cuts; i++)
		if (cuts[i] < size)
			header(data, cuts[i]);
	struct jrnl_header j;
	struct wd_diags d = { 0 };
	jrnl_parse_header(data, size, &j, &d);
	wd_diags_free(&d);
	if (size > 28) {
		jrnl_parse_header(data, 28, &j, &d);
		wd_diags_free(&d);
	}
	return 0;
}
