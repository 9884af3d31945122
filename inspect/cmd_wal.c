/* cmd_wal.c — placeholder until the wal decoder lands. */
#include "cmd.h"

int cmd_wal(int argc, char **argv)
{
	static const char usage[] = "usage: waldo wal ...\n";
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	cmd_error("wal: not implemented yet");
	return EXIT_SOFTWARE;
}
