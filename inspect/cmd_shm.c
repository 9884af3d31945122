/* cmd_shm.c — placeholder until the shm decoder lands. */
#include "cmd.h"

int cmd_shm(int argc, char **argv)
{
	static const char usage[] = "usage: waldo shm ...\n";
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	cmd_error("shm: not implemented yet");
	return EXIT_SOFTWARE;
}
