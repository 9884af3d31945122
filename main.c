/*
 * main.c — waldo's command table and dispatcher.  Everything else lives in
 * libwaldo.a, which the tests and fuzzers link too.
 */
#include <stdio.h>
#include <string.h>

#include "inspect/cmd.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "inspect",  cmd_inspect,  "diagnose a database, its -wal, -shm and -journal: summary and findings" },
	{ "log",      cmd_log,      "the transactions in the WAL, and commit groups SQLite will not see" },
	{ "history",  cmd_history,  "every version of one page in the database file and the WAL" },
	{ "extract",  cmd_extract,  "write the state as of one commit as a standalone database" },
	{ "bisect",   cmd_bisect,   "find the first commit after which integrity_check fails" },
	{ "readers",  cmd_readers,  "processes holding locks, read marks, and what they keep from checkpoints" },
	{ "header",   cmd_header,   "decode the 100-byte database header" },
	{ "wal",      cmd_wal,      "decode a WAL: header, every frame's classification, transactions" },
	{ "shm",      cmd_shm,      "decode a -shm wal-index: header copies, checkpoint info, hash index" },
	{ "page",     cmd_page,     "decode one b-tree page (cells, records, freeblocks) with a hex view" },
	{ "hash",     cmd_hash,     "SHA-256 of every page of a state, and a manifest of them" },
	{ "verify",   cmd_verify,   "compare a state of a database with a manifest, page by page" },
	{ "diff",     cmd_diff,     "compare two databases or two states page by page, naming each page's role" },
	{ "dbhash",   cmd_dbhash,   "logical content hash, exactly as SQLite's dbhash tool computes it" },
	{ "scan",     cmd_scan,     "find and diagnose every database in directories, .gz files and tar archives" },
	{ "tui",      cmd_tui,      "browse the database, WAL, pages, versions, -shm and readers in the terminal" },
	{ "repair",   cmd_repair,   "plan a repair; apply it to a copy (-o) or in place with an undo file, verified" },
	{ "undo",     cmd_undo,     "put back the files an in-place repair changed, from its undo file" },
	{ "checkpoint", cmd_checkpoint, "run a checkpoint through SQLite; --save-undo saves what it overwrites" },
	{ "rollback", cmd_rollback, "undo a checkpoint from its --save-undo page set, verified byte for byte" },
	{ "backup",   cmd_backup,   "consistent verified copy of a live database: raw db+WAL, or the backup API" },
	{ "findings", cmd_findings, "list every finding code with its severity and meaning" },
};
#define NCOMMANDS (sizeof commands / sizeof *commands)

static void usage(FILE *f)
{
	fprintf(f, "usage: waldo [--version] [--help] COMMAND [ARGS]\n\n"
		   "Forensic inspection and repair of SQLite databases in WAL mode.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'waldo help COMMAND' or 'waldo COMMAND --help' describes one command.\n"
		   "Exit status: 0 ok (info at most), 1 warnings, 2 errors, 64 usage,\n"
		   "65 malformed data, 66 an input cannot be read, 73 an output cannot be\n"
		   "written, 75 the database is in use.\n");
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--version") || !strcmp(name, "version")) {
		printf("waldo %s\n", WALDO_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(name, "help")) {
		if (argc < 3) {
			usage(stdout);
			return EXIT_OK;
		}
		const struct command *c = find(argv[2]);
		if (!c) {
			fprintf(stderr, "waldo: unknown command '%s'\n", argv[2]);
			return EXIT_USAGE;
		}
		char *hargv[] = { (char *)c->name, (char *)"--help", NULL };
		return c->fn(2, hargv);
	}
	const struct command *c = find(name);
	if (!c) {
		fprintf(stderr, "waldo: unknown command '%s' (see 'waldo help')\n", name);
		return EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
