/*
 * sqlite_open.c — `bench-sqlite-open DB [SQL]`: SQLite's own WAL recovery,
 * timed.
 *
 * Opens DB read-only with libsqlite3 and runs one query (by default
 * "SELECT count(*) FROM sqlite_schema").  When DB has a -wal and no -shm,
 * the first read runs walIndexRecover: it reads every frame of the WAL,
 * checks every checksum and builds the wal-index — the work `waldo
 * inspect` is compared with.  Prints the seconds spent in open + query (not
 * process start-up) and the query's result, then ends with _exit so that
 * closing the connection (which could checkpoint) is never timed and never
 * happens.  The caller removes the -shm before each run.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fputs("usage: bench-sqlite-open DB [SQL]\n", stderr);
		return 64;
	}
	const char *sql = argc == 3 ? argv[2] : "SELECT count(*) FROM sqlite_schema";
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	double t0 = now();
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench-sqlite-open: %s: %s\n", argv[1], db ? sqlite3_errmsg(db) : "out of memory");
		_exit(1);
	}
	int rc = sqlite3_step(st);
	long long v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	double t1 = now();
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fprintf(stderr, "bench-sqlite-open: %s: %s\n", argv[1], sqlite3_errmsg(db));
		_exit(1);
	}
	printf("%.6f %lld\n", t1 - t0, v);
	fflush(stdout);
	_exit(0);
}
