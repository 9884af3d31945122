/*
 * plan.c — analysis, proposals, the selection policy, and printing a plan;
 * see plan.h.
 */
#include "plan.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../formats/bytes.h"
#include "../inspect/report.h"

/* ---- small helpers for the actions ---- */

const char *rp_file_name(enum rp_file f)
{
	static const char *const n[] = { "db", "wal", "shm" };
	return (unsigned)f < RP_NFILES ? n[f] : "?";
}

const char *rp_safety_name(enum rp_safety s)
{
	static const char *const n[] = { "safe", "fix", "salvage", "rewrite" };
	return (unsigned)s < 4 ? n[s] : "?";
}

const char *rp_status_name(enum rp_status s)
{
	static const char *const n[] = { "apply", "needs-salvage", "on-request", "skipped", "subsumed", "refused" };
	return (unsigned)s < 6 ? n[s] : "?";
}

const char *rp_change_kind_name(enum rp_change_kind k)
{
	static const char *const n[] = { "patch", "cut", "remove", "create", "rewrite", "fields" };
	return (unsigned)k < 6 ? n[k] : "?";
}

void rp_change(struct rp_proposal *pr, enum rp_file f, enum rp_change_kind k, uint64_t off, uint64_t len,
	       const char *fmt, ...)
{
	if (pr->nch == RP_MAX_CHANGES) {
		pr->nmore++;
		return;
	}
	struct rp_change *c = &pr->ch[pr->nch++];
	c->file = f;
	c->kind = k;
	c->offset = off;
	c->length = len;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->what, sizeof c->what, fmt, ap);
	va_end(ap);
}

bool rp_has_code(const struct rp_plan *p, enum wd_code c)
{
	return wd_count(&p->m->diags, c) > 0;
}

void rp_codes(struct rp_proposal *pr, const struct rp_plan *p, const enum wd_code *codes, int n)
{
	for (int i = 0; i < n && pr->ncodes < RP_MAX_CODES; i++) {
		if (!rp_has_code(p, codes[i]))
			continue;
		bool dup = false;
		for (int j = 0; j < pr->ncodes; j++)
			dup |= pr->codes[j] == codes[i];
		if (!dup)
			pr->codes[pr->ncodes++] = codes[i];
	}
}

void rp_patch_add(struct rp_patch *v, int *n, uint64_t off, const uint8_t *b, uint32_t len)
{
	for (int i = 0; i < *n; i++)
		if (v[i].off == off && v[i].len == len) {
			memcpy(v[i].b, b, len);
			return;
		}
	if (*n == RP_MAX_PATCHES || len > 8)
		return;      /* the actions never need more: a bug caught by verification */
	v[*n].off = off;
	v[*n].len = len;
	memcpy(v[*n].b, b, len);
	(*n)++;
}

void rp_patch_u32(struct rp_patch *v, int *n, uint64_t off, uint32_t val)
{
	uint8_t b[4];
	wr_be32(b, val);
	rp_patch_add(v, n, off, b, 4);
}

const struct rp_action *rp_action_find(const char *name)
{
	for (size_t i = 0; i < rp_nactions; i++)
		if (!strcmp(rp_actions[i].name, name))
			return &rp_actions[i];
	return NULL;
}

size_t rp_action_index(const struct rp_action *a)
{
	return (size_t)(a - rp_actions);
}

int rp_parse_actions(const char *list, uint32_t *mask, char *bad, size_t n)
{
	const char *s = list;
	while (*s) {
		size_t k = strcspn(s, ",");
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)(k < 63 ? k : 63), s);
		const struct rp_action *a = k ? rp_action_find(name) : NULL;
		if (!a) {
			snprintf(bad, n, "%s", name);
			return -1;
		}
		*mask |= 1u << rp_action_index(a);
		s += k;
		if (*s == ',')
			s++;
	}
	return 0;
}

/* ---- the policy ---- */

static struct rp_proposal *find_prop(struct rp_plan *p, const char *name)
{
	for (size_t i = 0; i < p->nprop; i++)
		if (!strcmp(p->prop[i].act->name, name))
			return &p->prop[i];
	return NULL;
}

static bool selected(struct rp_plan *p, const char *name)
{
	struct rp_proposal *pr = find_prop(p, name);
	return pr && pr->status == RP_ST_APPLY;
}

static void subsume(struct rp_plan *p, const char *victim, const char *by)
{
	struct rp_proposal *pr = find_prop(p, victim);
	if (pr && pr->status == RP_ST_APPLY) {
		pr->status = RP_ST_SUBSUMED;
		snprintf(pr->note, sizeof pr->note, "%s does this too", by);
	}
}

/*
 * Which proposals run.  Safe and fixing actions run by default; a salvage
 * action only with --salvage; a whole-file rewrite only when named with
 * --only (wal-synth: when --pageset gives it a page set).  --only keeps just
 * the named actions, --skip drops the named ones.  Then the actions that
 * rewrite the WAL or the database file wholesale take precedence over the
 * ones that only trim them: checkpoint-offline > wal-synth > wal-detach >
 * wal-rechain > wal-tail, and any of the first four removes the -shm itself.
 */
void rp_policy(struct rp_plan *p)
{
	const struct rp_opts *o = p->o;
	for (size_t i = 0; i < p->nprop; i++) {
		struct rp_proposal *pr = &p->prop[i];
		uint32_t bit = 1u << rp_action_index(pr->act);
		if (pr->status == RP_ST_REFUSED)
			continue;
		switch (pr->safety) {
		case RP_SAFE:
		case RP_FIX:
			pr->status = RP_ST_APPLY;
			break;
		case RP_SALVAGE:
			pr->status = o->salvage ? RP_ST_APPLY : RP_ST_NEEDS_SALVAGE;
			if (!o->salvage)
				snprintf(pr->note, sizeof pr->note,
					 "makes SQLite see frames it drops today: run with --salvage to apply");
			break;
		case RP_REWRITE:
			pr->status = (o->only & bit) || pr->requested ? RP_ST_APPLY : RP_ST_ON_REQUEST;
			if (pr->status != RP_ST_APPLY)
				snprintf(pr->note, sizeof pr->note, "available: run with --only %s to apply",
					 pr->act->name);
			break;
		}
		if ((o->only && !(o->only & bit)) || (o->skip & bit)) {
			if (pr->status == RP_ST_APPLY || pr->status == RP_ST_NEEDS_SALVAGE) {
				pr->status = RP_ST_SKIPPED;
				snprintf(pr->note, sizeof pr->note, "%s", (o->skip & bit) ? "left out by --skip"
											: "not named in --only");
			}
		}
	}
	/* A hot journal rewrites the database file at the next open: nothing may change under it,
	 * and a copy without it would show a half-written transaction. */
	for (size_t i = 0; p->hot_journal && i < p->nprop; i++)
		if (p->prop[i].status != RP_ST_REFUSED) {
			p->prop[i].status = RP_ST_REFUSED;
			snprintf(p->prop[i].note, sizeof p->prop[i].note,
				 "a hot journal exists: SQLite rolls it back at the next open; let it (open the "
				 "database with sqlite3 once), then repair");
		}
	static const char *const order[] = { "checkpoint-offline", "wal-synth", "wal-detach", "wal-rechain" };
	for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
		if (!selected(p, order[i]))
			continue;
		for (size_t j = i + 1; j < sizeof order / sizeof *order; j++)
			subsume(p, order[j], order[i]);
		subsume(p, "wal-tail", order[i]);
		subsume(p, "shm-reset", order[i]);
		if (i < 2) {
			subsume(p, "header-size", order[i]);
			subsume(p, "header-fields", order[i]);
		}
	}
}

size_t rp_count(const struct rp_plan *p, enum rp_status st)
{
	size_t n = 0;
	for (size_t i = 0; i < p->nprop; i++)
		n += p->prop[i].status == st;
	return n;
}

bool rp_changes_anything(const struct rp_plan *p)
{
	for (int f = 0; f < RP_NFILES; f++)
		if (p->fout[f].mode != RP_FM_KEEP)
			return true;
	return false;
}

int rp_addressed(const struct rp_plan *p, size_t i)
{
	enum wd_code c = p->m->diags.v[i].code;
	int best = 0;
	for (size_t k = 0; k < p->nprop; k++) {
		const struct rp_proposal *pr = &p->prop[k];
		bool has = false;
		for (int j = 0; j < pr->ncodes; j++)
			has |= pr->codes[j] == c;
		if (!has)
			continue;
		if (pr->status == RP_ST_APPLY || pr->status == RP_ST_SUBSUMED)
			return 2;
		if (pr->status != RP_ST_REFUSED)
			best = 1;
	}
	return best;
}

int rp_unrepaired_worst(const struct rp_plan *p)
{
	int worst = -1;
	for (size_t i = 0; i < p->m->diags.n; i++)
		if (!rp_addressed(p, i) && (int)p->m->diags.v[i].sev > worst)
			worst = (int)p->m->diags.v[i].sev;
	return worst;
}

/* ---- making the plan ---- */

int rp_plan_make(struct rp_plan *p, struct model *m, const struct rp_opts *o)
{
	memset(p, 0, sizeof *p);
	p->m = m;
	p->o = o;
	const struct wf_file *f[RP_NFILES] = { &m->files.db, &m->files.wal, &m->files.shm };
	for (int i = 0; i < RP_NFILES; i++)
		snprintf(p->path[i], sizeof p->path[i], "%s", f[i]->path ? f[i]->path : "");
	struct check_opts co = { .sqlite = false, .locks = o->locks };
	checks_run(m, &co, &p->cr);
	p->hot_journal = m->has_journal && m->jrnl.first_byte_nonzero;
	if (o->pageset) {
		p->have_set = true;       /* closed by rp_plan_free, also after a failure */
		if (pageset_open(&p->set, o->pageset, p->err, sizeof p->err))
			return -1;
	}
	for (size_t i = 0; i < rp_nactions; i++) {
		struct rp_proposal *pr = &p->prop[p->nprop];
		memset(pr, 0, sizeof *pr);
		pr->act = &rp_actions[i];
		pr->safety = pr->act->safety;
		int rc = pr->act->plan(p, pr);
		if (rc < 0)
			return -1;
		if (rc > 0)
			p->nprop++;
	}
	rp_policy(p);
	p->exp.upto_frame = model_commit_frame(m, MODEL_LAST);
	p->exp.npages = model_npages(m, MODEL_LAST);
	p->exp.same_as_before = true;
	for (size_t i = 0; i < p->nprop; i++)
		if (p->prop[i].status == RP_ST_APPLY && p->prop[i].act->build)
			p->prop[i].act->build(p, &p->prop[i]);
	return 0;
}

void rp_plan_free(struct rp_plan *p)
{
	if (p->have_set)
		pageset_close(&p->set);
	p->have_set = false;
}

/* ---- printing ---- */

#define RP_LIST_PER_CODE 3

static const char *file_path(const struct rp_plan *p, enum rp_file f)
{
	return p->path[f][0] ? p->path[f] : rp_file_name(f);
}

void rp_print_plan(FILE *out, const struct rp_plan *p)
{
	const struct wd_diags *d = &p->m->diags;
	fprintf(out, "waldo repair %s\n", file_path(p, RP_DB));
	if (!p->nprop)
		fprintf(out, "  no action applies\n");
	for (size_t i = 0; i < p->nprop; i++) {
		const struct rp_proposal *pr = &p->prop[i];
		fprintf(out, "\n  [%s] %s (%s): %s\n", rp_status_name(pr->status), pr->act->name,
			rp_safety_name(pr->safety), pr->summary);
		if (pr->note[0])
			fprintf(out, "        note: %s\n", pr->note);
		if (pr->ncodes) {
			fprintf(out, "        addresses:");
			for (int j = 0; j < pr->ncodes; j++)
				fprintf(out, " %s", wd_code_name(pr->codes[j]));
			fputc('\n', out);
		}
		if (pr->why[0])
			fprintf(out, "        why: %s\n", pr->why);
		for (int j = 0; j < pr->nch; j++) {
			const struct rp_change *c = &pr->ch[j];
			fprintf(out, "        %-7s %s offset %llu length %llu: %s\n", rp_change_kind_name(c->kind),
				file_path(p, c->file), (unsigned long long)c->offset, (unsigned long long)c->length,
				c->what);
		}
		if (pr->nmore)
			fprintf(out, "        ... and %llu more changes\n", (unsigned long long)pr->nmore);
		fprintf(out, "        gives up: %s\n", pr->gives_up[0] ? pr->gives_up : "nothing");
	}
	size_t nleft = 0;
	for (size_t i = 0; i < d->n; i++)
		nleft += !rp_addressed(p, i);
	if (nleft) {
		/* At most RP_LIST_PER_CODE of each code, its advice once. */
		fprintf(out, "\n  findings no action repairs:\n");
		for (int c = 0; c < WD__NCODES; c++) {
			size_t shown = 0, total = 0;
			enum wd_severity worst = WD_INFO;
			for (size_t i = 0; i < d->n; i++) {
				const struct wd_diag *g = &d->v[i];
				if ((int)g->code != c || rp_addressed(p, i))
					continue;
				total++;
				if (g->sev > worst)
					worst = g->sev;
				if (shown++ < RP_LIST_PER_CODE)
					fprintf(out, "    %-7s %s: %s\n", wd_severity_name(g->sev), wd_code_name(g->code),
						g->msg);
			}
			if (total > RP_LIST_PER_CODE)
				fprintf(out, "    ... and %zu more %s\n", total - RP_LIST_PER_CODE, wd_code_name((enum wd_code)c));
			if (total && worst >= WD_WARNING)
				fprintf(out, "            %s\n", wd_code_action((enum wd_code)c));
		}
	}
	const struct rp_expect *e = &p->exp;
	if (rp_changes_anything(p))
		fprintf(out, "\n  afterwards SQLite sees %u pages: %s\n", e->npages,
			e->same_as_before ? "the same state as now"
			: e->overlay_set ? "the page set laid over the database file"
			: e->upto_frame ? "the database file with the WAL's frames applied"
					: "the database file alone");
}

static void json_changes(struct jw *j, const struct rp_plan *p, const struct rp_proposal *pr)
{
	jw_arr_begin(j, "changes");
	for (int k = 0; k < pr->nch; k++) {
		const struct rp_change *c = &pr->ch[k];
		jw_obj_begin(j, NULL);
		jw_str(j, "file", rp_file_name(c->file));
		jw_str(j, "path", file_path(p, c->file));
		jw_str(j, "kind", rp_change_kind_name(c->kind));
		jw_uint(j, "offset", c->offset);
		jw_uint(j, "length", c->length);
		jw_str(j, "what", c->what);
		jw_obj_end(j);
	}
	jw_arr_end(j);
	jw_uint(j, "more_changes", pr->nmore);
}

void rp_json_plan(struct jw *j, const struct rp_plan *p)
{
	jw_arr_begin(j, "actions");
	for (size_t i = 0; i < p->nprop; i++) {
		const struct rp_proposal *pr = &p->prop[i];
		jw_obj_begin(j, NULL);
		jw_str(j, "action", pr->act->name);
		jw_str(j, "safety", rp_safety_name(pr->safety));
		jw_str(j, "status", rp_status_name(pr->status));
		jw_str(j, "note", pr->note[0] ? pr->note : NULL);
		jw_arr_begin(j, "addresses");
		for (int k = 0; k < pr->ncodes; k++)
			jw_str(j, NULL, wd_code_name(pr->codes[k]));
		jw_arr_end(j);
		jw_str(j, "summary", pr->summary);
		jw_str(j, "why", pr->why);
		jw_str(j, "gives_up", pr->gives_up[0] ? pr->gives_up : NULL);
		json_changes(j, p, pr);
		jw_obj_end(j);
	}
	jw_arr_end(j);
	jw_arr_begin(j, "unrepaired");
	for (size_t i = 0; i < p->m->diags.n; i++) {
		if (rp_addressed(p, i))
			continue;
		const struct wd_diag *g = &p->m->diags.v[i];
		jw_obj_begin(j, NULL);
		jw_str(j, "code", wd_code_name(g->code));
		jw_str(j, "severity", wd_severity_name(g->sev));
		jw_str(j, "message", g->msg);
		jw_obj_end(j);
	}
	jw_arr_end(j);
	jw_obj_begin(j, "expected");
	jw_uint(j, "pages", p->exp.npages);
	jw_bool(j, "same_as_before", p->exp.same_as_before);
	jw_uint(j, "wal_frames", p->exp.upto_frame);
	jw_bool(j, "page_set", p->exp.overlay_set);
	jw_obj_end(j);
}
