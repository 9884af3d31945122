/*
 * cmd_scan.c — `waldo scan`: batch diagnosis of backups.  Option parsing
 * only; the work is in scan.c (reference: docs/scan.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "scan.h"

static const char usage[] =
	"usage: waldo scan [--json] [-j N] [--recursive] [--files-from FILE|-] [--shard I/N] PATH...\n"
	"\n"
	"Find every SQLite database in the given files, directories, gzip files and\n"
	"tar / tar.gz archives (by content, not by name), pair each with its -wal,\n"
	"-shm and -journal, and run the analysis of `waldo inspect --no-locks` on it.\n"
	"Archives are read as streams and never extracted.  One line per database:\n"
	"STATUS PATH pages=N frames=VALID/TOTAL CODES; members of archives are\n"
	"named ARCHIVE:MEMBER.  Series of WAL files (wal-00, wal-01, ...) are checked\n"
	"for continuity.  A summary goes to stderr.\n"
	"\n"
	"  --json              one JSON object per line (NDJSON; schema: docs/scan.md)\n"
	"  -j, --jobs N        worker threads (default: the number of cores)\n"
	"  -r, --recursive     descend into subdirectories\n"
	"  --files-from FILE   read more input paths from FILE, one per line ('-': stdin)\n"
	"  -0, --null          --files-from entries end with NUL instead of newline\n"
	"  --shard I/N         scan only share I (1..N) of the inputs, for N machines\n"
	"  --unordered         print each record when it is ready, not sorted by path\n"
	"  --no-sqlite         skip PRAGMA integrity_check on each database's final state\n"
	"  --max-member SIZE   inflate at most SIZE bytes per archive member (default 256M)\n"
	"  --max-memory SIZE   member data held at once (default 1G or 4 members)\n"
	"  --max-ratio N       stop an archive inflating more than N:1 (default 200, 0: off)\n"
	"  -v, --verbose       each finding's message under its line\n"
	"  --progress          a progress bar on stderr even when it is not a terminal\n"
	"  --no-progress       no progress bar\n"
	"  -q, --quiet         neither progress bar nor summary\n"
	"\n"
	"Exit status: the worst over every database and archive (0 ok, 1 warnings,\n"
	"2 errors); 64 bad usage; 66 an input named on the command line could not be\n"
	"read at all; 70 out of memory.\n";

int cmd_scan(int argc, char **argv)
{
	enum { O_JSON = 256, O_FROM, O_SHARD, O_UNORDERED, O_NOSQLITE, O_MAXMEMBER, O_MAXMEMORY,
	       O_MAXRATIO, O_PROGRESS, O_NOPROGRESS };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "jobs", required_argument, NULL, 'j' },
		{ "recursive", no_argument, NULL, 'r' },
		{ "files-from", required_argument, NULL, O_FROM },
		{ "null", no_argument, NULL, '0' },
		{ "shard", required_argument, NULL, O_SHARD },
		{ "unordered", no_argument, NULL, O_UNORDERED },
		{ "no-sqlite", no_argument, NULL, O_NOSQLITE },
		{ "max-member", required_argument, NULL, O_MAXMEMBER },
		{ "max-memory", required_argument, NULL, O_MAXMEMORY },
		{ "max-ratio", required_argument, NULL, O_MAXRATIO },
		{ "verbose", no_argument, NULL, 'v' },
		{ "progress", no_argument, NULL, O_PROGRESS },
		{ "no-progress", no_argument, NULL, O_NOPROGRESS },
		{ "quiet", no_argument, NULL, 'q' },
		{ 0, 0, 0, 0 },
	};
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	struct scan_opts o;
	scan_opts_default(&o);
	int c;
	char *end;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "j:r0vq", opts, NULL)) != -1) {
		switch (c) {
		case O_JSON: o.json = true; break;
		case 'j': {
			unsigned long n = strtoul(optarg, &end, 10);
			if (end == optarg || *end || n == 0 || n > 1024)
				return cmd_usage_error("scan", usage, "-j wants a number of threads in 1..1024, not '%s'",
						       optarg);
			o.jobs = (unsigned)n;
			break;
		}
		case 'r': o.recursive = true; break;
		case O_FROM: o.files_from = optarg; break;
		case '0': o.null_sep = true; break;
		case O_SHARD:
			if (scan_parse_shard(optarg, &o.shard_i, &o.shard_n))
				return cmd_usage_error("scan", usage, "--shard wants I/N with 1 <= I <= N, not '%s'", optarg);
			break;
		case O_UNORDERED: o.unordered = true; break;
		case O_NOSQLITE: o.sqlite = false; break;
		case O_MAXMEMBER:
		case O_MAXMEMORY: {
			uint64_t v;
			if (scan_parse_size(optarg, &v) || v == 0)
				return cmd_usage_error("scan", usage, "'%s' is not a size (e.g. 4096, 64K, 256M, 2G)", optarg);
			*(c == O_MAXMEMBER ? &o.max_member : &o.max_memory) = v;
			break;
		}
		case O_MAXRATIO: {
			unsigned long long n = strtoull(optarg, &end, 10);
			if (end == optarg || *end)
				return cmd_usage_error("scan", usage, "--max-ratio wants a number, not '%s'", optarg);
			o.max_ratio = n;
			break;
		}
		case 'v': o.verbose = true; break;
		case O_PROGRESS: o.progress = 1; break;
		case O_NOPROGRESS: o.progress = 0; break;
		case 'q': o.quiet = true; break;
		default:
			return cmd_usage_error("scan", usage, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc && !o.files_from)
		return cmd_usage_error("scan", usage, "expected at least one PATH or --files-from");
	if (o.max_memory && o.max_memory < o.max_member)
		return cmd_usage_error("scan", usage, "--max-memory must be at least --max-member");
	return scan_run(&o, argc - optind, argv + optind, stdout, stderr);
}
