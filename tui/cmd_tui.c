/*
 * cmd_tui.c — `waldo tui`: the interactive browser over one database, its
 * -wal and -shm.  Options, opening the files, and the hand-over to
 * tui/display.c.  --dump prints the first screen as text instead, without
 * a terminal (for documentation and scripts).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui.h"
#include "../inspect/cmd.h"

static const char usage[] =
	"usage: waldo tui [--wal FILE] [--shm FILE] [--view N] [--page N] [--frame F]\n"
	"                 [--integrity] [--no-locks] [--no-mouse] [--no-color]\n"
	"                 [--dump COLSxROWS] PATH\n"
	"\n"
	"Browse a database, its -wal and -shm in the terminal: 1 overview and\n"
	"findings, 2 WAL frames, 3 a page decoded with a hex view, 4 the versions of\n"
	"a page and a byte diff, 5 the -shm, 6 lock holders.  PATH is the database\n"
	"(siblings found by name) or a lone WAL or -shm file.  Press ? for the keys.\n"
	"Nothing is ever written to the inputs; repairs are shown as commands.\n"
	"\n"
	"  --wal FILE         use FILE as the WAL\n"
	"  --shm FILE         use FILE as the -shm\n"
	"  --view N           start in view N (1..6)\n"
	"  --page N           start on page N (the page view unless --view says otherwise)\n"
	"  --frame F          start on WAL frame F (the WAL view unless --view says otherwise)\n"
	"  --integrity        run PRAGMA integrity_check on a private copy at start (I does it later)\n"
	"  --no-locks         do not look for processes holding locks\n"
	"  --no-mouse         leave the mouse to the terminal (text selection)\n"
	"  --no-color         no colours (also when NO_COLOR is set): bold, underline and reverse\n"
	"  --dump COLSxROWS   print the first screen as text at that size and exit\n"
	"\n"
	"Exit status: 0 after q, 64 bad usage or no terminal, 66 an input cannot be read.\n";

static int parse_u32(const char *s, uint32_t *out)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int dump(struct tui *t, int cols, int rows)
{
	struct tm_screen s = { 0 };
	if (tm_screen_resize(&s, cols, rows))
		return EXIT_SOFTWARE;
	tui_render(t, &s);
	char line[4096];
	for (int y = 0; y < s.h; y++) {
		tm_row_text(&s, y, line, sizeof line);
		puts(line);
	}
	tm_screen_free(&s);
	return EXIT_OK;
}

int cmd_tui(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wal", required_argument, NULL, 'w' }, { "shm", required_argument, NULL, 'm' },
		{ "view", required_argument, NULL, 'v' }, { "page", required_argument, NULL, 'p' },
		{ "frame", required_argument, NULL, 'f' }, { "integrity", no_argument, NULL, 'I' },
		{ "no-locks", no_argument, NULL, 'L' }, { "no-mouse", no_argument, NULL, 'M' },
		{ "no-color", no_argument, NULL, 'C' }, { "dump", required_argument, NULL, 'd' },
		{ 0, 0, 0, 0 },
	};
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	static struct tui t;           /* large (lock reports): keep it off the stack */
	memset(&t, 0, sizeof t);
	t.locks = true;
	struct tui_display_opts d = { .mouse = true, .color = true };
	uint32_t view = 0, page = 0, frame = 0;
	int dump_cols = 0, dump_rows = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'w': t.wal_path = optarg; break;
		case 'm': t.shm_path = optarg; break;
		case 'v':
			if (parse_u32(optarg, &view) || view < 1 || view > TUI_NVIEWS)
				return cmd_usage_error("tui", usage, "--view takes 1..6, not '%s'", optarg);
			break;
		case 'p':
			if (parse_u32(optarg, &page) || page == 0)
				return cmd_usage_error("tui", usage, "--page takes a page number, not '%s'", optarg);
			break;
		case 'f':
			if (parse_u32(optarg, &frame) || frame == 0)
				return cmd_usage_error("tui", usage, "--frame takes a frame number, not '%s'", optarg);
			break;
		case 'I': t.integrity = true; break;
		case 'L': t.locks = false; break;
		case 'M': d.mouse = false; break;
		case 'C': d.color = false; break;
		case 'd':
			if (sscanf(optarg, "%dx%d", &dump_cols, &dump_rows) != 2 || dump_cols < 20 || dump_rows < 3 ||
			    dump_cols > 1000 || dump_rows > 1000)
				return cmd_usage_error("tui", usage, "--dump takes COLSxROWS, e.g. 80x24, not '%s'", optarg);
			break;
		default:
			return cmd_usage_error("tui", usage, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error("tui", usage, "expected one PATH");
	const char *no_color = getenv("NO_COLOR");
	if (no_color && *no_color)
		d.color = false;
	char err[512];
	if (tui_keys_init(err, sizeof err)) {
		cmd_error("%s", err);
		return EXIT_SOFTWARE;
	}
	if (!dump_cols && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		cmd_error("tui: standard input and output must be a terminal (--dump prints a screen as text)");
		return EXIT_USAGE;
	}
	t.path = argv[optind];
	if (tui_load(&t, err, sizeof err)) {
		cmd_error("%s", err);
		return EXIT_NOINPUT;
	}
	if (frame) {
		if (!t.m.has_wal || frame > t.m.wal.nframes) {
			cmd_error("tui: no frame %u: the WAL holds %u whole frames", frame, t.m.has_wal ? t.m.wal.nframes : 0);
			tui_unload(&t);
			return EXIT_USAGE;
		}
		t.view = V_WAL;
		tm_list_goto(&t.wal.list, tm_wal_frame_row(&t.wal.rows, frame));
		if (t.m.wal.frames[frame - 1].pgno) {
			t.pgno = t.m.wal.frames[frame - 1].pgno;
			t.frame = frame;
		}
	}
	if (page) {
		t.view = V_PAGE;
		t.pgno = page;
		t.frame = tui_default_version(&t, page);
	}
	if (view)
		t.view = (int)view - 1;
	int status;
	if (dump_cols) {
		tui_tick(&t);
		status = dump(&t, dump_cols, dump_rows);
	} else if (tui_run(&t, &d)) {
		cmd_error("tui: cannot set up the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
		status = EXIT_USAGE;
	} else {
		status = EXIT_OK;
	}
	tui_unload(&t);
	return status;
}
