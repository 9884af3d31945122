/*
 * actions.h — the plan and build functions of each repair action, for the
 * table in actions.c.  One file per action: act_<name>.c (wal-synth lives
 * in walsynth.c).
 */
#ifndef WALDO_ACTIONS_H
#define WALDO_ACTIONS_H

#include "plan.h"

int act_waltail_plan(struct rp_plan *p, struct rp_proposal *pr);
void act_waltail_build(struct rp_plan *p, const struct rp_proposal *pr);
int act_walrechain_plan(struct rp_plan *p, struct rp_proposal *pr);
void act_walrechain_build(struct rp_plan *p, const struct rp_proposal *pr);
int act_walrechain_gen(struct rp_plan *p, struct rp_sink *s, char *err, size_t errlen);
int act_headersize_plan(struct rp_plan *p, struct rp_proposal *pr);
void act_headersize_build(struct rp_plan *p, const struct rp_proposal *pr);
int act_headerfields_plan(struct rp_plan *p, struct rp_proposal *pr);
void act_headerfields_build(struct rp_plan *p, const struct rp_proposal *pr);
int act_shmreset_plan(struct rp_plan *p, struct rp_proposal *pr);
void act_shmreset_build(struct rp_plan *p, const struct rp_proposal *pr);
int act_waldetach_plan(struct rp_plan *p, struct rp_proposal *pr);
void act_waldetach_build(struct rp_plan *p, const struct rp_proposal *pr);
int act_walsynth_plan(struct rp_plan *p, struct rp_proposal *pr);
void act_walsynth_build(struct rp_plan *p, const struct rp_proposal *pr);
int act_ckptoffline_plan(struct rp_plan *p, struct rp_proposal *pr);
void act_ckptoffline_build(struct rp_plan *p, const struct rp_proposal *pr);

#endif
