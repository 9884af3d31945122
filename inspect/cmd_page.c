/* cmd_page.c — placeholder until the page decoder lands. */
#include "cmd.h"

int cmd_page(int argc, char **argv)
{
	static const char usage[] = "usage: waldo page ...\n";
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	cmd_error("page: not implemented yet");
	return EXIT_SOFTWARE;
}
