/*
 * cmd_shm.c — `waldo shm`: the wal-index (-shm) of a database: both header
 * copies side by side, the checkpoint info, the lock bytes (and who holds
 * those locks now), the hash blocks, optionally the page-number array, and,
 * when the -wal is there, how the index compares with it.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "files.h"
#include "json.h"
#include "locks.h"
#include "report.h"
#include "../formats/bytes.h"
#include "../formats/shm.h"
#include "../formats/wal.h"

static const char usage[] =
	"usage: waldo shm [--json] [--index] [--wal FILE] [--shm FILE] [PATH]\n"
	"\n"
	"Decode the wal-index (-shm) of a WAL-mode database: both 48-byte header\n"
	"copies side by side (a '*' marks fields where they differ), their\n"
	"checksums, the checkpoint info (nBackfill, read marks, lock bytes) and the\n"
	"hash-table blocks.  When the -wal exists, the index is checked against it\n"
	"(mxFrame, salts, page size, frame checksum, page numbers, hash lookups).\n"
	"PATH may be the database, its -shm or its -wal.  Never writes.\n"
	"\n"
	"  --index      list the page-number array: the page of every frame up to\n"
	"               mxFrame, and the entries past it (marked)\n"
	"  --wal FILE   use FILE as the -wal\n"
	"  --shm FILE   use FILE as the -shm (PATH may then be omitted)\n"
	"  --json       one JSON object: {path, file_size, byte_order, foreign_endian,\n"
	"               header:[copy0, copy1], copies_agree, header_ok, mxFrame, nPage,\n"
	"               nBackfill, nBackfillAttempted, read_marks, locks, blocks,\n"
	"               findings, status}\n"
	"\n"
	"Exit status: 0 ok, 1 warnings, 2 errors, 64 usage, 66 unreadable input.\n";

/* Header fields in file order: offset in a copy, size, name. */
enum hf { HF_VERSION, HF_UNUSED, HF_CHANGE, HF_ISINIT, HF_BIGEND, HF_SZPAGE, HF_MXFRAME, HF_NPAGE,
	  HF_FRAME_CKSUM, HF_SALT, HF_CKSUM, HF__N };
static const struct { unsigned off, size; const char *name, *json; } hfield[HF__N] = {
	{ 0, 4, "iVersion", "version" },           { 4, 4, "unused", "unused" },
	{ 8, 4, "iChange", "change" },             { 12, 1, "isInit", "is_init" },
	{ 13, 1, "bigEndCksum", "big_end_cksum" }, { 14, 2, "szPage", "page_size_raw" },
	{ 16, 4, "mxFrame", "mx_frame" },          { 20, 4, "nPage", "n_page" },
	{ 24, 8, "aFrameCksum", "frame_cksum" },   { 32, 8, "aSalt", "salt" },
	{ 40, 8, "aCksum", "cksum" },
};

/* printf a line without trailing blanks (columns may end empty). */
static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	char line[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\n'))
		n--;
	printf("%.*s\n", (int)n, line);
}

static void field_value(const struct shm_hdr *h, enum hf f, char *v, size_t n)
{
	switch (f) {
	case HF_VERSION: snprintf(v, n, "%u", h->version); break;
	case HF_UNUSED: snprintf(v, n, "%u", h->unused); break;
	case HF_CHANGE: snprintf(v, n, "%u", h->change); break;
	case HF_ISINIT: snprintf(v, n, "%u", h->is_init); break;
	case HF_BIGEND: snprintf(v, n, "%u", h->big_end_cksum); break;
	case HF_SZPAGE:
		if (h->page_size == h->page_size_raw)
			snprintf(v, n, "%u", h->page_size_raw);
		else if (h->page_size)
			snprintf(v, n, "%u (%u)", h->page_size_raw, h->page_size);
		else
			snprintf(v, n, "%u (%s)", h->page_size_raw, h->page_size_raw ? "invalid" : "none");
		break;
	case HF_MXFRAME: snprintf(v, n, "%u", h->mx_frame); break;
	case HF_NPAGE: snprintf(v, n, "%u", h->n_page); break;
	case HF_FRAME_CKSUM: snprintf(v, n, "%08x %08x", h->frame_cksum[0], h->frame_cksum[1]); break;
	case HF_SALT: snprintf(v, n, "%08x %08x", h->salt1, h->salt2); break;
	case HF_CKSUM:
		snprintf(v, n, "%08x %08x %s", h->cksum[0], h->cksum[1], h->cksum_ok ? "ok" : "BAD");
		break;
	case HF__N: v[0] = '\0'; break;
	}
}

static void raw_hex(const uint8_t *p, unsigned size, char *out, size_t n)
{
	size_t k = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < size && k < n; i++)
		k += (size_t)snprintf(out + k, n - k, "%02x%s", p[i], i + 1 < size && i % 4 == 3 ? " " : "");
}

/* What a read mark means next to mxFrame. */
static void mark_meaning(unsigned i, uint32_t m, uint32_t mx, char *v, size_t n)
{
	if (m == SHM_READMARK_NOT_USED)
		snprintf(v, n, "not used");
	else if (i == 0)
		snprintf(v, n, m ? "should be 0" : "readers of the database file alone");
	else if (m == mx)
		snprintf(v, n, "= mxFrame");
	else if (m == 0)
		snprintf(v, n, "< mxFrame: a reader here sees no WAL frame (set by a WAL restart)");
	else if (m < mx)
		snprintf(v, n, "< mxFrame: a reader may need frames up to %u", m);
	else
		snprintf(v, n, "> mxFrame %u: stale", mx);
}

/* Holders of shm lock byte `byte`, as "pid 12 (sqlite3) shared, …". */
static void lock_holders(const struct lock_report *r, uint64_t byte, char *v, size_t n)
{
	size_t k = 0;
	v[0] = '\0';
	for (int i = 0; i < r->n && k < n; i++) {
		const struct lock_holder *h = &r->h[i];
		if (h->file != 's' || h->start > byte || h->end < byte)
			continue;
		char name[128];
		k += (size_t)snprintf(v + k, n - k, "%s%s%s %s", k ? ", " : "", h->ofd ? "" : "pid ",
				      locks_holder_name(h, name, sizeof name), h->exclusive ? "exclusive" : "shared");
	}
}

/* Frames whose page-array entry lies inside a file of len bytes. */
static uint32_t index_capacity(uint64_t len)
{
	if (len < SHM_HDR_SIZE + 4)
		return 0;
	if (len < SHM_BLOCK_SIZE)
		return (uint32_t)((len - SHM_HDR_SIZE) / 4);
	uint64_t full = len / SHM_BLOCK_SIZE, rem = (len % SHM_BLOCK_SIZE) / 4;
	uint64_t cap = SHM_NPAGE_ONE + (full - 1) * SHM_NPAGE + (rem < SHM_NPAGE ? rem : SHM_NPAGE);
	return cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
}

/* The last frame of the listing: mxFrame or the last indexed frame, within the file. */
static uint32_t index_end(const uint8_t *buf, uint64_t len, const struct shm_info *s)
{
	uint32_t mx = s->hdr[0].mx_frame, cap = index_capacity(len);
	uint32_t n = mx > cap ? cap : mx;
	for (uint32_t f = cap; f > n; f--)
		if (shm_frame_pgno(buf, len, s, f))
			return f;
	return n;
}

static void print_header(const uint8_t *p, const struct shm_info *s)
{
	char raw[32], v0[40], v1[40];
	out("\nheader copies (%s)\n", s->copies_agree ? "identical" : "DIFFER: * marks the fields");
	out("  off (copy 1)  raw bytes (copy 0)   copy 0                  copy 1                    field\n");
	for (int f = 0; f < HF__N; f++) {
		unsigned off = hfield[f].off, size = hfield[f].size;
		bool differ = memcmp(p + off, p + SHM_HDR_COPY_SIZE + off, size) != 0;
		raw_hex(p + off, size, raw, sizeof raw);
		field_value(&s->hdr[0], (enum hf)f, v0, sizeof v0);
		field_value(&s->hdr[1], (enum hf)f, v1, sizeof v1);
		out("  %3u  (%3u)    %-20s %-23s %-23s %c %s\n", off, off + SHM_HDR_COPY_SIZE, raw, v0, v1,
		    differ ? '*' : ' ', hfield[f].name);
	}
	for (unsigned c = 0; c < 2; c++)
		if (!s->hdr[c].cksum_ok)
			out("  copy %u checksum: stored %08x %08x, computed %08x %08x\n", c, s->hdr[c].cksum[0],
			    s->hdr[c].cksum[1], s->hdr[c].calc_cksum[0], s->hdr[c].calc_cksum[1]);
	out("  %s\n", s->hdr_ok ? "SQLite accepts this header (copies identical, isInit set, checksum ok)"
			       : "SQLite rejects this header and rebuilds the index from the WAL");
}

static void print_ckpt(const struct shm_info *s, const struct lock_report *locks)
{
	const uint32_t mx = s->hdr[0].mx_frame;
	char v[128];
	out("\ncheckpoint info\n");
	out("  off  value       field               meaning\n");
	if (s->n_backfill == 1)
		snprintf(v, sizeof v, "frame 1 copied into the database");
	else if (s->n_backfill)
		snprintf(v, sizeof v, "frames 1..%u copied into the database", s->n_backfill);
	else
		snprintf(v, sizeof v, "no frame copied yet");
	out("   96  %-10u  %-18s  %s\n", s->n_backfill, "nBackfill", v);
	for (unsigned i = 0; i < SHM_NREADER; i++) {
		char name[16], val[16];
		snprintf(name, sizeof name, "aReadMark[%u]", i);
		if (s->read_mark[i] == SHM_READMARK_NOT_USED)
			snprintf(val, sizeof val, "0xffffffff");
		else
			snprintf(val, sizeof val, "%u", s->read_mark[i]);
		mark_meaning(i, s->read_mark[i], mx, v, sizeof v);
		out("  %3u  %-10s  %-18s  %s\n", 100 + 4 * i, val, name, v);
	}
	if (s->n_backfill_attempted > s->n_backfill)
		snprintf(v, sizeof v, "the last checkpoint aimed at frame %u and stopped early",
			 s->n_backfill_attempted);
	else
		snprintf(v, sizeof v, "frame the last checkpoint aimed at");
	out("  128  %-10u  %-18s  %s\n", s->n_backfill_attempted, "nBackfillAttempted", v);
	out("  132  %-10u  %-18s\n", s->not_used0, "notUsed0");

	out("\nlock bytes (contents unused; SQLite locks these bytes with fcntl)\n");
	for (unsigned i = 0; i <= 8; i++) {
		lock_holders(locks, SHM_LOCK_OFFSET + i, v, sizeof v);
		if (i < 8)
			out("  %3u  %02x  %-8s %s%s\n", SHM_LOCK_OFFSET + i, s->lock[i], shm_lock_name(i),
			    v[0] ? "held by " : "", v);
		else
			out("  %3u      %-8s %s%s\n", SHM_DMS_OFFSET, "DMS", v[0] ? "held by " : "not held", v);
	}
}

static void print_blocks(const uint8_t *buf, uint64_t len, const struct shm_info *s)
{
	out("\nhash index: %u block%s of 32768 bytes%s\n", s->nblocks, s->nblocks == 1 ? "" : "s",
	    len % SHM_BLOCK_SIZE ? " (the last one partial)" : "");
	for (uint32_t k = 0; k < s->nblocks && k < 64; k++) {
		uint64_t first = k == 0 ? 1 : SHM_NPAGE_ONE + (uint64_t)(k - 1) * SHM_NPAGE + 1;
		uint64_t last = k == 0 ? SHM_NPAGE_ONE : first + SHM_NPAGE - 1;
		uint32_t used = 0, entries = 0;
		uint64_t hash = (uint64_t)k * SHM_BLOCK_SIZE + SHM_NPAGE * 4;
		for (uint64_t o = hash; o < hash + SHM_NSLOT * 2 && o + 2 <= len; o += 2)
			used += rd_u16(buf + o, s->big_endian) != 0;
		for (uint64_t f = first; f <= last; f++)
			entries += shm_frame_pgno(buf, len, s, (uint32_t)f) != 0;
		out("  block %u: frames %llu..%llu, %u non-zero page numbers, %u of 8192 hash slots used\n", k,
		    (unsigned long long)first, (unsigned long long)last, entries, used);
	}
	if (s->nblocks > 64)
		out("  (%u more blocks)\n", s->nblocks - 64);
}

static void print_index(const uint8_t *buf, uint64_t len, const struct shm_info *s, const struct wal_walk *w)
{
	const uint32_t mx = s->hdr[0].mx_frame, n = index_end(buf, len, s);
	out("\npage-number array (frames 1..%u; mxFrame %u)\n", n, mx);
	if (mx > n)
		out("  (mxFrame is past the end of the file: it holds entries for %u frames)\n", n);
	out("  frame      page%s\n", w ? "  wal page" : "");
	for (uint32_t f = 1; f <= n && f != 0; f++) {
		uint32_t pg = shm_frame_pgno(buf, len, s, f);
		const char *note = f > mx ? "beyond mxFrame" : "";
		if (w) {
			bool have = f <= w->nframes && w->frames;
			uint32_t wp = have ? w->frames[f - 1].pgno : 0;
			char wv[16] = "-";
			if (have)
				snprintf(wv, sizeof wv, "%u", wp);
			if (f <= mx && (!have || f > w->nvalid))
				note = "not a valid WAL frame";
			else if (f <= mx && wp != pg)
				note = "differs from the WAL";
			out("  %5u %9u %9s  %s\n", f, pg, wv, note);
		} else {
			out("  %5u %9u  %s\n", f, pg, note);
		}
	}
}

static void print_text(const struct wf_set *fs, const struct shm_info *s, const struct wal_walk *w,
		       const struct lock_report *locks, bool index)
{
	const uint8_t *p = fs->shm.data;
	const uint64_t len = fs->shm.size;
	out("wal-index of %s (%llu bytes)\n", report_esc(fs->shm.path), (unsigned long long)len);
	if (!s->has_header) {
		out("  no header: the file is shorter than 136 bytes\n");
		return;
	}
	out("  byte order %s-endian (%s%s)\n", s->big_endian ? "big" : "little",
	    s->order_known ? "iVersion" : "guessed: iVersion is 3007000 in neither order",
	    s->foreign_endian ? "; NOT this host's order" : "; this host's order");
	print_header(p, s);
	print_ckpt(s, locks);
	print_blocks(p, len, s);
	if (w)
		out("\nwal %s: %u valid frame%s, last commit at frame %u (%u pages)\n", report_esc(fs->wal.path),
		    w->nvalid, w->nvalid == 1 ? "" : "s", w->mx_frame, w->npage);
	else
		out("\nno -wal: the index was not compared with a WAL\n");
	if (index)
		print_index(p, len, s, w);
}

static void json_hdr(struct jw *j, const struct shm_hdr *h)
{
	jw_obj_begin(j, NULL);
	jw_uint(j, "version", h->version);
	jw_uint(j, "unused", h->unused);
	jw_uint(j, "change", h->change);
	jw_uint(j, "is_init", h->is_init);
	jw_uint(j, "big_end_cksum", h->big_end_cksum);
	jw_uint(j, "page_size_raw", h->page_size_raw);
	jw_uint(j, "page_size", h->page_size);
	jw_uint(j, "mx_frame", h->mx_frame);
	jw_uint(j, "n_page", h->n_page);
	jw_arr_begin(j, "frame_cksum");
	jw_uint(j, NULL, h->frame_cksum[0]);
	jw_uint(j, NULL, h->frame_cksum[1]);
	jw_arr_end(j);
	jw_hex(j, "salt", h->salt, 8);
	jw_uint(j, "salt1", h->salt1);
	jw_uint(j, "salt2", h->salt2);
	jw_arr_begin(j, "cksum");
	jw_uint(j, NULL, h->cksum[0]);
	jw_uint(j, NULL, h->cksum[1]);
	jw_arr_end(j);
	jw_arr_begin(j, "calc_cksum");
	jw_uint(j, NULL, h->calc_cksum[0]);
	jw_uint(j, NULL, h->calc_cksum[1]);
	jw_arr_end(j);
	jw_bool(j, "cksum_ok", h->cksum_ok);
	jw_obj_end(j);
}

static void print_json(const struct wf_set *fs, const struct shm_info *s, const struct wal_walk *w,
		       const struct lock_report *locks, bool index, const struct wd_diags *d)
{
	const uint8_t *p = fs->shm.data;
	const uint64_t len = fs->shm.size;
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", fs->shm.path);
	jw_uint(&j, "file_size", len);
	if (s->has_header) {
		jw_str(&j, "byte_order", s->big_endian ? "big" : "little");
		jw_bool(&j, "byte_order_known", s->order_known);
		jw_bool(&j, "foreign_endian", s->foreign_endian);
		jw_arr_begin(&j, "header");
		json_hdr(&j, &s->hdr[0]);
		json_hdr(&j, &s->hdr[1]);
		jw_arr_end(&j);
		jw_bool(&j, "copies_agree", s->copies_agree);
		jw_bool(&j, "header_ok", s->hdr_ok);
		jw_uint(&j, "mxFrame", s->hdr[0].mx_frame);
		jw_uint(&j, "nPage", s->hdr[0].n_page);
		jw_uint(&j, "nBackfill", s->n_backfill);
		jw_uint(&j, "nBackfillAttempted", s->n_backfill_attempted);
		jw_arr_begin(&j, "read_marks");
		for (unsigned i = 0; i < SHM_NREADER; i++)
			jw_uint(&j, NULL, s->read_mark[i]);
		jw_arr_end(&j);
		jw_arr_begin(&j, "locks");
		for (unsigned i = 0; i < 8; i++)
			jw_uint(&j, NULL, s->lock[i]);
		jw_arr_end(&j);
	} else {
		static const char *absent[] = { "byte_order", "byte_order_known", "foreign_endian", "header",
						"copies_agree", "header_ok", "mxFrame", "nPage", "nBackfill",
						"nBackfillAttempted", "read_marks", "locks" };
		for (size_t i = 0; i < sizeof absent / sizeof *absent; i++)
			jw_null(&j, absent[i]);
	}
	jw_uint(&j, "blocks", s->nblocks);
	jw_arr_begin(&j, "lock_holders");
	for (int i = 0; i < locks->n; i++) {
		const struct lock_holder *h = &locks->h[i];
		if (h->file != 's')
			continue;
		jw_obj_begin(&j, NULL);
		jw_str(&j, "lock", h->what);
		jw_int(&j, "pid", h->pid);
		jw_str(&j, "process", h->comm);
		jw_bool(&j, "exclusive", h->exclusive);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	if (w) {
		jw_obj_begin(&j, "wal");
		jw_str(&j, "path", fs->wal.path);
		jw_uint(&j, "valid_frames", w->nvalid);
		jw_uint(&j, "mxFrame", w->mx_frame);
		jw_uint(&j, "nPage", w->npage);
		jw_obj_end(&j);
	} else {
		jw_null(&j, "wal");
	}
	if (index && s->has_header) {
		const uint32_t mx = s->hdr[0].mx_frame, n = index_end(p, len, s);
		jw_arr_begin(&j, "index");
		for (uint32_t f = 1; f <= n && f != 0; f++) {
			jw_obj_begin(&j, NULL);
			jw_uint(&j, "frame", f);
			jw_uint(&j, "page", shm_frame_pgno(p, len, s, f));
			if (w && w->frames && f <= w->nframes)
				jw_uint(&j, "wal_page", w->frames[f - 1].pgno);
			else
				jw_null(&j, "wal_page");
			jw_bool(&j, "beyond_mxFrame", f > mx);
			jw_obj_end(&j);
		}
		jw_arr_end(&j);
	}
	report_json(&j, d, fs);
	jw_str(&j, "status", report_status_name(d));
	jw_obj_end(&j);
	jw_finish(&j);
}

int cmd_shm(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "index", no_argument, NULL, 'i' },
		{ "wal", required_argument, NULL, 'w' },
		{ "shm", required_argument, NULL, 's' },
		{ 0, 0, 0, 0 },
	};
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	bool json = false, index = false;
	const char *wal_path = NULL, *shm_path = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'i': index = true; break;
		case 'w': wal_path = optarg; break;
		case 's': shm_path = optarg; break;
		case ':':
			return cmd_usage_error("shm", usage, "option '%s' needs a FILE", argv[optind - 1]);
		default:
			return cmd_usage_error("shm", usage, "unknown option '%s'", argv[optind - 1]);
		}
	}
	const char *path;
	if (argc - optind == 1)
		path = argv[optind];
	else if (argc == optind && shm_path)
		path = shm_path;
	else
		return cmd_usage_error("shm", usage, "expected one PATH (or --shm FILE)");

	struct wf_set fs;
	char err[512];
	if (wf_set_open(&fs, path, wal_path, shm_path, err, sizeof err)) {
		cmd_error("%s", err);
		return EXIT_NOINPUT;
	}
	if (!fs.shm.present) {
		if (fs.shm.path)
			cmd_error("cannot open '%s': no such file (no -shm for '%s')", report_esc(fs.shm.path),
				  report_esc(path));
		else
			cmd_error("no -shm for '%s' (give it with --shm FILE)", report_esc(path));
		wf_set_close(&fs);
		return EXIT_NOINPUT;
	}

	struct wd_diags d = { 0 }, scratch = { 0 };
	struct shm_info s;
	struct wal_walk walk, *w = NULL;
	shm_parse(fs.shm.data, fs.shm.size, &s, &d);
	if (fs.wal.present) {
		/* The WAL's own findings belong to `waldo wal`; keep only the comparison. */
		wal_walk(fs.wal.data, fs.wal.size, 0, &walk, &scratch);
		w = &walk;
		shm_check_wal(fs.shm.data, fs.shm.size, &s, w, &d);
	} else if (s.has_header && fs.wal.path) {
		wd_add(&d, WD_SHM_WITHOUT_WAL, WD_F_SHM, WD_NONE, WD_NONE, WD_NONE,
		       "no -wal beside the -shm (normal after a clean close or a TRUNCATE checkpoint)");
		if (s.hdr_ok && s.hdr[0].mx_frame > 0)
			wd_add(&d, WD_SHM_STALE, WD_F_SHM, 16, WD_NONE, WD_NONE,
			       "mxFrame %u: the index describes committed frames, but there is no -wal",
			       s.hdr[0].mx_frame);
	}
	struct lock_report locks;
	locks_probe(&fs, &locks);

	if (json) {
		wf_set_check_changed(&fs, &d);
		print_json(&fs, &s, w, &locks, index, &d);
	} else {
		print_text(&fs, &s, w, &locks, index);
		wf_set_check_changed(&fs, &d);   /* after the reads the text makes */
		if (d.n) {
			printf("\nfindings:\n");
			report_text(stdout, &d, &fs);
		}
	}
	int status = report_exit_status(&d, 0);
	if (w)
		wal_walk_free(w);
	wd_diags_free(&scratch);
	wd_diags_free(&d);
	wf_set_close(&fs);
	return status;
}
