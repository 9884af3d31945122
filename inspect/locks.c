/* locks.c — lock holders of a database and its -shm; see locks.h. */
#include "locks.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "../formats/dbheader.h"
#include "../formats/diag.h"
#include "../formats/shm.h"

#define DB_RESERVED_BYTE (SQLITE_PENDING_BYTE + 1)
#define DB_SHARED_FIRST (SQLITE_PENDING_BYTE + 2)
#define DB_SHARED_SIZE 510

static void name_range(char file, uint64_t start, uint64_t end, char *buf, size_t n)
{
	buf[0] = '\0';
	size_t k = 0;
	if (file == 's') {
		for (uint64_t b = start; b <= end && b <= SHM_DMS_OFFSET; b++) {
			if (b < SHM_LOCK_OFFSET)
				continue;
			const char *nm = b == SHM_DMS_OFFSET ? "DMS" : shm_lock_name((unsigned)(b - SHM_LOCK_OFFSET));
			k += (size_t)snprintf(buf + k, k < n ? n - k : 0, "%s%s", k ? "," : "", nm);
			if (k >= n)
				break;
		}
		if (!buf[0])
			snprintf(buf, n, "bytes %llu-%llu", (unsigned long long)start, (unsigned long long)end);
		return;
	}
	if (start <= SQLITE_PENDING_BYTE && end >= SQLITE_PENDING_BYTE)
		k += (size_t)snprintf(buf + k, n - k, "PENDING");
	if (k < n && start <= DB_RESERVED_BYTE && end >= DB_RESERVED_BYTE)
		k += (size_t)snprintf(buf + k, n - k, "%sRESERVED", k ? "," : "");
	if (k < n && start < DB_SHARED_FIRST + DB_SHARED_SIZE && end >= DB_SHARED_FIRST)
		k += (size_t)snprintf(buf + k, n - k, "%sSHARED", k ? "," : "");
	if (!buf[0])
		snprintf(buf, n, "bytes %llu-%llu", (unsigned long long)start, (unsigned long long)end);
}

static void add(struct lock_report *r, pid_t pid, bool ofd, char file, bool excl, uint64_t start, uint64_t end)
{
	if (r->n == LOCKS_MAX) {
		r->truncated = true;
		return;
	}
	struct lock_holder *h = &r->h[r->n++];
	memset(h, 0, sizeof *h);
	h->pid = pid;
	h->ofd = ofd || pid == -1;    /* F_GETLK reports an OFD lock's owner as -1 */
	h->file = file;
	h->exclusive = excl;
	h->start = start;
	h->end = end;
	name_range(file, start, end, h->what, sizeof h->what);
	if (pid > 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
		FILE *f = fopen(path, "r");
		if (f) {
			if (fgets(h->comm, sizeof h->comm, f))
				h->comm[strcspn(h->comm, "\n")] = '\0';
			fclose(f);
		}
	}
}

/* Linux: every POSIX/OFD lock on the file, from /proc/locks. */
static bool probe_proc(const struct wf_file *f, char file, struct lock_report *r)
{
	FILE *pl = fopen("/proc/locks", "r");
	if (!pl)
		return false;
	char line[512];
	pid_t self = getpid();
	while (fgets(line, sizeof line, pl)) {
		char kind[16], adv[16], rw[16], endbuf[32];
		int pid;
		unsigned maj, min;
		unsigned long long ino, start;
		/* "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; blocked waiters start with "->". */
		const char *p = strchr(line, ':');
		if (!p || strstr(line, "->"))
			continue;
		if (sscanf(p + 1, "%15s %15s %15s %d %x:%x:%llu %llu %31s", kind, adv, rw, &pid, &maj, &min,
			   &ino, &start, endbuf) != 9)
			continue;
		if (strcmp(kind, "POSIX") && strcmp(kind, "OFDLCK"))
			continue;
		if (ino != (unsigned long long)f->st.st_ino || maj != major(f->st.st_dev) ||
		    min != minor(f->st.st_dev))
			continue;
		if (pid == self)
			continue;
		uint64_t end = !strcmp(endbuf, "EOF") ? UINT64_MAX : strtoull(endbuf, NULL, 10);
		add(r, pid, !strcmp(kind, "OFDLCK"), file, !strcmp(rw, "WRITE"), start, end);
	}
	fclose(pl);
	return true;
}

/* Portable: one F_GETLK probe per lock byte/range. */
static void probe_getlk(const struct wf_file *f, char file, struct lock_report *r)
{
	struct { uint64_t start, len; } ranges[10];
	int n = 0;
	if (file == 'd') {
		ranges[n].start = SQLITE_PENDING_BYTE; ranges[n++].len = 1;
		ranges[n].start = DB_RESERVED_BYTE; ranges[n++].len = 1;
		ranges[n].start = DB_SHARED_FIRST; ranges[n++].len = DB_SHARED_SIZE;
	} else {
		for (int i = 0; i <= 8; i++) {
			ranges[n].start = SHM_LOCK_OFFSET + (uint64_t)i;
			ranges[n++].len = 1;
		}
	}
	for (int i = 0; i < n; i++) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				    .l_start = (off_t)ranges[i].start, .l_len = (off_t)ranges[i].len };
		if (fcntl(f->fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
			add(r, fl.l_pid, false, file, fl.l_type == F_WRLCK, (uint64_t)fl.l_start,
			    (uint64_t)fl.l_start + (fl.l_len ? (uint64_t)fl.l_len - 1 : UINT64_MAX - (uint64_t)fl.l_start));
	}
}

const char *locks_fs_shared(int fd)
{
	/* f_type values of linux/magic.h (and the kernel's fs/ sources for the few it lacks) */
	static const struct { unsigned long magic; const char *name; } fs[] = {
		{ 0x6969, "NFS" },          { 0x517b, "SMB" },           { 0xff534d42, "CIFS" },
		{ 0xfe534d42, "SMB2" },     { 0x65735546, "FUSE" },      { 0x01021997, "9P" },
		{ 0x00c36400, "Ceph" },     { 0x5346414f, "AFS" },       { 0x6b414653, "AFS" },
		{ 0x73757245, "Coda" },     { 0x0bd00bd0, "Lustre" },    { 0x47504653, "GPFS" },
		{ 0x786f4256, "vboxsf" },   { 0x01161970, "GFS2" },      { 0x7461636f, "OCFS2" },
		{ 0x564c, "NCP" },          { 0x013111a8, "IBRIX" },
	};
	struct statfs st;
	if (fd < 0 || fstatfs(fd, &st))
		return NULL;
	for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
		if ((unsigned long)(unsigned int)st.f_type == fs[i].magic)
			return fs[i].name;
	return NULL;
}

bool locks_remote_allowed(void)
{
	const char *e = getenv("WALDO_ALLOW_REMOTE");
	return e && !strcmp(e, "1");
}

void locks_add_remote(const struct lock_report *r, struct wd_diags *d)
{
	if (r->remote)
		wd_add(d, WD_FS_REMOTE, WD_F_DB, WD_NONE, WD_NONE, WD_NONE,
		       "the database is on a %s file system: processes on other machines may use it without this "
		       "machine seeing their locks, so 'not in use' cannot be told", r->remote);
}

void locks_probe(const struct wf_set *s, struct lock_report *r)
{
	memset(r, 0, sizeof *r);
	r->reliable = true;
	if (s->db.present && !s->db.borrowed)
		r->remote = locks_fs_shared(s->db.fd);
	const struct wf_file *files[2] = { &s->db, &s->shm };
	const char tag[2] = { 'd', 's' };
	for (int i = 0; i < 2; i++) {
		if (!files[i]->present)
			continue;
		if (!probe_proc(files[i], tag[i], r))
			probe_getlk(files[i], tag[i], r);
	}
}

const char *locks_holder_name(const struct lock_holder *h, char *buf, size_t n)
{
	if (h->ofd)
		snprintf(buf, n, "%s", LOCKS_OFD_NAME);
	else
		snprintf(buf, n, "%d%s%s%s", (int)h->pid, h->comm[0] ? " (" : "", h->comm, h->comm[0] ? ")" : "");
	return buf;
}

void locks_pid_list(const struct lock_report *r, char *buf, size_t n)
{
	size_t k = 0;
	buf[0] = '\0';
	for (int i = 0; i < r->n && k < n; i++) {
		bool dup = false;
		for (int j = 0; j < i; j++)
			if (r->h[j].ofd == r->h[i].ofd && (r->h[i].ofd || r->h[j].pid == r->h[i].pid))
				dup = true;
		if (dup)
			continue;
		char name[128];
		k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? ", " : "",
				      locks_holder_name(&r->h[i], name, sizeof name));
	}
}
