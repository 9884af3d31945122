/* rio.c — counted writes, crash injection, SHA-256 and zlib streams; see rio.h. */
#include "rio.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../formats/bytes.h"

/* ---- write steps and the crash hook ---- */

static volatile sig_atomic_t nsteps_seen;   /* nsteps, for the signal handler */
static uint64_t nsteps;
static int64_t crash_at = -1;      /* -1: not read yet, 0: off */
static int crash_sig = SIGKILL;
static int trace = -1;

/*
 * SIGINT/SIGTERM once a writing command has started to write: say what
 * state the files are in, then die by the same signal (exit status 128+N to
 * a shell), so the guarantees are those of a crash at that point.  Only
 * async-signal-safe calls.
 */
static void on_stop_signal(int sig)
{
	char msg[320], num[24];
	unsigned long n = (unsigned long)nsteps_seen;
	int k = (int)sizeof num;
	num[--k] = '\0';
	do {
		num[--k] = (char)('0' + n % 10);
		n /= 10;
	} while (n && k > 0);
	msg[0] = '\0';
	strcat(msg, sig == SIGINT ? "\nwaldo: interrupted (SIGINT)" : "\nwaldo: terminated (SIGTERM)");
	strcat(msg, " after write step ");
	strcat(msg, num + k);
	strcat(msg, ": the files are as a crash there leaves them; run the command again, or 'waldo undo' "
		    "with its undo file\n");
	ssize_t w = write(2, msg, strlen(msg));
	(void)w;
	signal(sig, SIG_DFL);
	raise(sig);
}

static void hook_init(void)
{
	if (crash_at >= 0)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	for (int i = 0; i < 2; i++) {
		int sig = i ? SIGTERM : SIGINT;
		struct sigaction old;
		/* Leave an ignored signal ignored (nohup, a shell's background job). */
		if (sigaction(sig, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sig, &sa, NULL);
	}
	const char *cs = getenv("WALDO_CRASH_SIGNAL");
	if (cs && !strcmp(cs, "TERM"))
		crash_sig = SIGTERM;
	else if (cs && !strcmp(cs, "INT"))
		crash_sig = SIGINT;
	const char *s = getenv("WALDO_CRASH_AFTER");
	crash_at = 0;
	if (s && *s) {
		char *end;
		unsigned long long v = strtoull(s, &end, 10);
		if (!*end && v > 0 && v < (1ull << 62))
			crash_at = (int64_t)v;
	}
	const char *t = getenv("WALDO_CRASH_TRACE");
	trace = t && *t && strcmp(t, "0");
}

void rio_step(const char *what)
{
	hook_init();
	nsteps++;
	nsteps_seen = (sig_atomic_t)nsteps;
	if (trace > 0)
		fprintf(stderr, "waldo: step %llu: %s\n", (unsigned long long)nsteps, what);
	if (crash_at > 0 && nsteps == (uint64_t)crash_at) {
		fflush(NULL);
		kill(getpid(), crash_sig);
		for (;;)
			pause();
	}
}

uint64_t rio_steps(void)
{
	return nsteps;
}

int rio_write_all(int fd, const void *buf, size_t n)
{
	if (atomic_write_all(fd, buf, n, ATOMIC_APPEND))
		return -1;
	rio_step("write");
	return 0;
}

int rio_pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
	if (atomic_write_all(fd, buf, n, off))
		return -1;
	rio_step("pwrite");
	return 0;
}

int rio_fsync(int fd)
{
	int rc = fsync(fd);
	rio_step("fsync");
	return rc;
}

int rio_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	if (rc && errno == EINVAL)
		rc = 0;
	close(fd);
	rio_step("fsync folder");
	return rc;
}

void rio_dirname(const char *path, char *dir, size_t n)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, n, ".");
		return;
	}
	size_t k = (size_t)(slash - path);
	if (k == 0)
		k = 1;
	snprintf(dir, n, "%.*s", (int)k, path);
}

const char *rio_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

int rio_unlink(const char *path, char *err, size_t errlen)
{
	if (unlink(path) && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove '%s': %s", path, strerror(errno));
		return -1;
	}
	rio_step("unlink");
	char dir[ATOMIC_PATH_MAX];
	rio_dirname(path, dir, sizeof dir);
	if (rio_fsync_dir(dir)) {
		snprintf(err, errlen, "cannot sync folder '%s': %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int rio_commit(struct atomic_out *a, char *err, size_t errlen)
{
	int rc = atomic_commit(a, err, errlen);
	rio_step("rename");
	return rc;
}

/* ---- SHA-256 ---- */

int rio_sha_begin(struct rio_sha *s)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	s->ctx = c;
	s->bad = !c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1;
	return s->bad ? -1 : 0;
}

void rio_sha_update(struct rio_sha *s, const void *p, size_t n)
{
	if (!s->bad && n && EVP_DigestUpdate(s->ctx, p, n) != 1)
		s->bad = true;
}

int rio_sha_end(struct rio_sha *s, uint8_t out[RIO_SHA])
{
	unsigned len = 0;
	if (!s->bad && (EVP_DigestFinal_ex(s->ctx, out, &len) != 1 || len != RIO_SHA))
		s->bad = true;
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
	return s->bad ? -1 : 0;
}

int rio_sha256(const void *p, size_t n, uint8_t out[RIO_SHA])
{
	struct rio_sha s;
	rio_sha_begin(&s);
	rio_sha_update(&s, p, n);
	return rio_sha_end(&s, out);
}

int rio_sha256_file(const char *path, uint8_t out[RIO_SHA], uint64_t *size, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a regular file", path);
		close(fd);
		return -1;
	}
	struct rio_sha s;
	rio_sha_begin(&s);
	uint8_t *buf = malloc(RIO_CHUNK);
	uint64_t total = 0;
	int rc = buf ? 0 : -1;
	while (!rc) {
		ssize_t k = read(fd, buf, RIO_CHUNK);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			rc = -1;
		else if (k == 0)
			break;
		else {
			rio_sha_update(&s, buf, (size_t)k);
			total += (uint64_t)k;
		}
	}
	free(buf);
	close(fd);
	if (rio_sha_end(&s, out) || rc) {
		snprintf(err, errlen, "cannot read '%s': %s", path, rc ? strerror(errno) : "SHA-256 failed");
		return -1;
	}
	*size = total;
	return 1;
}

void rio_hex(const uint8_t d[RIO_SHA], char out[2 * RIO_SHA + 1])
{
	static const char hx[] = "0123456789abcdef";
	for (unsigned i = 0; i < RIO_SHA; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * RIO_SHA] = '\0';
}

/* ---- zlib ---- */

int rio_zout_begin(struct rio_zout *z, int fd)
{
	memset(z, 0, sizeof *z);
	z->fd = fd;
	z_stream *s = calloc(1, sizeof *s);
	z->buf = malloc(RIO_CHUNK);
	z->z = s;
	rio_sha_begin(&z->sha);
	if (!s || !z->buf || deflateInit(s, 6) != Z_OK) {
		free(s);
		z->z = NULL;
		z->bad = true;
		return -1;
	}
	return 0;
}

/* Run deflate until the input is consumed (flush Z_NO_FLUSH) or the stream ends (Z_FINISH). */
static void zout_pump(struct rio_zout *z, int flush)
{
	z_stream *s = z->z;
	for (;;) {
		s->next_out = z->buf;
		s->avail_out = RIO_CHUNK;
		int rc = deflate(s, flush);
		if (rc == Z_STREAM_ERROR) {
			z->bad = true;
			return;
		}
		size_t have = RIO_CHUNK - s->avail_out;
		if (have) {
			rio_sha_update(&z->sha, z->buf, have);
			if (rio_write_all(z->fd, z->buf, have)) {
				z->bad = true;
				return;
			}
			z->out_bytes += have;
		}
		if (flush == Z_FINISH ? rc == Z_STREAM_END : s->avail_out != 0)
			return;
	}
}

void rio_zout_write(struct rio_zout *z, const void *p, size_t n)
{
	if (z->bad || !n)
		return;
	z_stream *s = z->z;
	const uint8_t *b = p;
	while (n && !z->bad) {
		uInt part = n > (1u << 30) ? (1u << 30) : (uInt)n;
		s->next_in = (Bytef *)b;
		s->avail_in = part;
		zout_pump(z, Z_NO_FLUSH);
		b += part;
		n -= part;
		z->in_bytes += part;
	}
}

int rio_zout_end(struct rio_zout *z, uint8_t sha[RIO_SHA])
{
	if (!z->bad) {
		z_stream *s = z->z;
		s->next_in = NULL;
		s->avail_in = 0;
		zout_pump(z, Z_FINISH);
	}
	int rc = rio_sha_end(&z->sha, sha) || z->bad ? -1 : 0;
	if (z->z)
		deflateEnd(z->z);
	free(z->z);
	free(z->buf);
	z->z = NULL;
	z->buf = NULL;
	return rc;
}

void rio_zout_abort(struct rio_zout *z)
{
	uint8_t d[RIO_SHA];
	z->bad = true;
	rio_zout_end(z, d);
}

int rio_zin_begin(struct rio_zin *z, int fd, uint64_t limit)
{
	memset(z, 0, sizeof *z);
	z->fd = fd;
	z->left = limit;
	z_stream *s = calloc(1, sizeof *s);
	z->buf = malloc(RIO_CHUNK);
	z->z = s;
	if (!s || !z->buf || inflateInit(s) != Z_OK) {
		free(s);
		z->z = NULL;
		z->bad = true;
		return -1;
	}
	return 0;
}

int rio_zin_read(struct rio_zin *z, void *p, size_t n)
{
	if (z->bad)
		return -1;
	z_stream *s = z->z;
	uint8_t *out = p;
	while (n) {
		if (z->ended) {
			z->bad = true;
			return -1;
		}
		if (s->avail_in == 0 && z->left) {
			size_t want = z->left < RIO_CHUNK ? (size_t)z->left : RIO_CHUNK;
			ssize_t k = read(z->fd, z->buf, want);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				z->bad = true;
				return -1;
			}
			z->left -= (uint64_t)k;
			s->next_in = z->buf;
			s->avail_in = (uInt)k;
		}
		uInt part = n > (1u << 30) ? (1u << 30) : (uInt)n;
		s->next_out = out;
		s->avail_out = part;
		int rc = inflate(s, Z_NO_FLUSH);
		size_t got = part - s->avail_out;
		out += got;
		n -= got;
		if (rc == Z_STREAM_END) {
			z->ended = true;
			continue;
		}
		if (rc != Z_OK && !(rc == Z_BUF_ERROR && got == 0 && (s->avail_in || z->left))) {
			z->bad = true;
			return -1;
		}
		if (rc == Z_BUF_ERROR && s->avail_in == 0 && !z->left) {
			z->bad = true;           /* input exhausted before the stream ended */
			return -1;
		}
	}
	return 0;
}

int rio_zin_at_end(struct rio_zin *z)
{
	if (z->bad)
		return 0;
	if (!z->ended) {
		uint8_t extra;
		z_stream *s = z->z;
		/* Drive the stream to its end: it must end without another byte of output. */
		for (;;) {
			if (s->avail_in == 0 && z->left) {
				size_t want = z->left < RIO_CHUNK ? (size_t)z->left : RIO_CHUNK;
				ssize_t k = read(z->fd, z->buf, want);
				if (k <= 0)
					return 0;
				z->left -= (uint64_t)k;
				s->next_in = z->buf;
				s->avail_in = (uInt)k;
			}
			s->next_out = &extra;
			s->avail_out = 1;
			int rc = inflate(s, Z_NO_FLUSH);
			if (s->avail_out == 0)
				return 0;
			if (rc == Z_STREAM_END) {
				z->ended = true;
				break;
			}
			if (rc != Z_OK)
				return 0;
			if (s->avail_in == 0 && !z->left)
				return 0;
		}
	}
	return ((z_stream *)z->z)->avail_in == 0 && z->left == 0;
}

void rio_zin_end(struct rio_zin *z)
{
	if (z->z)
		inflateEnd(z->z);
	free(z->z);
	free(z->buf);
	z->z = NULL;
	z->buf = NULL;
}

void rio_put_u16(uint8_t *p, uint16_t v)
{
	wr_be16(p, v);
}

void rio_put_u64(uint8_t *p, uint64_t v)
{
	wr_be32(p, (uint32_t)(v >> 32));
	wr_be32(p + 4, (uint32_t)v);
}

uint64_t rio_get_u64(const uint8_t *p)
{
	return rd_be64(p);
}
