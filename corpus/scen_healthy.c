/*
 * scen_healthy.c — healthy states, crash-shaped states, the demo and
 * checkpoint starvation: files exactly as libsqlite3 left them, except
 * where a crash is modelled by cutting a file SQLite was writing.
 */
#include "scen.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A database file with content, an index, overflow pages and free pages,
 * cleanly closed: the WAL is checkpointed and gone. */
static void base_db(struct gen *g, unsigned ps, int av)
{
	RUN(g, SESS_CLOSE, CREATE(ps, av), COMMITS(8), BIGDOCS(2), DELETE(30));
}

/* Reference repair for a WAL whose valid tail is to be cut at frame `from`. */
static void repair_cut_wal(struct gen *g, uint32_t ps, uint32_t last_commit, const char *why)
{
	const char *d = gen_repair_dir(g, "%s; cutting the WAL after frame %u (the last commit) "
				       "keeps every committed transaction", why, last_commit);
	char wal[CG_PATH_MAX];
	file_truncate(pathf(wal, "%s/db-wal", d), last_commit ? wal_frame_off(ps, last_commit + 1) : 0);
}

void b_healthy_many_commits(struct gen *g)
{
	base_db(g, 1024, 0);
	RUN(g, SESS_CRASH, COMMITS(40), BIGDOCS(1));
	struct walscan w;
	case_walscan(g, &w);
	if (w.commits < 40 || w.uncommitted)
		die("expected 41 commits and no tail, got %u/%u", w.commits, w.uncommitted);
	expect_healthy(g);
}

void b_healthy_be_checksums(struct gen *g)
{
	RUN(g, SESS_CLOSE, CREATE(2048, 0), COMMITS(6), BIGDOCS(1), DELETE(20));
	RUN(g, SESS_CRASH, COMMITS(12), BIGDOCS(1));
	/* As a big-endian host writes it; then a reader here rebuilds the -shm. */
	wal_make_big_endian(g->wal);
	file_remove(g->shm);
	RUN(g, SESS_CRASH, READ());
	uint8_t flag;
	file_pread(g->shm, SHMX_OFF_BIGEND, &flag, 1);
	if (flag != 1)
		die("SQLite's -shm does not record big-endian checksums");
	expect_healthy(g);
}

void b_healthy_header_only(struct gen *g)
{
	RUN(g, SESS_CLOSE, CREATE(512, 1), COMMITS(8), BIGDOCS(2));
	RUN(g, SESS_CRASH, COMMITS(6), CKPT("FULL"));
	/* Every frame is in the database: only the header is kept. */
	file_truncate(g->wal, 32);
	file_remove(g->shm);
	expect_healthy(g);
	expect_must(g, "WAL_EMPTY");
}

void b_healthy_no_wal(struct gen *g)
{
	RUN(g, SESS_CLOSE, CREATE(8192, 2), COMMITS(10), BIGDOCS(2), DELETE(30),
	    SQL("DELETE FROM docs WHERE id % 2 = 1"));
	if (file_exists(g->wal) || file_exists(g->shm))
		die("a clean close left a -wal or -shm");
	if (!db_header_u32(g->db, 36))
		die("expected free pages (incremental vacuum)");
	expect_healthy(g);
}

void b_healthy_checkpointed(struct gen *g)
{
	RUN(g, SESS_CLOSE, CREATE_MINI(65536), ITEMS(3));
	RUN(g, SESS_CRASH, ITEMS(1), CKPT("FULL"));
	size_t n;
	uint8_t *shm = file_read(g->shm, &n);
	uint32_t mx = shm_get32(shm, SHMX_OFF_MXFRAME), nb = shm_get32(shm, SHMX_OFF_BACKFILL);
	free(shm);
	if (!mx || mx != nb)
		die("checkpoint left nBackfill %u, mxFrame %u", nb, mx);
	expect_healthy(g);
}

void b_healthy_restarted(struct gen *g)
{
	base_db(g, 4096, 0);
	RUN(g, SESS_CRASH, COMMITS(12), CKPT("RESTART"), COMMITS(3));
	struct walscan w;
	case_walscan(g, &w);
	if (!w.stale || w.commits != 3)
		die("expected 3 commits and stale frames, got %u and %u", w.commits, w.stale);
	expect_healthy(g);
	expect_must(g, "WAL_STALE_FRAMES");
}

void b_healthy_vacuum_shrink(struct gen *g)
{
	RUN(g, SESS_CLOSE, CREATE(4096, 0), COMMITS(15), BIGDOCS(4));
	RUN(g, SESS_CRASH, DELETE(60), SQL("DELETE FROM docs"), SQL("VACUUM"));
	struct walscan w;
	case_walscan(g, &w);
	if (!w.npage || w.npage >= db_file_pages(g->db))
		die("VACUUM did not shrink the database (%u pages, file %u)", w.npage,
		    db_file_pages(g->db));
	expect_healthy(g);
}

void b_crash_uncommitted_tail(struct gen *g)
{
	base_db(g, 4096, 0);
	RUN(g, SESS_CRASH, COMMITS(5), SPILL(24));
	struct walscan w;
	case_walscan(g, &w);
	if (!w.uncommitted || w.partial_bytes || w.frames_valid != w.frames_total)
		die("the spill left %u uncommitted frames, %u of %u valid", w.uncommitted,
		    w.frames_valid, w.frames_total);
	expect_intact(g, INTACT_ALL);
	expect_must(g, "WAL_UNCOMMITTED_TAIL");
	g->exit_status = 0;
	g->want_opens = 1;
	g->want_integrity_ok = 1;
	repair_cut_wal(g, w.page_size, w.last_commit,
		       "nothing is lost: SQLite already ignores the uncommitted frames");
}

void b_crash_torn_frame(struct gen *g)
{
	base_db(g, 1024, 0);
	RUN(g, SESS_CRASH, COMMITS(6));
	/* The crashing writer: recovery rebuilds the -shm as it opens; the -shm
	 * it leaves is the one from before its transaction (walIndexWriteHdr
	 * only runs after the commit frame is written). */
	RUN(g, SESS_CRASH, READ(), SNAP("-shm", "shm-before"), BIGDOCS(1));
	struct walscan w;
	case_walscan(g, &w);
	uint32_t last = w.frames_total;
	file_truncate(g->wal, wal_frame_off(w.page_size, last) + 24 + w.page_size / 2);
	file_copy(work_path(g, "shm-before"), g->shm);
	case_walscan(g, &w);
	if (!w.partial_bytes || !w.uncommitted || w.commits != 6)
		die("torn frame: partial %u, uncommitted %u, commits %u", w.partial_bytes,
		    w.uncommitted, w.commits);
	expect_intact(g, INTACT_ALL);
	expect_must(g, "WAL_PARTIAL_FRAME");
	expect_must(g, "WAL_UNCOMMITTED_TAIL");
	g->exit_status = 1;
	g->want_opens = 1;
	g->want_integrity_ok = 1;
	repair_cut_wal(g, w.page_size, w.last_commit,
		       "the torn transaction never committed");
}

void b_crash_header_only(struct gen *g)
{
	base_db(g, 4096, 0);
	RUN(g, SESS_CRASH, COMMITS(4), CKPT("TRUNCATE"), SNAP("-shm", "shm-before"), COMMITS(2));
	file_truncate(g->wal, 32);
	file_copy(work_path(g, "shm-before"), g->shm);
	expect_intact(g, INTACT_ALL);
	expect_must(g, "WAL_EMPTY");
	g->exit_status = 0;
	g->want_opens = 1;
	g->want_integrity_ok = 1;
	gen_repair_dir(g, "nothing to repair: the transaction never reached the WAL and SQLite "
		       "reads the database file alone");
}

void b_crash_rewritten_frame(struct gen *g)
{
	base_db(g, 1024, 0);
	RUN(g, SESS_CRASH, COMMITS(5), SPILL_REWRITE(300));
	struct walscan w;
	case_walscan(g, &w);
	if (!w.uncommitted || w.frames_valid == w.frames_total || w.partial_bytes)
		die("no rewritten frame: %u uncommitted, %u of %u valid", w.uncommitted,
		    w.frames_valid, w.frames_total);
	snprintf(g->note, sizeof g->note,
		 "frames %u..%u belong to the crashed transaction; frame %u was rewritten in place "
		 "when its page spilled a second time, so the checksum chain breaks there; no "
		 "commit frame follows the break: nothing committed is lost (a warning, not an "
		 "error)", w.last_commit + 1, w.frames_total, w.frames_valid + 1);
	expect_intact(g, INTACT_ALL);
	expect_must(g, "WAL_UNCOMMITTED_TAIL");
	expect_must(g, "WAL_CHECKSUM_MISMATCH");
	g->lowered = "WAL_CHECKSUM_MISMATCH";
	g->exit_status = 1;
	g->want_opens = 1;
	g->want_integrity_ok = 1;
	repair_cut_wal(g, w.page_size, w.last_commit,
		       "the crashed transaction never committed");
}

void b_demo(struct gen *g)
{
	base_db(g, 4096, 0);
	RUN(g, SESS_CRASH, COMMITS(6), SPILL(24));
	struct walscan w;
	case_walscan(g, &w);
	if (w.frames_valid != w.frames_total)
		die("demo: a spilled frame is invalid");
	file_truncate(g->wal, wal_frame_off(w.page_size, w.frames_total) + 24 + w.page_size / 3);
	case_walscan(g, &w);
	if (!w.partial_bytes || !w.uncommitted || w.commits != 6)
		die("demo: partial %u, uncommitted %u, commits %u", w.partial_bytes, w.uncommitted,
		    w.commits);
	expect_intact(g, INTACT_ALL);
	expect_must(g, "WAL_UNCOMMITTED_TAIL");
	expect_must(g, "WAL_PARTIAL_FRAME");
	g->exit_status = 1;
	g->want_opens = 1;
	g->want_integrity_ok = 1;
	repair_cut_wal(g, w.page_size, w.last_commit,
		       "the crashed transaction never committed");
}

/*
 * A reader in another process holds a read transaction (and so its read
 * mark) while a writer commits many transactions and checkpoints: every
 * checkpoint stops at the reader's mark.  The files are copied while the
 * reader still holds its transaction.
 */
void b_ckpt_starved(struct gen *g)
{
	RUN(g, SESS_CLOSE, CREATE(512, 0), COMMITS(6));
	RUN(g, SESS_CRASH, COMMITS(4));
	int ready[2], go[2];
	if (pipe(ready) || pipe(go))
		die("pipe failed");
	uint64_t s = prng_next(&g->rng);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork failed");
	if (pid == 0) {
		cg_in_child = 1;
		det_vfs_reseed(s);
		close(ready[0]);
		close(go[1]);
		sqlite3 *h = db_open(g->db);
		sql(h, "BEGIN");
		sql_int(h, "SELECT count(*) FROM items");
		char c = 'r';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	char c;
	if (read(ready[0], &c, 1) != 1)
		die("the reader did not start");
	RUN(g, SESS_CRASH, COMMITS(20), CKPT("PASSIVE"), COMMITS(20), CKPT("PASSIVE"),
	    COMMITS(20), CKPT("PASSIVE"));
	/* Taken while the reader holds its transaction. */
	const char *names[3] = { "db", "db-wal", "db-shm" };
	for (int i = 0; i < 3; i++)
		file_copy(case_path(g, names[i]), work_path(g, names[i]));
	c = 'x';
	if (write(go[1], &c, 1) != 1)
		die("cannot release the reader");
	int st;
	waitpid(pid, &st, 0);
	close(ready[0]);
	close(go[1]);
	for (int i = 0; i < 3; i++)
		file_copy(work_path(g, names[i]), case_path(g, names[i]));

	size_t n;
	uint8_t *shm = file_read(g->shm, &n);
	uint32_t mx = shm_get32(shm, SHMX_OFF_MXFRAME), nb = shm_get32(shm, SHMX_OFF_BACKFILL);
	uint32_t mark = shm_get32(shm, SHMX_OFF_READMARK + 4);
	free(shm);
	if (!nb || nb * 4 > mx || mark != nb)
		die("no starvation: nBackfill %u, mxFrame %u, aReadMark[1] %u", nb, mx, mark);
	snprintf(g->note, sizeof g->note,
		 "the reader held aReadMark[1] = %u; checkpoints stopped there (nBackfill %u) while "
		 "the writer reached mxFrame %u", mark, nb, mx);
	expect_intact(g, INTACT_ALL);
	expect_must(g, "CKPT_STARVED");
	g->exit_status = 1;
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}
