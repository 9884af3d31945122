/*
 * atomic.h — write a new file so that readers see either no file or the
 * whole of it, never a torn one, even across a crash.
 *
 *   atomic_prepare   picks a temporary name beside the target (same folder,
 *                    so the final rename cannot cross file systems) and
 *                    refuses an existing target unless `replace`;
 *   (writer)         creates a.tmp with O_EXCL — either itself (a path-based
 *                    writer such as materialize_state) or via atomic_open —
 *                    and fills it;
 *   atomic_commit    fsyncs the temporary file, renames it over the target
 *                    (without replacing anything unless `replace`; a target
 *                    that appeared meanwhile is not clobbered), and fsyncs
 *                    the folder so that the new name itself is durable;
 *   atomic_abort     removes the temporary file after a failure.
 */
#ifndef WALDO_ATOMIC_H
#define WALDO_ATOMIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ATOMIC_PATH_MAX 4096

enum {
	ATOMIC_OK = 0,
	ATOMIC_ERR = -1,      /* I/O or argument error, message in err */
	ATOMIC_EXISTS = -2,   /* the target exists and replace is false */
};

struct atomic_out {
	char path[ATOMIC_PATH_MAX];   /* the target, as given */
	char dir[ATOMIC_PATH_MAX];    /* its folder */
	char tmp[ATOMIC_PATH_MAX];    /* temporary file in that folder */
	bool replace;
	int fd;                       /* from atomic_open, else -1 */
};

/*
 * Prepare to write `path`.  Fails with ATOMIC_EXISTS when it exists and
 * replace is false, and with ATOMIC_ERR when it exists but is not a regular
 * file (even with replace) or its folder is not usable.
 */
int atomic_prepare(struct atomic_out *a, const char *path, bool replace, char *err, size_t errlen);
/* Create a.tmp (O_EXCL, mode 0644 less umask) and return its descriptor, or -1. */
int atomic_open(struct atomic_out *a, char *err, size_t errlen);
/* Publish a.tmp as a.path; the descriptor from atomic_open is closed. */
int atomic_commit(struct atomic_out *a, char *err, size_t errlen);
/* Close and remove a.tmp if it exists. */
void atomic_abort(struct atomic_out *a);

/*
 * Is `path` the same file as `other` (same device and inode), or would it
 * be, once created, one of `other`'s SQLite siblings (-wal, -shm,
 * -journal)?  Used to refuse writing over an input.
 */
bool atomic_same_file(const char *path, const char *other);

/*
 * Write all n bytes of buf to fd: at offset off with pwrite, or at the file
 * position when off is ATOMIC_APPEND.  A short write continues where it
 * stopped (POSIX allows one on a full disk or a signal; the next call then
 * reports the cause), EINTR is retried, a call that writes nothing is EIO.
 * Returns 0, or -1 with errno set.
 */
#define ATOMIC_APPEND UINT64_MAX
int atomic_write_all(int fd, const void *buf, size_t n, uint64_t off);

#endif
