/*
 * cmd.h — the subcommands and what they share: exit statuses, usage
 * handling, the common way to open PATH.
 *
 * Every command is `int cmd_<name>(int argc, char **argv)`, argv[0] being
 * the command name; it returns the process exit status.  The table that maps
 * names to functions is in main.c.
 */
#ifndef WALDO_CMD_H
#define WALDO_CMD_H

#include <stdio.h>

enum {
	EXIT_OK = 0,        /* nothing worse than info */
	EXIT_WARNINGS = 1,
	EXIT_ERRORS = 2,
	EXIT_USAGE = 64,    /* EX_USAGE */
	EXIT_DATAERR = 65,  /* EX_DATAERR: malformed input data (a manifest) */
	EXIT_NOINPUT = 66,  /* EX_NOINPUT: an input cannot be read */
	EXIT_SOFTWARE = 70, /* internal error (out of memory, …) */
	EXIT_CANTCREAT = 73,/* EX_CANTCREAT: an output cannot be written */
	EXIT_TEMPFAIL = 75, /* the database is in use */
};

#define WALDO_VERSION "0.1.0"

int cmd_inspect(int argc, char **argv);
int cmd_header(int argc, char **argv);
int cmd_wal(int argc, char **argv);
int cmd_shm(int argc, char **argv);
int cmd_page(int argc, char **argv);
int cmd_findings(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_bisect(int argc, char **argv);
int cmd_readers(int argc, char **argv);
int cmd_hash(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_dbhash(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_tui(int argc, char **argv);           /* tui/cmd_tui.c: not in libwaldo.a */
int cmd_repair(int argc, char **argv);        /* repair/cmd_repair.c */
int cmd_undo(int argc, char **argv);          /* repair/cmd_undo.c */
int cmd_checkpoint(int argc, char **argv);    /* repair/cmd_checkpoint.c */
int cmd_rollback(int argc, char **argv);      /* repair/cmd_rollback.c */
int cmd_backup(int argc, char **argv);        /* repair/cmd_backup.c */

/*
 * Print `usage` to stdout when argv holds -h/--help (returns 1: the caller
 * returns EXIT_OK).  Otherwise 0.  Commands call this before parsing.
 */
int cmd_wants_help(int argc, char **argv, const char *usage);
/* "waldo CMD: message" on stderr; returns EXIT_USAGE. */
int cmd_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "waldo: message" on stderr. */
void cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Inputs that changed while the command read them (inspect/files.h: a file
 * cut short under its mapping reads as zeros past the new end).  For each
 * file of s named in `files` that changed since it was opened, adds an
 * INPUT_CHANGED finding to d (wf_set_check_changed: an error when it was cut
 * short under a read, else a warning), and an INPUT_UNREADABLE error for a
 * file with pages that could not be read (each change an error with
 * CMD_IN_STRICT, for results that stand on those bytes: hashes, verdicts),
 * once per file however often it is called.  Call it after the last read of
 * the mappings the output depends on, before the findings are printed and
 * the exit status is taken.  `warn` (stderr, for output without a findings
 * section; NULL otherwise) also gets each new finding.  Returns the status
 * the INPUT_CHANGED findings of d imply: 0, EXIT_WARNINGS or EXIT_ERRORS.
 */
struct wf_set;
struct wd_diags;
enum {
	CMD_IN_DB = 1u << 1,          /* 1 << WD_F_DB, and so on (checked in cmd_common.c) */
	CMD_IN_WAL = 1u << 2,
	CMD_IN_SHM = 1u << 3,
	CMD_IN_JOURNAL = 1u << 4,
	CMD_IN_ALL = CMD_IN_DB | CMD_IN_WAL | CMD_IN_SHM | CMD_IN_JOURNAL,
	CMD_IN_STRICT = 1u << 8,
};
int cmd_check_inputs(const struct wf_set *s, unsigned files, struct wd_diags *d, FILE *warn);

/*
 * For the writing commands: when pages of a file of s could not be read (an
 * I/O error; inspect/files.h), put why in err, naming the file and the
 * offset, and return EXIT_NOINPUT: nothing may be written from a failing
 * disk.  0 otherwise.
 */
int cmd_refuse_unreadable(const struct wf_set *s, char *err, size_t errlen);

#endif
