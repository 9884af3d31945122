/*
 * cmd_wal.c — `waldo wal`: the WAL header field by field, one line per
 * frame with its classification, the committed transactions and where (and
 * why) SQLite's recovery stops.  Built for 10^5..10^6 frames: one large
 * stdout buffer and hand-rolled number formatting in the per-frame loops.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "files.h"
#include "json.h"
#include "report.h"
#include "../formats/bytes.h"
#include "../formats/dbheader.h"
#include "../formats/wal.h"

static const char usage[] =
	"usage: waldo wal [--json] [--summary] [--frames FIRST-LAST] [--wal FILE] [PATH]\n"
	"\n"
	"Decode a write-ahead log: the 32-byte header field by field, every frame\n"
	"(page, commit size, salts, stored checksum, classification, transaction),\n"
	"the committed transactions, and where SQLite's recovery stops and why.\n"
	"PATH is the database (its -wal sibling is read), the -wal itself or the\n"
	"-shm.  The database's page size, when it has a valid header, delimits the\n"
	"frames of a WAL whose own page size is damaged.  Never writes.\n"
	"\n"
	"  --json                one JSON object: {path, file_size, header, frames,\n"
	"                        transactions, summary, findings, status}\n"
	"  --summary             header, summary and findings only: no frame or\n"
	"                        transaction list\n"
	"  --frames FIRST-LAST   list only these frames (N, N-M or N-)\n"
	"  --wal FILE            read FILE as the WAL (a WAL saved apart); PATH, when\n"
	"                        given, names its database\n"
	"\n"
	"Exit status: 0 ok, 1 warnings, 2 errors, 64 usage, 66 no readable WAL.\n";

/* stdout is fully buffered through this for the frame listing. */
static char outbuf[1 << 17];

struct range {
	uint64_t first, last;    /* 1-based, inclusive */
};

/* Parse "N", "N-M" or "N-"; returns 0 on success. */
static int parse_range(const char *s, struct range *r)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long a = strtoull(s, &end, 10), b;
	if (errno || a == 0)
		return -1;
	if (*end == '\0') {
		b = a;
	} else if (*end == '-' && end[1] == '\0') {
		b = UINT64_MAX;
	} else if (*end == '-' && end[1] >= '0' && end[1] <= '9') {
		b = strtoull(end + 1, &end, 10);
		if (errno || *end || b < a)
			return -1;
	} else {
		return -1;
	}
	r->first = a;
	r->last = b;
	return 0;
}

/* ---- fast formatting ---------------------------------------------------- */

static const char digits2[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Right-align v in a field of `width` characters at p; returns the end.
 * The digits are written in place from the right, two per division: the
 * listing formats a million numbers. */
static char *put_u(char *p, uint64_t v, int width)
{
	static const uint64_t pow10[] = {
		10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
		1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
		100000000000000ull, 1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
		1000000000000000000ull, 10000000000000000000ull,
	};
	int n = 1;
	while (n < 20 && v >= pow10[n - 1])
		n++;
	for (int i = n; i < width; i++)
		*p++ = ' ';
	char *q = p + n;
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		q -= 2;
		q[0] = digits2[2 * r];
		q[1] = digits2[2 * r + 1];
	}
	if (v >= 10) {
		q[-2] = digits2[2 * v];
		q[-1] = digits2[2 * v + 1];
	} else {
		q[-1] = (char)('0' + v);
	}
	return p + n;
}

/* Unpadded decimal. */
static char *put_dec(char *p, uint64_t v)
{
	return put_u(p, v, 0);
}

static char *put_hex8(char *p, uint32_t v)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 7; i >= 0; i--)
		*p++ = hex[(v >> (4 * i)) & 15];
	return p;
}

/* Left-align s in a field of `width` characters. */
static char *put_s(char *p, const char *s, int width)
{
	int n = 0;
	while (*s) {
		*p++ = *s++;
		n++;
	}
	for (; n < width; n++)
		*p++ = ' ';
	return p;
}

/* ---- text ---------------------------------------------------------------- */

static void hdr_line(const uint8_t *p, unsigned off, const char *value, const char *name)
{
	printf("  %3u %4u  %02x %02x %02x %02x  %-26s %s\n", off, 4u, p[off], p[off + 1], p[off + 2],
	       p[off + 3], value, name);
}

static void print_header(const char *path, const uint8_t *p, const struct wal_walk *w)
{
	const struct wal_header *h = &w->hdr;
	char v[64];
	printf("WAL header of %s (%llu bytes)\n", report_esc(path), (unsigned long long)w->file_size);
	if (w->file_size < WAL_HDR_SIZE) {
		printf("  shorter than the 32-byte header: SQLite treats the WAL as empty\n");
		return;
	}
	printf("  off size  raw bytes    value                      field\n");
	snprintf(v, sizeof v, "0x%08x%s", h->magic, h->magic_ok ? "" : " (invalid)");
	hdr_line(p, 0, v, h->magic_ok ? (h->big_endian_cksum ? "magic (big-endian checksum words)"
						  : "magic (little-endian checksum words)")
			       : "magic");
	snprintf(v, sizeof v, "%u%s", h->version, h->version_ok ? "" : " (not 3007000)");
	hdr_line(p, 4, v, "format version");
	snprintf(v, sizeof v, "%u%s", h->page_size, h->page_size_ok ? "" : " (invalid)");
	hdr_line(p, 8, v, "page size");
	snprintf(v, sizeof v, "%u", h->ckpt_seq);
	hdr_line(p, 12, v, "checkpoint sequence");
	snprintf(v, sizeof v, "0x%08x", h->salt1);
	hdr_line(p, 16, v, "salt-1");
	snprintf(v, sizeof v, "0x%08x", h->salt2);
	hdr_line(p, 20, v, "salt-2");
	if (h->cksum_ok)
		snprintf(v, sizeof v, "0x%08x (ok)", h->cksum1);
	else
		snprintf(v, sizeof v, "0x%08x (computed %08x)", h->cksum1, h->calc_cksum1);
	hdr_line(p, 24, v, "checksum-1 over bytes 0..23");
	if (h->cksum_ok)
		snprintf(v, sizeof v, "0x%08x (ok)", h->cksum2);
	else
		snprintf(v, sizeof v, "0x%08x (computed %08x)", h->cksum2, h->calc_cksum2);
	hdr_line(p, 28, v, "checksum-2");
	if (w->file_size <= WAL_HDR_SIZE)
		printf("  no frames: SQLite does not read the header of a WAL this short\n");
	else if (!h->valid)
		printf("  header invalid: SQLite ignores every frame of this WAL\n");
	else if (!h->version_ok)
		printf("  header valid but version unknown: SQLite refuses to open the database\n");
	else
		printf("  header valid: SQLite reads the frames\n");
}

/* Transaction number (1-based) of each committed frame, by a forward cursor. */
struct txn_cursor {
	const struct wal_walk *w;
	uint32_t t;
};

static uint32_t txn_of(struct txn_cursor *c, uint32_t frame)
{
	const struct wal_walk *w = c->w;
	if (frame > w->mx_frame || w->ntxn == 0)
		return 0;
	if (c->t >= w->ntxn || w->txns[c->t].first > frame)
		c->t = 0;
	while (c->t < w->ntxn && w->txns[c->t].last < frame)
		c->t++;
	return c->t < w->ntxn ? c->t + 1 : 0;
}

static void print_frames(const struct wal_walk *w, const struct range *r)
{
	if (!w->page_size) {
		printf("\nframes: none can be delimited (no valid page size in the WAL or the database)\n");
		return;
	}
	printf("\nframes: %u whole frame%s of %u bytes (page size %u)", w->nframes, w->nframes == 1 ? "" : "s",
	       w->page_size + WAL_FRAME_HDR_SIZE, w->page_size);
	if (r->first > w->nframes)
		printf(", none in the range asked for");
	else if (r->first > 1 || r->last < w->nframes)
		printf(", listing %llu-%llu", (unsigned long long)r->first,
		       (unsigned long long)(r->last < w->nframes ? r->last : w->nframes));
	printf("\n%10s %14s %10s %10s %-4s %-8s %-8s %-14s%6s\n", "frame", "offset", "page", "commit", "salt",
	       "cksum-1", "cksum-2", "state", "txn");
	struct txn_cursor tc = { w, 0 };
	/* Lines are formatted into one block, handed to stdio when nearly full. */
	static char block[1 << 16];
	const size_t line_max = 160;
	char *p = block;
	uint64_t last = r->last < w->nframes ? r->last : w->nframes;
	for (uint64_t i = r->first; i <= last; i++) {
		const struct wal_frame *f = &w->frames[i - 1];
		if ((size_t)(p - block) > sizeof block - line_max) {
			fwrite(block, 1, (size_t)(p - block), stdout);
			p = block;
		}
		p = put_u(p, i, 10);
		*p++ = ' ';
		p = put_u(p, wal_frame_offset(w->page_size, i), 14);
		*p++ = ' ';
		p = put_u(p, f->pgno, 10);
		*p++ = ' ';
		p = put_u(p, f->commit_size, 10);
		*p++ = ' ';
		p = put_s(p, f->salt1 == w->hdr.salt1 && f->salt2 == w->hdr.salt2 ? "ok" : "bad", 4);
		*p++ = ' ';
		p = put_hex8(p, f->cksum1);
		*p++ = ' ';
		p = put_hex8(p, f->cksum2);
		*p++ = ' ';
		p = put_s(p, wal_frame_state_name((enum wal_frame_state)f->state), 14);
		uint32_t t = txn_of(&tc, (uint32_t)i);
		if (t)
			p = put_u(p, t, 6);
		else
			p = put_s(p, "     -", 0);
		*p++ = '\n';
	}
	fwrite(block, 1, (size_t)(p - block), stdout);
}

static void print_txns(const struct wal_walk *w)
{
	printf("\ntransactions: %u committed\n", w->ntxn);
	if (!w->ntxn)
		return;
	printf("%10s  %-24s %s\n", "n", "frames", "db size");
	char line[128];
	for (uint32_t i = 0; i < w->ntxn; i++) {
		const struct wal_txn *t = &w->txns[i];
		char fr[32], *q = fr;
		q = put_dec(q, t->first);
		*q++ = '-';
		q = put_dec(q, t->last);
		*q = '\0';
		char *p = line;
		p = put_u(p, i + 1, 10);
		*p++ = ' ';
		*p++ = ' ';
		p = put_s(p, fr, 24);
		*p++ = ' ';
		p = put_dec(p, t->db_size);
		p = put_s(p, " pages\n", 0);
		fwrite(line, 1, (size_t)(p - line), stdout);
	}
}

/* The last frame with a commit size and the header's salts, valid or not. */
static uint32_t last_commit_frame(const struct wal_walk *w)
{
	for (uint32_t i = w->nframes; i > 0; i--) {
		const struct wal_frame *f = &w->frames[i - 1];
		if (f->commit_size && f->salt1 == w->hdr.salt1 && f->salt2 == w->hdr.salt2)
			return i;
	}
	return 0;
}

static const char *end_text(enum wal_end e)
{
	switch (e) {
	case WAL_END_EOF: return "every whole frame is valid";
	case WAL_END_NO_HEADER: return "SQLite reads no frame (no usable header, or no frames)";
	case WAL_END_SALT: return "the next frame's salts differ from the header's";
	case WAL_END_PGNO: return "the next frame has page number 0";
	case WAL_END_CKSUM: return "the checksum chain breaks at the next frame";
	case WAL_END_LIMIT: return "waldo's frame limit (WAL_MAX_FRAMES) was reached";
	}
	return "?";
}

static void print_summary(const struct wal_walk *w)
{
	printf("\nsummary:\n");
	printf("  frames             %u whole, %u valid\n", w->nframes, w->nvalid);
	printf("  commits            %u\n", w->ntxn);
	if (w->mx_frame)
		printf("  mxFrame            %u (database size %u pages)\n", w->mx_frame, w->npage);
	else
		printf("  mxFrame            0 (SQLite reads nothing from this WAL)\n");
	uint32_t lc = last_commit_frame(w);
	printf("  last commit frame  %u%s\n", lc,
	       lc > w->mx_frame ? " (past mxFrame: commits SQLite will not see)" : "");
	printf("  partial bytes      %u\n", w->partial_bytes);
	printf("  end                %s after frame %u: %s\n", wal_end_name(w->end), w->nvalid, end_text(w->end));
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_header(struct jw *j, const struct wal_header *h)
{
	jw_obj_begin(j, "header");
	jw_uint(j, "magic", h->magic);
	jw_uint(j, "version", h->version);
	jw_uint(j, "page_size", h->page_size);
	jw_uint(j, "ckpt_seq", h->ckpt_seq);
	jw_uint(j, "salt1", h->salt1);
	jw_uint(j, "salt2", h->salt2);
	jw_uint(j, "cksum1", h->cksum1);
	jw_uint(j, "cksum2", h->cksum2);
	jw_uint(j, "calc_cksum1", h->calc_cksum1);
	jw_uint(j, "calc_cksum2", h->calc_cksum2);
	jw_bool(j, "big_endian_cksum", h->big_endian_cksum);
	jw_bool(j, "magic_ok", h->magic_ok);
	jw_bool(j, "page_size_ok", h->page_size_ok);
	jw_bool(j, "cksum_ok", h->cksum_ok);
	jw_bool(j, "version_ok", h->version_ok);
	jw_bool(j, "valid", h->valid);
	jw_obj_end(j);
}

/* The frames array, formatted by hand: the one part of the output whose
 * size grows with the file.  Keeps the jw comma state consistent. */
static void json_frames(struct jw *j, const struct wal_walk *w, const struct range *r)
{
	jw_arr_begin(j, "frames");
	struct txn_cursor tc = { w, 0 };
	char line[320];
	uint64_t last = r->last < w->nframes ? r->last : w->nframes;
	for (uint64_t i = r->first; i <= last; i++) {
		const struct wal_frame *f = &w->frames[i - 1];
		char *p = line;
		if (!j->first[j->depth])
			*p++ = ',';
		j->first[j->depth] = false;
		p = put_s(p, "{\"frame\":", 0);
		p = put_dec(p, i);
		p = put_s(p, ",\"offset\":", 0);
		p = put_dec(p, wal_frame_offset(w->page_size, i));
		p = put_s(p, ",\"page\":", 0);
		p = put_dec(p, f->pgno);
		p = put_s(p, ",\"commit_size\":", 0);
		p = put_dec(p, f->commit_size);
		p = put_s(p, ",\"salt1\":", 0);
		p = put_dec(p, f->salt1);
		p = put_s(p, ",\"salt2\":", 0);
		p = put_dec(p, f->salt2);
		p = put_s(p, ",\"cksum1\":", 0);
		p = put_dec(p, f->cksum1);
		p = put_s(p, ",\"cksum2\":", 0);
		p = put_dec(p, f->cksum2);
		p = put_s(p, ",\"state\":\"", 0);
		p = put_s(p, wal_frame_state_name((enum wal_frame_state)f->state), 0);
		p = put_s(p, "\",\"txn\":", 0);
		uint32_t t = txn_of(&tc, (uint32_t)i);
		if (t)
			p = put_dec(p, t);
		else
			p = put_s(p, "null", 0);
		*p++ = '}';
		fwrite(line, 1, (size_t)(p - line), j->f);
	}
	jw_arr_end(j);
}

static void print_json(const struct wal_walk *w, const struct range *r, int summary_only,
		       const struct wd_diags *d, const struct wf_set *s)
{
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", s->wal.path);
	jw_uint(&j, "file_size", w->file_size);
	if (w->file_size >= WAL_HDR_SIZE)
		json_header(&j, &w->hdr);
	else
		jw_null(&j, "header");
	if (!summary_only) {
		json_frames(&j, w, r);
		jw_arr_begin(&j, "transactions");
		for (uint32_t i = 0; i < w->ntxn; i++) {
			jw_obj_begin(&j, NULL);
			jw_uint(&j, "n", i + 1);
			jw_uint(&j, "first", w->txns[i].first);
			jw_uint(&j, "last", w->txns[i].last);
			jw_uint(&j, "db_size", w->txns[i].db_size);
			jw_obj_end(&j);
		}
		jw_arr_end(&j);
	}
	jw_obj_begin(&j, "summary");
	jw_uint(&j, "frames_total", w->nframes);
	jw_uint(&j, "frames_valid", w->nvalid);
	jw_uint(&j, "commits", w->ntxn);
	jw_uint(&j, "mx_frame", w->mx_frame);
	jw_uint(&j, "last_commit_frame", last_commit_frame(w));
	jw_uint(&j, "npage", w->npage);
	jw_uint(&j, "partial_bytes", w->partial_bytes);
	jw_str(&j, "end", wal_end_name(w->end));
	jw_uint(&j, "page_size", w->page_size);
	jw_obj_end(&j);
	report_json(&j, d, s);
	jw_str(&j, "status", report_status_name(d));
	jw_obj_end(&j);
	jw_finish(&j);
}

/* ---- the command --------------------------------------------------------- */

/* Open the WAL (and, through PATH, its database).  Returns 0 or an exit status. */
static int open_inputs(struct wf_set *s, const char *path, const char *wal_path)
{
	char err[512];
	if (!path) {
		/* --wal alone: just that file, no sibling guessing. */
		memset(s, 0, sizeof *s);
		s->db.fd = s->shm.fd = s->journal.fd = -1;
		int rc = wf_open(&s->wal, wal_path, err, sizeof err);
		if (rc == 1)
			snprintf(err, sizeof err, "cannot open '%s': %s", wal_path, strerror(ENOENT));
		if (rc) {
			cmd_error("%s", err);
			wf_set_close(s);
			return EXIT_NOINPUT;
		}
		s->given = WF_WAL;
		return 0;
	}
	if (wf_set_open(s, path, wal_path, NULL, err, sizeof err)) {
		cmd_error("%s", err);
		return EXIT_NOINPUT;
	}
	if (!s->wal.present) {
		if (s->wal.path)
			cmd_error("no WAL for '%s': cannot open '%s': %s", report_esc(path), report_esc(s->wal.path),
				  strerror(ENOENT));
		else
			cmd_error("no WAL for '%s'", report_esc(path));
		wf_set_close(s);
		return EXIT_NOINPUT;
	}
	return 0;
}

/* The database's page size when it has a valid header, else 0. */
static uint32_t db_page_size(const struct wf_set *s)
{
	if (!s->db.present || s->db.size < DBH_SIZE)
		return 0;
	struct db_header h;
	struct wd_diags scratch = { 0 };
	dbh_parse(s->db.data, DBH_SIZE, &h, &scratch);
	wd_diags_free(&scratch);
	return h.magic_ok && h.page_size_ok ? h.page_size : 0;
}

int cmd_wal(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "summary", no_argument, NULL, 's' },
		{ "frames", required_argument, NULL, 'f' },
		{ "wal", required_argument, NULL, 'w' },
		{ 0, 0, 0, 0 },
	};
	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	int json = 0, summary_only = 0, c;
	const char *wal_path = NULL;
	struct range r = { 1, UINT64_MAX };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 's': summary_only = 1; break;
		case 'w': wal_path = optarg; break;
		case 'f':
			if (parse_range(optarg, &r))
				return cmd_usage_error("wal", usage, "bad frame range '%s' (want N, N-M or N-)", optarg);
			break;
		case ':':
			return cmd_usage_error("wal", usage, "option '%s' needs a value", argv[optind - 1]);
		default:
			return cmd_usage_error("wal", usage, "unknown option '%s'", argv[optind - 1]);
		}
	}
	int nargs = argc - optind;
	if (nargs > 1 || (nargs == 0 && !wal_path))
		return cmd_usage_error("wal", usage, wal_path ? "expected at most one PATH" : "expected one PATH");

	struct wf_set s;
	int st = open_inputs(&s, nargs ? argv[optind] : NULL, wal_path);
	if (st)
		return st;

	uint32_t hint = db_page_size(&s);
	struct wd_diags d = { 0 };
	struct wal_walk w;
	wal_walk(s.wal.data, s.wal.size, hint, &w, &d);
	if (hint && w.hdr.page_size_ok && w.hdr.page_size != hint)
		wd_add(&d, WD_WAL_PAGE_SIZE_MISMATCH, WD_F_WAL, 8, WD_NONE, WD_NONE,
		       "WAL page size %u, database page size %u: these files do not belong together",
		       w.hdr.page_size, hint);
	cmd_check_inputs(&s, CMD_IN_DB | CMD_IN_WAL, &d, NULL);
	if (json) {
		print_json(&w, &r, summary_only, &d, &s);
	} else {
		print_header(s.wal.path, s.wal.data, &w);
		if (!summary_only && w.file_size > WAL_HDR_SIZE) {
			print_frames(&w, &r);
			print_txns(&w);
		}
		print_summary(&w);
		if (d.n || d.dropped) {
			printf("\nfindings:\n");
			report_text(stdout, &d, &s);
		}
		fflush(stdout);
	}
	int status = report_exit_status(&d, 0);
	wal_walk_free(&w);
	wd_diags_free(&d);
	wf_set_close(&s);
	return status;
}
