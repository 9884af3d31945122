/*
 * det_vfs.c — deterministic randomness for the corpus.
 *
 * Everything random in a case comes from one seed: the rows the workload
 * writes, and the bytes libsqlite3 itself asks for.  SQLite draws its
 * randomness (WAL salts in walFrames/walRestartHdr, rollback-journal
 * nonces, temporary file names) from a ChaCha20 PRNG that it seeds once,
 * through the default VFS's xRandomness.  We register a shim of the "unix"
 * VFS as the default whose xRandomness reads our PRNG, and reset SQLite's
 * PRNG (sqlite3_randomness(0, NULL)) whenever we reseed ours, so the next
 * draw reseeds from us.  xCurrentTime is fixed for the same reason.
 *
 * The shim copies the unix VFS structure and replaces three methods; the
 * unix methods it keeps only use fields that the copy carries over
 * (pAppData, szOsFile, mxPathname).
 */
#include "corpus.h"

#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void prng_seed(struct prng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t prng_next(struct prng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint32_t prng_below(struct prng *r, uint32_t n)
{
	/* The modulo bias is irrelevant here; determinism is what matters. */
	return (uint32_t)(prng_next(r) % n);
}

void prng_bytes(struct prng *r, void *p, size_t n)
{
	uint8_t *o = p;
	while (n) {
		uint64_t v = prng_next(r);
		for (int i = 0; i < 8 && n; i++, n--) {
			*o++ = (uint8_t)v;
			v >>= 8;
		}
	}
}

uint64_t hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* 2024-01-01 00:00:00 UTC as a Julian day number. */
#define DET_JULIAN_DAY 2460310.5

static sqlite3_vfs det_vfs;
static struct prng vfs_rng;

static int det_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	if (n > 0)
		prng_bytes(&vfs_rng, out, (size_t)n);
	return n;
}

static int det_current_time(sqlite3_vfs *vfs, double *t)
{
	(void)vfs;
	*t = DET_JULIAN_DAY;
	return SQLITE_OK;
}

static int det_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *t)
{
	(void)vfs;
	*t = (sqlite3_int64)(DET_JULIAN_DAY * 86400000.0);
	return SQLITE_OK;
}

void det_vfs_install(void)
{
	if (sqlite3_initialize() != SQLITE_OK)
		die("sqlite3_initialize failed");
	sqlite3_vfs *base = sqlite3_vfs_find("unix");
	if (!base)
		die("libsqlite3 has no \"unix\" VFS");
	det_vfs = *base;
	det_vfs.pNext = NULL;
	det_vfs.zName = "waldo-det";
	det_vfs.xRandomness = det_randomness;
	det_vfs.xCurrentTime = det_current_time;
	if (det_vfs.iVersion >= 2)
		det_vfs.xCurrentTimeInt64 = det_current_time64;
	if (sqlite3_vfs_register(&det_vfs, 1) != SQLITE_OK)
		die("cannot register the deterministic VFS");
	det_vfs_reseed(0);
}

void det_vfs_reseed(uint64_t seed)
{
	prng_seed(&vfs_rng, seed ^ 0x5a17ed5a17ull);
	/* N == 0 resets SQLite's PRNG: its next draw reseeds from xRandomness. */
	sqlite3_randomness(0, NULL);
}
