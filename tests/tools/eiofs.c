/*
 * eiofs.c — a read-only FUSE file system that shows the regular files of one
 * folder and fails reads of chosen byte ranges with EIO, the way a disk with
 * bad sectors does (HOSTILE.md E2; tests/e2e/t1450-bad-sectors.sh).
 *
 *   eiofs FOLDER MOUNTPOINT [NAME:OFFSET:LENGTH]...
 *
 * Every READ request of file NAME that overlaps [OFFSET, OFFSET+LENGTH) is
 * answered with EIO: read(2) and pread(2) fail, a mapped page faults with
 * SIGBUS.  Other reads return the bytes of FOLDER/NAME.  Only FOLDER's
 * regular files exist (no subfolders); nothing can be written.  It speaks
 * the kernel's FUSE protocol on /dev/fuse itself (linux/fuse.h, no libfuse),
 * so it needs mount(2) rights (root, CAP_SYS_ADMIN) and /dev/fuse; when it
 * cannot mount it exits 77 with a message and the test skips.  Once mounted
 * it prints "ready" on stdout; SIGTERM or SIGINT unmounts and ends it.
 * One thread serves requests in order; nothing is cached by the kernel
 * beyond a page-cache read (attributes and names are always asked again).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_NODES 256
#define MAX_BAD 16
#define BUF_SIZE (1 << 20)

static int dirfd_;
static const char *mnt;
static char *names[MAX_NODES];       /* node id k + 2 is names[k]; 1 is the root */
static int nnames;
static struct { char name[256]; uint64_t off, len; } bad[MAX_BAD];
static int nbad;

static void on_term(int sig)
{
	(void)sig;
	umount2(mnt, MNT_DETACH);
	_exit(0);
}

static int reply(int fd, uint64_t unique, int error, const void *p, size_t n)
{
	struct fuse_out_header h = { .len = (uint32_t)(sizeof h + n), .error = error, .unique = unique };
	struct iovec v[2] = { { &h, sizeof h }, { (void *)p, n } };
	ssize_t k = writev(fd, v, n ? 2 : 1);
	return k == (ssize_t)h.len ? 0 : -1;
}

static const char *node_name(uint64_t id)
{
	return id >= 2 && id - 2 < (uint64_t)nnames ? names[id - 2] : NULL;
}

static uint64_t node_of(const char *name)
{
	for (int i = 0; i < nnames; i++)
		if (!strcmp(names[i], name))
			return (uint64_t)i + 2;
	if (nnames == MAX_NODES || !(names[nnames] = strdup(name)))
		return 0;
	return (uint64_t)nnames++ + 2;
}

static void fill_attr(struct fuse_attr *a, uint64_t id, const struct stat *st)
{
	memset(a, 0, sizeof *a);
	a->ino = id;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = (uint64_t)st->st_atim.tv_sec;
	a->mtime = (uint64_t)st->st_mtim.tv_sec;
	a->ctime = (uint64_t)st->st_ctim.tv_sec;
	a->atimensec = (uint32_t)st->st_atim.tv_nsec;
	a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = 1;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->blksize = 4096;
}

/* The attributes of node id: 0, or a negative errno. */
static int attr_of(uint64_t id, struct fuse_attr *a)
{
	struct stat st;
	if (id == FUSE_ROOT_ID) {
		if (fstat(dirfd_, &st))
			return -errno;
	} else {
		const char *n = node_name(id);
		if (!n)
			return -ENOENT;
		if (fstatat(dirfd_, n, &st, AT_SYMLINK_NOFOLLOW))
			return -errno;
		if (!S_ISREG(st.st_mode))
			return -ENOENT;
		st.st_mode = S_IFREG | (st.st_mode & 0444);
	}
	fill_attr(a, id, &st);
	return 0;
}

static int is_bad(const char *name, uint64_t off, uint64_t len)
{
	for (int i = 0; i < nbad; i++)
		if (!strcmp(bad[i].name, name) && off < bad[i].off + bad[i].len && bad[i].off < off + len)
			return 1;
	return 0;
}

static void do_readdir(int fd, const struct fuse_in_header *h, const struct fuse_read_in *in, char *out)
{
	DIR *d = fdopendir(dup(dirfd_));
	size_t n = 0;
	uint64_t k = 0;
	struct dirent *e;
	if (d) {
		rewinddir(d);
		while ((e = readdir(d))) {
			struct stat st;
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
			    (fstatat(dirfd_, e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode)))
				continue;
			if (++k <= in->offset)
				continue;
			size_t nl = strlen(e->d_name), sz = FUSE_DIRENT_SIZE(&(struct fuse_dirent){ .namelen = (uint32_t)nl });
			if (n + sz > in->size || n + sz > BUF_SIZE)
				break;
			struct fuse_dirent *de = (struct fuse_dirent *)(out + n);
			memset(de, 0, sz);
			de->ino = e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")) ? FUSE_ROOT_ID
				  : node_of(e->d_name);
			de->off = k;
			de->namelen = (uint32_t)nl;
			de->type = e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")) ? DT_DIR : DT_REG;
			memcpy(de->name, e->d_name, nl);
			n += sz;
		}
		closedir(d);
	}
	reply(fd, h->unique, 0, out, n);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: eiofs FOLDER MOUNTPOINT [NAME:OFFSET:LENGTH]...\n");
		return 64;
	}
	mnt = argv[2];
	for (int i = 3; i < argc && nbad < MAX_BAD; i++) {
		unsigned long long o, l;
		char name[256];
		if (sscanf(argv[i], "%255[^:]:%llu:%llu", name, &o, &l) != 3) {
			fprintf(stderr, "eiofs: bad range '%s'\n", argv[i]);
			return 64;
		}
		snprintf(bad[nbad].name, sizeof bad[nbad].name, "%s", name);
		bad[nbad].off = o;
		bad[nbad++].len = l;
	}
	if ((dirfd_ = open(argv[1], O_RDONLY | O_DIRECTORY)) < 0) {
		fprintf(stderr, "eiofs: %s: %s\n", argv[1], strerror(errno));
		return 66;
	}
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "eiofs: cannot open /dev/fuse: %s\n", strerror(errno));
		return 77;
	}
	char opts[128];
	snprintf(opts, sizeof opts, "fd=%d,rootmode=40000,user_id=%u,group_id=%u,allow_other", fd,
		 (unsigned)getuid(), (unsigned)getgid());
	if (mount("eiofs", mnt, "fuse.eiofs", MS_NOSUID | MS_NODEV | MS_RDONLY, opts)) {
		fprintf(stderr, "eiofs: cannot mount on %s: %s\n", mnt, strerror(errno));
		return 77;
	}
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready\n");
	fflush(stdout);

	char *buf = malloc(BUF_SIZE + 4096), *out = malloc(BUF_SIZE);
	if (!buf || !out)
		return 71;
	for (;;) {
		ssize_t k = read(fd, buf, BUF_SIZE + 4096);
		if (k < 0 && (errno == EINTR || errno == ENOENT || errno == EAGAIN))
			continue;
		if (k < (ssize_t)sizeof(struct fuse_in_header))
			break;                  /* ENODEV: unmounted */
		struct fuse_in_header *h = (struct fuse_in_header *)buf;
		void *in = buf + sizeof *h;
		switch (h->opcode) {
		case FUSE_INIT: {
			const struct fuse_init_in *ii = in;
			struct fuse_init_out o = { .major = FUSE_KERNEL_VERSION,
						   .minor = ii->minor < FUSE_KERNEL_MINOR_VERSION ? ii->minor
						   : FUSE_KERNEL_MINOR_VERSION,
						   .max_readahead = ii->max_readahead, .max_write = 65536,
						   .time_gran = 1, .max_background = 1, .congestion_threshold = 1 };
			reply(fd, h->unique, 0, &o, sizeof o);
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out o = { 0 };
			int e = h->nodeid != FUSE_ROOT_ID ? -ENOENT : 0;
			if (!e)
				o.nodeid = node_of((const char *)in);
			if (!e && !o.nodeid)
				e = -ENOMEM;
			if (!e)
				e = attr_of(o.nodeid, &o.attr);
			reply(fd, h->unique, e, &o, e ? 0 : sizeof o);
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out o = { 0 };
			int e = attr_of(h->nodeid, &o.attr);
			reply(fd, h->unique, e, &o, e ? 0 : sizeof o);
			break;
		}
		case FUSE_OPEN: {
			const struct fuse_open_in *oi = in;
			struct fuse_open_out o = { 0 };
			const char *n = node_name(h->nodeid);
			int e = !n ? -ENOENT : (oi->flags & O_ACCMODE) != O_RDONLY ? -EROFS : 0;
			int f = e ? -1 : openat(dirfd_, n, O_RDONLY | O_CLOEXEC);
			if (!e && f < 0)
				e = -errno;
			o.fh = (uint64_t)f;
			reply(fd, h->unique, e, &o, e ? 0 : sizeof o);
			break;
		}
		case FUSE_READ: {
			const struct fuse_read_in *ri = in;
			const char *n = node_name(h->nodeid);
			size_t want = ri->size < BUF_SIZE ? ri->size : BUF_SIZE;
			if (!n || is_bad(n, ri->offset, want)) {
				reply(fd, h->unique, -EIO, NULL, 0);
				break;
			}
			ssize_t got = pread((int)ri->fh, out, want, (off_t)ri->offset);
			reply(fd, h->unique, got < 0 ? -errno : 0, out, got < 0 ? 0 : (size_t)got);
			break;
		}
		case FUSE_RELEASE:
			close((int)((const struct fuse_release_in *)in)->fh);
			reply(fd, h->unique, 0, NULL, 0);
			break;
		case FUSE_OPENDIR: {
			struct fuse_open_out o = { 0 };
			reply(fd, h->unique, h->nodeid == FUSE_ROOT_ID ? 0 : -ENOTDIR, &o,
			      h->nodeid == FUSE_ROOT_ID ? sizeof o : 0);
			break;
		}
		case FUSE_READDIR:
			do_readdir(fd, h, in, out);
			break;
		case FUSE_STATFS: {
			struct fuse_statfs_out o = { .st = { .bsize = 4096, .frsize = 4096, .namelen = 255 } };
			reply(fd, h->unique, 0, &o, sizeof o);
			break;
		}
		case FUSE_FLUSH:
		case FUSE_RELEASEDIR:
		case FUSE_ACCESS:
		case FUSE_FSYNC:
		case FUSE_FSYNCDIR:
			reply(fd, h->unique, 0, NULL, 0);
			break;
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
		case FUSE_INTERRUPT:
			break;                  /* no reply */
		case FUSE_DESTROY:
			reply(fd, h->unique, 0, NULL, 0);
			return 0;
		default:
			reply(fd, h->unique, -ENOSYS, NULL, 0);
			break;
		}
	}
	return 0;
}
