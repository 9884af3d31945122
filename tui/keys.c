/*
 * keys.c — key names of tui/actions.def to ncurses key codes, and back to
 * actions.  The binding table is built from actions.def at start-up; a key
 * name this file does not know, or a key bound to two actions, is a bug in
 * that table and stops the TUI before it starts.
 */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "tui.h"

#define NCODES 1024            /* ncurses codes are below KEY_MAX (0777) */
static short binding[NCODES];

static int key_code(const char *name, size_t len)
{
	static const struct { const char *name; int code; } named[] = {
		{ "Up", KEY_UP }, { "Down", KEY_DOWN }, { "Left", KEY_LEFT }, { "Right", KEY_RIGHT },
		{ "PgUp", KEY_PPAGE }, { "PgDn", KEY_NPAGE }, { "Home", KEY_HOME }, { "End", KEY_END },
		{ "Enter", '\n' }, { "Esc", 27 }, { "Tab", '\t' }, { "S-Tab", KEY_BTAB }, { "Space", ' ' },
	};
	if (len == 1)
		return (unsigned char)name[0];
	if (len == 2 && name[0] == '^' && name[1] >= '@' && name[1] <= '_')
		return name[1] & 0x1f;
	if (len >= 2 && len <= 3 && name[0] == 'F' && name[1] >= '1' && name[1] <= '9') {
		int n = name[1] - '0';
		if (len == 3)
			n = n * 10 + (name[2] - '0');
		return n >= 1 && n <= 12 ? KEY_F(n) : -1;
	}
	for (size_t i = 0; i < sizeof named / sizeof *named; i++)
		if (strlen(named[i].name) == len && !memcmp(named[i].name, name, len))
			return named[i].code;
	return -1;
}

static int bind_key(int code, int action, char *err, size_t errlen)
{
	if (code < 0 || code >= NCODES) {
		snprintf(err, errlen, "actions.def: key code %d out of range", code);
		return -1;
	}
	if (binding[code] >= 0 && binding[code] != action) {
		snprintf(err, errlen, "actions.def: key %d is bound to '%s' and '%s'", code,
			 tui_actions[binding[code]].name, tui_actions[action].name);
		return -1;
	}
	binding[code] = (short)action;
	return 0;
}

int tui_keys_init(char *err, size_t errlen)
{
	for (int i = 0; i < NCODES; i++)
		binding[i] = -1;
	for (int a = 0; a < ACT__N; a++) {
		const char *p = tui_actions[a].keys;
		while (*p) {
			size_t len = strcspn(p, " ");
			int code = key_code(p, len);
			if (code < 0) {
				snprintf(err, errlen, "actions.def: unknown key name '%.*s' for '%s'", (int)len, p,
					 tui_actions[a].name);
				return -1;
			}
			if (bind_key(code, a, err, errlen))
				return -1;
			/* Terminals send Enter as CR or KEY_ENTER too, Backspace-like keys vary. */
			if (code == '\n' && (bind_key('\r', a, err, errlen) || bind_key(KEY_ENTER, a, err, errlen)))
				return -1;
			p += len;
			while (*p == ' ')
				p++;
		}
	}
	return 0;
}

int tui_key_action(int key)
{
	return key >= 0 && key < NCODES ? binding[key] : -1;
}
