/* Cross-file checks (inspect/checks.c) on files real libsqlite3 wrote. */
#include <stdlib.h>

#include "test.h"
#include "testlib.h"
#include "inspect/checks.h"
#include "inspect/model.h"

static size_t codes_of(const char *db, enum wd_code code)
{
	struct model m;
	char err[512];
	if (model_open(&m, db, NULL, NULL, err, sizeof err))
		tl_fail(__FILE__, __LINE__, "%s", err);
	struct check_opts o = { .sqlite = true, .locks = false };
	struct check_result r;
	checks_run(&m, &o, &r);
	size_t n = wd_count(&m.diags, code);
	model_close(&m);
	return n;
}

TEST(checks_new_wal_database_is_not_foreign)
{
	/* The file keeps text encoding 0 until the first checkpoint; the WAL's page 1 says 1. */
	const char *db = tl_path("new.db");
	tl_sql_keep_wal(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(a); INSERT INTO t VALUES(1);");
	CHECK_EQ(codes_of(db, WD_WAL_FOREIGN), 0);
	CHECK_EQ(codes_of(db, WD_SQLITE_INTEGRITY_FAILED), 0);
}

TEST(checks_application_id_changed_in_the_wal_is_not_foreign)
{
	const char *db = tl_path("a.db");
	tl_make_db(db, 4096, true);
	tl_sql(db, "CREATE TABLE t(a); PRAGMA application_id=7;");
	tl_sql_keep_wal(db, "PRAGMA application_id=8; INSERT INTO t VALUES(2);");
	CHECK_EQ(codes_of(db, WD_WAL_FOREIGN), 0);
}

TEST(checks_wal_of_another_encoding_is_foreign)
{
	const char *a = tl_path("a.db"), *b = tl_path("b.db");
	tl_sql(a, "PRAGMA journal_mode=WAL; CREATE TABLE t(a);");
	tl_sql(b, "PRAGMA encoding='UTF-16le'; PRAGMA journal_mode=WAL; CREATE TABLE t(a);");
	tl_sql_keep_wal(b, "INSERT INTO t VALUES('x'); PRAGMA user_version=3;");
	tl_copy(tl_path("b.db-wal"), tl_path("a.db-wal"));
	CHECK_EQ(codes_of(a, WD_WAL_FOREIGN), 1);
}
