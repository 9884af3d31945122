/*
 * actions.c — the table of repair actions: name, safety class, what it is
 * for, and its plan and build functions.  The findings each action
 * addresses are listed by its plan function, which names only the findings
 * the analysis really made; formats/findings.def names, for each finding,
 * the action that repairs it, and a unit test keeps the two in step.
 *
 * The order matters twice: proposals are made and printed in this order,
 * and selected actions build the files' new contents in this order (the
 * header fixes lay their patches over page 1 before anything else).
 */
#include "actions.h"

#include <string.h>

const struct rp_action rp_actions[] = {
	{ "header-fields", RP_FIX,
	  "write back the database header fields that have exactly one valid value (payload fractions)",
	  act_headerfields_plan, act_headerfields_build },
	{ "header-size", RP_FIX,
	  "make the in-header database size and the file's length agree with the pages in use",
	  act_headersize_plan, act_headersize_build },
	{ "wal-tail", RP_SAFE,
	  "cut the WAL after its last valid commit: uncommitted frames, a partial frame, frames past a break",
	  act_waltail_plan, act_waltail_build },
	{ "wal-rechain", RP_SALVAGE,
	  "rewrite the WAL header and checksum chain over frames whose content a stored checksum vouches for",
	  act_walrechain_plan, act_walrechain_build },
	{ "wal-detach", RP_FIX,
	  "remove a -wal (and -shm) that belongs to another database, or on request any WAL",
	  act_waldetach_plan, act_waldetach_build },
	{ "shm-reset", RP_SAFE,
	  "remove a stale or inconsistent -shm; SQLite rebuilds it from the WAL",
	  act_shmreset_plan, act_shmreset_build },
	{ "wal-synth", RP_REWRITE,
	  "write a page set (--pageset) as a synthetic WAL that SQLite applies atomically (--apply: now)",
	  act_walsynth_plan, act_walsynth_build },
	{ "checkpoint-offline", RP_REWRITE,
	  "apply the WAL's committed frames to the database file without libsqlite3 (rollback mode)",
	  act_ckptoffline_plan, act_ckptoffline_build },
};

const size_t rp_nactions = sizeof rp_actions / sizeof *rp_actions;
