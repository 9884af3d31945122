/*
 * scan_chain.c — continuity of a series of WAL files; see scan_chain.h.
 *
 * What links one WAL generation to the next (SQLite's wal.c):
 *
 *   header field     offset  on a WAL reset (walRestartHdr, then walFrames)
 *   page size             8  unchanged: one database has one page size
 *   checkpoint seq       12  the writing connection's private nCkpt, +1
 *   salt-1               16  the shared header's salt-1 + 1
 *   salt-2               20  four fresh random bytes
 *
 * A WAL reset happens when a writer starts after a checkpoint copied the
 * whole WAL (RESTART, TRUNCATE, or a complete PASSIVE one).  A backup tool
 * that copies the WAL before every such checkpoint therefore collects files
 * whose salt-1 values go up by exactly one.  Two facts shape the rules:
 *
 *   - The checkpoint sequence is per connection: walIndexRecover loads it
 *     from the header, and a connection that never ran recovery starts from
 *     0, so with several writers it can repeat or go back while salt-1
 *     still advances by one.  salt-1 is the generation counter; a
 *     checkpoint sequence that goes back is noted (CHAIN_ORDER, info), not
 *     treated as damage.
 *   - A connection writing the first frame of a WAL while its nCkpt is 0
 *     (a fresh WAL after the last connection closed and deleted the old
 *     one) draws both salts at random (walFrames: `if( pWal->nCkpt==0 )
 *     sqlite3_randomness(8, ...)`) and writes checkpoint sequence 0: a new
 *     lineage that nothing can chain to the previous file.
 *
 * For consecutive members A, B (by the number in their names; members with
 * an invalid header are skipped), with d = salt-1(B) - salt-1(A) mod 2^32
 * read as signed:
 *
 *   page size differs from A's (or the base db's)     CHAIN_FOREIGN
 *   d = 0, same salt-2                                CHAIN_ORDER (a repeat: overlap)
 *   d = 0, other salt-2                               CHAIN_FOREIGN
 *   B's checkpoint seq is 0 and d != 1                CHAIN_GAP, warning (new lineage)
 *   |d| > CHAIN_MAX_JUMP                              CHAIN_FOREIGN (unrelated salts)
 *   d < 0                                             CHAIN_ORDER (B is older than A)
 *   d > 1                                             CHAIN_GAP (d - 1 generations missing)
 *   d = 1, checkpoint seq goes back                   CHAIN_ORDER, info
 *
 * After CHAIN_FOREIGN, B is left out of the chain (the next file is compared
 * with A); after CHAIN_ORDER for an older file, A stays the reference.
 */
#include "scan_chain.h"

#include <stdlib.h>
#include <string.h>

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool chain_split_name(const char *name, size_t *start, size_t *len)
{
	size_t n = strlen(name);
	size_t end = n;
	while (end > 0) {
		/* the next run of hex digits, scanning backwards */
		while (end > 0 && !is_hex(name[end - 1]))
			end--;
		size_t b = end;
		while (b > 0 && is_hex(name[b - 1]))
			b--;
		bool decimal = false;
		for (size_t i = b; i < end; i++)
			decimal |= name[i] >= '0' && name[i] <= '9';
		if (end > b && decimal) {
			*start = b;
			*len = end - b;
			return true;
		}
		end = b;
	}
	return false;
}

bool chain_run_is_hex(const char *digits, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!(digits[i] >= '0' && digits[i] <= '9'))
			return true;
	return false;
}

uint64_t chain_parse_number(const char *digits, size_t len, bool hex)
{
	uint64_t v = 0, base = hex ? 16 : 10;
	for (size_t i = 0; i < len; i++) {
		char c = digits[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 99;
		if (d >= base)
			return UINT64_MAX;               /* a letter in a decimal series: sorts last */
		if (v > (UINT64_MAX - d) / base)
			return UINT64_MAX;
		v = v * base + d;
	}
	return v;
}

static int cmp_member(const void *a, const void *b)
{
	const struct chain_member *x = a, *y = b;
	if (x->number != y->number)
		return x->number < y->number ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool usable(const struct chain_member *m)
{
	return m->has_header && m->hdr.magic_ok && m->hdr.page_size_ok && m->hdr.cksum_ok;
}

int chain_check(struct chain_member *v, size_t n, uint32_t base_page_size, const char *base_path)
{
	int worst = -1;
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_member);
	const struct chain_member *a = NULL;
	uint32_t page_size = base_page_size;
	for (size_t i = 0; i < n; i++) {
		struct chain_member *b = &v[i];
		struct wd_diags *d = b->diags;
		size_t before = d->n;
		if (!usable(b))
			continue;
		if (i > 0 && v[i - 1].number == b->number && strcmp(v[i - 1].name, b->name))
			wd_add(d, WD_CHAIN_ORDER, WD_F_WAL, WD_NONE, WD_NONE, WD_NONE,
			       "'%s' and '%s' carry the same sequence number %llu", v[i - 1].path, b->path,
			       (unsigned long long)b->number);
		if (page_size && b->hdr.page_size != page_size) {
			if (!a && base_page_size)
				wd_add(d, WD_CHAIN_FOREIGN, WD_F_WAL, 8, WD_NONE, WD_NONE,
				       "'%s' has %u-byte pages, the base database '%s' %u-byte pages", b->path,
				       b->hdr.page_size, base_path ? base_path : "?", base_page_size);
			else
				wd_add(d, WD_CHAIN_FOREIGN, WD_F_WAL, 8, WD_NONE, WD_NONE,
				       "'%s' has %u-byte pages, the series before it %u-byte pages", b->path,
				       b->hdr.page_size, page_size);
			goto next;
		}
		page_size = b->hdr.page_size;
		if (!a) {
			a = b;
			goto next;
		}
		int32_t ds = (int32_t)(b->hdr.salt1 - a->hdr.salt1);
		uint32_t mag = ds < 0 ? (uint32_t)(-(int64_t)ds) : (uint32_t)ds;
		if (ds == 0) {
			if (b->hdr.salt2 == a->hdr.salt2) {
				wd_add(d, WD_CHAIN_ORDER, WD_F_WAL, 16, WD_NONE, WD_NONE,
				       "'%s' repeats the WAL generation of '%s' (salts %08x %08x): the files overlap",
				       b->path, a->path, b->hdr.salt1, b->hdr.salt2);
			} else {
				wd_add(d, WD_CHAIN_FOREIGN, WD_F_WAL, 16, WD_NONE, WD_NONE,
				       "'%s' has the salt-1 of '%s' (%08x) but another salt-2 (%08x, %08x): "
				       "a WAL of another database", b->path, a->path, b->hdr.salt1,
				       b->hdr.salt2, a->hdr.salt2);
			}
			goto next;
		}
		if (b->hdr.ckpt_seq == 0 && ds != 1) {
			wd_add_sev(d, WD_CHAIN_GAP, WD_WARNING, WD_F_WAL, 12, WD_NONE, WD_NONE,
				   "'%s' starts a new WAL lineage (checkpoint sequence 0, fresh salts %08x %08x): "
				   "it cannot be chained to '%s'", b->path, b->hdr.salt1, b->hdr.salt2, a->path);
			a = b;
			goto next;
		}
		if (mag > CHAIN_MAX_JUMP) {
			wd_add(d, WD_CHAIN_FOREIGN, WD_F_WAL, 16, WD_NONE, WD_NONE,
			       "'%s' has salt-1 %08x, unrelated to %08x of '%s': a WAL of another database or "
			       "lineage", b->path, b->hdr.salt1, a->hdr.salt1, a->path);
			goto next;
		}
		if (ds < 0) {
			wd_add(d, WD_CHAIN_ORDER, WD_F_WAL, 16, WD_NONE, WD_NONE,
			       "'%s' (salt-1 %08x) is %u generation%s older than '%s' (salt-1 %08x), which "
			       "comes before it", b->path, b->hdr.salt1, mag, mag == 1 ? "" : "s", a->path,
			       a->hdr.salt1);
			goto next;
		}
		if (ds > 1) {
			wd_add(d, WD_CHAIN_GAP, WD_F_WAL, 16, WD_NONE, WD_NONE,
			       "%d WAL generation%s missing between '%s' (salt-1 %08x) and '%s' (salt-1 %08x)",
			       ds - 1, ds == 2 ? " is" : "s are", a->path, a->hdr.salt1, b->path, b->hdr.salt1);
		} else if (b->hdr.ckpt_seq < a->hdr.ckpt_seq) {
			wd_add_sev(d, WD_CHAIN_ORDER, WD_INFO, WD_F_WAL, 12, WD_NONE, WD_NONE,
				   "checkpoint sequence goes back from %u ('%s') to %u ('%s') while salt-1 advances "
				   "by one: another connection reset the WAL (the counter is per connection)",
				   a->hdr.ckpt_seq, a->path, b->hdr.ckpt_seq, b->path);
		}
		a = b;
next:
		for (size_t k = before; k < d->n; k++)
			if ((int)d->v[k].sev > worst)
				worst = (int)d->v[k].sev;
	}
	return worst;
}
