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

#endif
