/* cmd_common.c — helpers shared by the subcommands; see cmd.h. */
#include "cmd.h"

#include <stdarg.h>
#include <string.h>

#include "files.h"
#include "report.h"
#include "../formats/diag.h"

_Static_assert(CMD_IN_DB == 1u << WD_F_DB && CMD_IN_WAL == 1u << WD_F_WAL && CMD_IN_SHM == 1u << WD_F_SHM &&
	       CMD_IN_JOURNAL == 1u << WD_F_JOURNAL, "CMD_IN_* follow enum wd_file");

int cmd_wants_help(int argc, char **argv, const char *usage)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 1;
		}
	}
	return 0;
}

int cmd_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "waldo %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(usage, stderr);
	return EXIT_USAGE;
}

void cmd_error(const char *fmt, ...)
{
	va_list ap;
	fputs("waldo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cmd_check_inputs(const struct wf_set *s, unsigned files, struct wd_diags *d, FILE *warn)
{
	struct wd_diags now = { 0 }, added = { 0 };
	wf_set_check_changed(s, &now);
	for (size_t i = 0; i < now.n; i++) {
		struct wd_diag *c = &now.v[i];
		if (!(files & (1u << c->file)))
			continue;
		if (files & CMD_IN_STRICT)
			c->sev = WD_ERROR;
		struct wd_diag *old = NULL;
		for (size_t k = 0; k < d->n && !old; k++)
			if (d->v[k].code == c->code && d->v[k].file == c->file)
				old = &d->v[k];
		if (old && old->sev >= c->sev)
			continue;
		if (old) {
			*old = *c;            /* cut short since a change was first seen: now an error */
		} else {
			size_t n0 = d->n;
			wd_add_sev(d, c->code, c->sev, c->file, c->offset, c->frame, c->page, "%s", c->msg);
			if (d->n == n0 && n0)
				d->v[n0 - 1] = *c;   /* a full list (WD_DIAGS_CAP) loses another finding, not this one */
		}
		if (warn)
			wd_add_sev(&added, c->code, c->sev, c->file, c->offset, c->frame, c->page, "%s", c->msg);
	}
	if (warn && added.n)
		report_text(warn, &added, s);
	int status = EXIT_OK;
	for (size_t k = 0; k < d->n; k++)
		if (d->v[k].code == WD_INPUT_CHANGED || d->v[k].code == WD_INPUT_UNREADABLE)
			status = d->v[k].sev >= WD_ERROR ? EXIT_ERRORS : status < EXIT_WARNINGS ? EXIT_WARNINGS : status;
	wd_diags_free(&now);
	wd_diags_free(&added);
	return status;
}

int cmd_refuse_unreadable(const struct wf_set *s, char *err, size_t errlen)
{
	const struct wf_file *v[] = { &s->db, &s->wal, &s->shm, &s->journal };
	for (int i = 0; i < 4; i++) {
		uint64_t first;
		unsigned bad = wf_unreadable(v[i], &first);
		if (!bad)
			continue;
		snprintf(err, errlen, "'%s': %u page%s from byte offset %llu cannot be read (I/O error: a failing "
			 "disk?): refusing to write anything from it; image the disk (ddrescue) and work on the copy",
			 v[i]->path, bad, bad == 1 ? "" : "s", (unsigned long long)first);
		return EXIT_NOINPUT;
	}
	return 0;
}
