/*
 * cmd_header.c — `waldo header`: the 100-byte database header, field by
 * field (offset, raw bytes, decoded value, name), plus what it implies.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "files.h"
#include "json.h"
#include "report.h"
#include "../formats/bytes.h"
#include "../formats/dbheader.h"

static const char usage[] =
	"usage: waldo header [--json] DB\n"
	"\n"
	"Decode the 100-byte header of the database file DB: every field with its\n"
	"offset, raw bytes and meaning, whether the in-header size is trusted, and\n"
	"what SQLite would object to.  DB may also be a -wal/-shm path whose\n"
	"database sibling is read.  Never writes.\n"
	"\n"
	"  --json   one JSON object: {path, file_size, header:{...}, findings, status}\n"
	"\n"
	"Exit status: 0 ok, 1 warnings, 2 errors, 64 usage, 66 unreadable input.\n";

static void line(const uint8_t *p, unsigned off, unsigned size, const char *value, const char *name)
{
	char raw[3 * 8 + 4] = "";
	size_t k = 0;
	for (unsigned i = 0; i < size && i < 8; i++)
		k += (size_t)snprintf(raw + k, sizeof raw - k, "%02x ", p[off + i]);
	if (size > 8)
		snprintf(raw + k, sizeof raw - k, "..");
	printf("  %3u %3u  %-26s %-22s %s\n", off, size, raw, value, name);
}

static void line_u(const uint8_t *p, unsigned off, unsigned size, uint32_t v, const char *name)
{
	char s[32];
	snprintf(s, sizeof s, "%u", v);
	line(p, off, size, s, name);
}

static void print_text(const char *path, uint64_t fsize, const uint8_t *p, const struct db_header *h)
{
	char v[64];
	printf("database header of %s (%llu bytes)\n", report_esc(path), (unsigned long long)fsize);
	printf("  off size raw bytes                  value                  field\n");
	line(p, 0, 16, h->magic_ok ? "\"SQLite format 3\"" : "(bad magic)", "magic");
	snprintf(v, sizeof v, "%u%s", h->page_size, h->page_size_ok ? "" : " (invalid)");
	line(p, 16, 2, v, "page size");
	line_u(p, 18, 1, h->write_version, "write version (1 rollback, 2 WAL)");
	line_u(p, 19, 1, h->read_version, "read version (1 rollback, 2 WAL)");
	line_u(p, 20, 1, h->reserved_bytes, "reserved bytes per page");
	line_u(p, 21, 1, h->max_payload_frac, "max embedded payload fraction");
	line_u(p, 22, 1, h->min_payload_frac, "min embedded payload fraction");
	line_u(p, 23, 1, h->leaf_payload_frac, "leaf payload fraction");
	line_u(p, 24, 4, h->change_counter, "file change counter");
	snprintf(v, sizeof v, "%u (%s)", h->db_size, h->size_valid ? "trusted" : "not trusted");
	line(p, 28, 4, v, "database size in pages");
	line_u(p, 32, 4, h->freelist_trunk, "first freelist trunk page");
	line_u(p, 36, 4, h->freelist_count, "freelist pages");
	line_u(p, 40, 4, h->schema_cookie, "schema cookie");
	line_u(p, 44, 4, h->schema_format, "schema format");
	line_u(p, 48, 4, h->default_cache_size, "default page cache size");
	line_u(p, 52, 4, h->largest_root, "largest root page (auto-vacuum)");
	snprintf(v, sizeof v, "%u (%s)", h->text_encoding, dbh_encoding_name(h->text_encoding));
	line(p, 56, 4, v, "text encoding");
	line_u(p, 60, 4, h->user_version, "user version");
	line_u(p, 64, 4, h->incremental_vacuum, "incremental vacuum");
	snprintf(v, sizeof v, "0x%08x", h->application_id);
	line(p, 68, 4, v, "application id");
	line(p, 72, 20, h->reserved_zero ? "zero" : "NOT ZERO", "reserved for expansion");
	line_u(p, 92, 4, h->version_valid_for, "version-valid-for");
	snprintf(v, sizeof v, "%u.%u.%u", h->sqlite_version / 1000000, h->sqlite_version / 1000 % 1000,
		 h->sqlite_version % 1000);
	line(p, 96, 4, v, "SQLite version of last writer");
	printf("\n  usable page size %u; journal mode %s; auto-vacuum %s\n", h->usable_size,
	       h->wal_mode ? "WAL" : "rollback", h->auto_vacuum ? (h->incremental_vacuum ? "incremental" : "full") : "off");
	if (h->page_size_ok)
		printf("  file holds %llu pages%s\n", (unsigned long long)(fsize / h->page_size),
		       fsize % h->page_size ? " and a partial page" : "");
}

static void print_json(const char *path, uint64_t fsize, const struct db_header *h,
		       const struct wd_diags *d, const struct wf_set *s)
{
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", path);
	jw_uint(&j, "file_size", fsize);
	report_json_db_header(&j, "header", h);
	report_json(&j, d, s);
	jw_str(&j, "status", report_status_name(d));
	jw_obj_end(&j);
	jw_finish(&j);
}

int cmd_header(int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { 0, 0, 0, 0 } };
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	int json = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else
			return cmd_usage_error("header", usage, "unknown option '%s'", argv[optind - 1]);
	}
	if (argc - optind != 1)
		return cmd_usage_error("header", usage, "expected one DB path");

	struct wf_set s;
	char err[512];
	if (wf_set_open(&s, argv[optind], NULL, NULL, err, sizeof err)) {
		cmd_error("%s", err);
		return EXIT_NOINPUT;
	}
	if (!s.db.present) {
		cmd_error("no database file for '%s'", argv[optind]);
		wf_set_close(&s);
		return EXIT_NOINPUT;
	}
	struct wd_diags d = { 0 };
	struct db_header h;
	int rc = dbh_parse(s.db.data, (size_t)(s.db.size < DBH_SIZE ? s.db.size : DBH_SIZE), &h, &d);
	if (json) {
		cmd_check_inputs(&s, CMD_IN_DB, &d, NULL);
		print_json(s.db.path, s.db.size, &h, &d, &s);
	} else {
		if (rc != WD_FATAL || h.magic_ok)
			print_text(s.db.path, s.db.size, s.db.data, &h);
		else
			printf("database header of %s (%llu bytes): not an SQLite header\n", report_esc(s.db.path),
			       (unsigned long long)s.db.size);
		cmd_check_inputs(&s, CMD_IN_DB, &d, NULL);   /* after the bytes the text shows */
		if (d.n) {
			printf("\nfindings:\n");
			report_text(stdout, &d, &s);
		}
	}
	int status = report_exit_status(&d, 0);
	wd_diags_free(&d);
	wf_set_close(&s);
	return status;
}
