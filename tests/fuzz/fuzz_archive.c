/*
 * fuzz_archive.c — the archive readers of `waldo scan` (inspect/
 * scan_archive.c) on arbitrary bytes, in memory (sa_stream_open_mem: no
 * file, no I/O).  The input is one file read the way run_archive in
 * inspect/scan.c reads an archive: through the gzip layer when it starts
 * with 1f 8b (one or many members), then as a tar when its first 512 bytes
 * sniff as one (scan_sniff), else as the one file a gzip holds.  Every
 * member then gets what on_entry/on_file give it: name and link checked
 * (sa_name_unsafe) and escaped, the first 512 bytes read and sniffed, the
 * data of a member that may belong to a database (sniffed as one, or named
 * *-wal, *-shm, *-journal) read into memory up to a per-member cap or, past
 * the cap, skipped through the reader; everything else skipped by
 * sa_tar_next.  The caps are small here (8 KiB per member, the ratio cap
 * from 64 KiB inflated) so that small inputs reach them.
 *
 * A mutated tar header almost never keeps a valid checksum, which would
 * leave everything past the checksum test to the resynchronisation; so a
 * plain (not gzip) input runs a second time with the checksum of every
 * block that says "ustar" at byte 257 recomputed, so that mutated sizes,
 * type flags, names and PAX records reach the code behind the test.
 *
 * Traps when an invariant does not hold: a read returning more than asked,
 * a member claiming more bytes than its header declared, a header offset
 * not on a block boundary, the tar position disagreeing with the bytes the
 * stream delivered, a finding offset past everything read, or an escaped
 * name that still holds a control character.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/scan_archive.h"
#include "inspect/report.h"
#include "inspect/scan_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEMBER_CAP (8u << 10)
#define RATIO_FLOOR (64u << 10)
#define MAX_RATIO 200
#define CHUNK (64u << 10)

static bool name_ends(const char *s, const char *sfx)
{
	size_t a = strlen(s), b = strlen(sfx);
	return a > b && !strcmp(s + a - b, sfx);
}

/* What scan prints of a name: never a raw control byte, a C1 control or an unescaped space. */
static void check_escaped(const char *raw)
{
	char out[72];
	report_esc_into(raw, strlen(raw), out, sizeof out, true);
	size_t n = strnlen(out, sizeof out);
	if (n == sizeof out)
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c < 0x20 || c == 0x7f || c == ' ')
			__builtin_trap();
		if (c == 0xc2 && i + 1 < n && (unsigned char)out[i + 1] >= 0x80 && (unsigned char)out[i + 1] <= 0x9f)
			__builtin_trap();
	}
}

/* on_entry + on_file for one tar member. */
static void on_member(struct sa_tar *t, const struct sa_entry *e)
{
	if (e->avail > e->size || e->offset % SA_BLOCK || e->offset >= t->pos)
		__builtin_trap();
	if (strlen(e->name) > SA_NAME_MAX || strlen(e->link) > SA_NAME_MAX)
		__builtin_trap();
	check_escaped(e->name);
	check_escaped(e->link);
	(void)sa_name_unsafe(e->name);
	(void)sa_name_unsafe(e->link);
	if (e->name_cut || e->type != SA_FILE)
		return;
	uint64_t have = e->size < e->avail ? e->size : e->avail;
	size_t want = have < SA_BLOCK ? (size_t)have : SA_BLOCK;
	uint8_t head[SA_BLOCK];
	size_t nh = sa_tar_read(t, head, want);
	if (nh > want)
		__builtin_trap();
	enum sniff_kind kind = scan_sniff(head, nh);
	bool wanted = name_ends(e->name, "-wal") || name_ends(e->name, "-shm") ||
		      name_ends(e->name, "-journal") || kind == SK_DB || kind == SK_WAL;
	if (!wanted || nh < want)
		return;
	if (have > MEMBER_CAP) {
		uint64_t sk = sa_tar_skip(t, have - nh);
		if (sk > have - nh)
			__builtin_trap();
		return;
	}
	uint8_t *p = malloc(have ? (size_t)have : 1);
	if (!p)
		return;
	memcpy(p, head, nh);
	uint64_t got = nh;
	while (got < have) {
		size_t k = sa_tar_read(t, p + got, (size_t)(have - got));
		if (k > have - got)
			__builtin_trap();
		if (!k)
			break;
		got += k;
	}
	(void)scan_sniff(p, (size_t)got);
	free(p);
}

/* The one file of a gzip (or anything else): read up to the cap, as slurp does. */
static void single_file(struct sa_stream *s, const uint8_t *head, size_t nh)
{
	(void)scan_sniff(head, nh);
	uint8_t *p = malloc(CHUNK);
	if (!p)
		return;
	uint64_t got = nh;
	for (;;) {
		size_t k = sa_stream_read(s, p, CHUNK);
		if (k > CHUNK)
			__builtin_trap();
		got += k;
		if (k < CHUNK || got > MEMBER_CAP)
			break;
	}
	free(p);
	sa_stream_skip(s, UINT64_MAX);
}

static void read_archive(const uint8_t *data, size_t size)
{
	struct wd_diags d = { 0 };
	struct sa_stream s;
	uint64_t tar_pos = 0;
	bool tar = false;
	if (sa_stream_open_mem(&s, data, size, "fuzz", MAX_RATIO, &d) == 0) {
		s.ratio_floor = RATIO_FLOOR;
		uint8_t head[SA_BLOCK];
		size_t nh = sa_stream_read(&s, head, sizeof head);
		if (nh > sizeof head)
			__builtin_trap();
		if (scan_sniff(head, nh) == SK_TAR) {
			struct sa_tar *t = malloc(sizeof *t);
			if (t) {
				sa_tar_init(t, &s, "fuzz", &d);
				t->pb_block = head;
				t->has_pb = true;
				struct sa_entry e;
				while (sa_tar_next(t, &e) == 1)
					on_member(t, &e);
				sa_tar_drain(t);
				tar = true;
				tar_pos = t->pos;
				free(t);
			}
		} else if (nh) {
			single_file(&s, head, nh);
		}
	}
	/* Every byte the stream delivered is accounted for by the tar reader. */
	if (tar && tar_pos != s.out_bytes)
		__builtin_trap();
	if (!s.gzip && s.out_bytes > size)
		__builtin_trap();
	uint64_t bound = s.out_bytes > size ? s.out_bytes : size;
	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].offset < -1 || (d.v[i].offset >= 0 && (uint64_t)d.v[i].offset > bound) || !d.v[i].msg[0])
			__builtin_trap();
	sa_stream_close(&s);
	wd_diags_free(&d);
}

/* The checksum field as tar writes it: six octal digits, NUL, space. */
static void seal_header(uint8_t *b)
{
	memset(b + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < SA_BLOCK; i++)
		sum += b[i];
	for (int i = 5; i >= 0; i--, sum >>= 3)
		b[148 + i] = (uint8_t)('0' + (sum & 7));
	b[154] = 0;
	b[155] = ' ';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	read_archive(data, size);
	if (size < SA_BLOCK || (data[0] == 0x1f && data[1] == 0x8b))
		return 0;
	uint8_t *p = malloc(size);
	if (!p)
		return 0;
	memcpy(p, data, size);
	bool changed = false;
	for (size_t off = 0; off + SA_BLOCK <= size; off += SA_BLOCK)
		if (!memcmp(p + off + 257, "ustar", 5)) {
			seal_header(p + off);
			changed = true;
		}
	if (changed && memcmp(p, data, size))
		read_archive(p, size);
	free(p);
	return 0;
}
