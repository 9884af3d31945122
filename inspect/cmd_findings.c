/* cmd_findings.c — `waldo findings`: the catalogue of finding codes. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "../formats/diag.h"

static const char usage[] =
	"usage: waldo findings [--markdown]\n"
	"\n"
	"List every finding code waldo reports: code, default severity, the repair\n"
	"action that addresses it (or -), what it means and what to do.\n"
	"\n"
	"  --markdown   print the table that docs/findings.md holds\n";

int cmd_findings(int argc, char **argv)
{
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	int md = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--markdown"))
			md = 1;
		else
			return cmd_usage_error("findings", usage, "unknown option '%s'", argv[i]);
	}
	if (md)
		printf("| code | severity | repair | meaning | what to do |\n|---|---|---|---|---|\n");
	for (int c = 0; c < WD__NCODES; c++) {
		if (md)
			printf("| `%s` | %s | %s | %s | %s |\n", wd_code_name(c),
			       wd_severity_name(wd_code_severity(c)), wd_code_repair(c),
			       wd_code_summary(c), wd_code_action(c));
		else
			printf("%-24s %-7s %-12s %s\n", wd_code_name(c),
			       wd_severity_name(wd_code_severity(c)), wd_code_repair(c),
			       wd_code_summary(c));
	}
	return EXIT_OK;
}
