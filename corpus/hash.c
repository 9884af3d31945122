/*
 * hash.c — the logical content hash of a database, as SQLite reads it.
 *
 * SHA-256 over a byte stream that depends on what the database says, not
 * on where it keeps it (page numbers, root pages, free space):
 *
 *   "waldo-content-v1\n"
 *   for each row of  SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name:
 *       'S' value value value value
 *   for each name of SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name:
 *       'T' value(name)
 *       for each row of SELECT * FROM "name" ORDER BY rowid   (plain SELECT * when the
 *                                                             table has no rowid):
 *           'R' u32(column count) value...
 *
 * A value is its storage class and its bytes: 'N' (NULL); 'I' + 8-byte
 * big-endian two's complement; 'F' + the 8 IEEE-754 bytes big-endian;
 * 'T' + u32 length + UTF-8 bytes; 'B' + u32 length + bytes.  u32 is
 * big-endian.  docs/corpus.md documents the same stream so that other
 * tools (a later `waldo hash`) can reproduce it.
 */
#include "corpus.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "formats/bytes.h"

static void put_u32(EVP_MD_CTX *c, uint32_t v)
{
	uint8_t b[4];
	wr_be32(b, v);
	EVP_DigestUpdate(c, b, 4);
}

static void put_value(EVP_MD_CTX *c, sqlite3_stmt *st, int i)
{
	uint8_t b[9];
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER: {
		uint64_t v = (uint64_t)sqlite3_column_int64(st, i);
		b[0] = 'I';
		wr_be32(b + 1, (uint32_t)(v >> 32));
		wr_be32(b + 5, (uint32_t)v);
		EVP_DigestUpdate(c, b, 9);
		break;
	}
	case SQLITE_FLOAT: {
		double d = sqlite3_column_double(st, i);
		uint64_t v;
		memcpy(&v, &d, 8);
		b[0] = 'F';
		wr_be32(b + 1, (uint32_t)(v >> 32));
		wr_be32(b + 5, (uint32_t)v);
		EVP_DigestUpdate(c, b, 9);
		break;
	}
	case SQLITE_TEXT: {
		const unsigned char *t = sqlite3_column_text(st, i);
		int n = sqlite3_column_bytes(st, i);
		EVP_DigestUpdate(c, "T", 1);
		put_u32(c, (uint32_t)n);
		if (n > 0)
			EVP_DigestUpdate(c, t, (size_t)n);
		break;
	}
	case SQLITE_BLOB: {
		const void *p = sqlite3_column_blob(st, i);
		int n = sqlite3_column_bytes(st, i);
		EVP_DigestUpdate(c, "B", 1);
		put_u32(c, (uint32_t)n);
		if (n > 0)
			EVP_DigestUpdate(c, p, (size_t)n);
		break;
	}
	default:
		EVP_DigestUpdate(c, "N", 1);
	}
}

static int fail(sqlite3 *h, int rc, char *msg, size_t msgsz)
{
	snprintf(msg, msgsz, "%s", sqlite3_errmsg(h));
	return rc ? rc : SQLITE_ERROR;
}

/* Hash every row of one query; SQLITE_DONE becomes 0. */
static int hash_rows(sqlite3 *h, sqlite3_stmt *st, EVP_MD_CTX *c, char tag,
		     char *msg, size_t msgsz)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int n = sqlite3_column_count(st);
		EVP_DigestUpdate(c, &tag, 1);
		if (tag == 'R')
			put_u32(c, (uint32_t)n);
		for (int i = 0; i < n; i++)
			put_value(c, st, i);
	}
	return rc == SQLITE_DONE ? 0 : fail(h, rc, msg, msgsz);
}

int content_hash(sqlite3 *h, char hex[65], char *msg, size_t msgsz)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	sqlite3_stmt *st = NULL, *names = NULL;
	int rc;
	hex[0] = '\0';
	msg[0] = '\0';
	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		die("EVP sha256 unavailable");
	EVP_DigestUpdate(c, "waldo-content-v1\n", 17);

	rc = sqlite3_prepare_v2(h, "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name",
				-1, &st, NULL);
	if (rc || (rc = hash_rows(h, st, c, 'S', msg, msgsz))) {
		rc = rc ? rc : SQLITE_ERROR;
		if (!msg[0])
			fail(h, rc, msg, msgsz);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;

	rc = sqlite3_prepare_v2(h, "SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name",
				-1, &names, NULL);
	if (rc) {
		fail(h, rc, msg, msgsz);
		goto out;
	}
	while ((rc = sqlite3_step(names)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(names, 0);
		if (!name)
			continue;
		EVP_DigestUpdate(c, "T", 1);
		put_value(c, names, 0);
		char *q = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY rowid", name);
		if (sqlite3_prepare_v2(h, q, -1, &st, NULL) != SQLITE_OK) {
			sqlite3_free(q);
			q = sqlite3_mprintf("SELECT * FROM \"%w\"", name);
			if ((rc = sqlite3_prepare_v2(h, q, -1, &st, NULL)) != SQLITE_OK) {
				sqlite3_free(q);
				fail(h, rc, msg, msgsz);
				goto out;
			}
		}
		sqlite3_free(q);
		if ((rc = hash_rows(h, st, c, 'R', msg, msgsz)))
			goto out;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc != SQLITE_DONE) {
		fail(h, rc, msg, msgsz);
		goto out;
	}
	rc = 0;
	uint8_t md[32];
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(c, md, &mdlen);
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
	sqlite3_finalize(st);
	sqlite3_finalize(names);
	EVP_MD_CTX_free(c);
	return rc;
}
