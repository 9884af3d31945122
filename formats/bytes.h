/*
 * bytes.h — bounds-checked readers for untrusted on-disk bytes.
 *
 * Every field waldo decodes is read through one of these helpers at an
 * explicit offset; no struct is ever laid over file bytes.  The fixed-width
 * readers assume the caller has already checked that the bytes exist (they
 * take a pointer, not a length); the cursor and the varint reader carry a
 * length and never read past it.
 */
#ifndef WALDO_BYTES_H
#define WALDO_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint16_t rd_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint16_t rd_le16(const uint8_t *p) { return (uint16_t)((p[1] << 8) | p[0]); }
static inline uint32_t rd_be24(const uint8_t *p)
{
	return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}
static inline uint32_t rd_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint32_t rd_le32(const uint8_t *p)
{
	return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}
static inline uint64_t rd_be64(const uint8_t *p)
{
	return ((uint64_t)rd_be32(p) << 32) | rd_be32(p + 4);
}
/* Read a u32 in the given byte order (big != 0: big-endian). */
static inline uint32_t rd_u32(const uint8_t *p, int big) { return big ? rd_be32(p) : rd_le32(p); }
static inline uint16_t rd_u16(const uint8_t *p, int big) { return big ? rd_be16(p) : rd_le16(p); }

static inline void wr_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wr_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void wr_le32(uint8_t *p, uint32_t v)
{
	p[3] = (uint8_t)(v >> 24); p[2] = (uint8_t)(v >> 16); p[1] = (uint8_t)(v >> 8); p[0] = (uint8_t)v;
}
static inline void wr_u32(uint8_t *p, uint32_t v, int big) { if (big) wr_be32(p, v); else wr_le32(p, v); }

/* 1 when this host is big-endian.  A constant, not a global. */
static inline int host_is_be(void)
{
	const uint16_t one = 1;
	return *(const uint8_t *)&one == 0;
}

static inline bool is_pow2_u32(uint32_t v) { return v && !(v & (v - 1)); }

/*
 * SQLite varint: 1..9 bytes, big-endian groups of 7 bits, the 9th byte
 * contributes all 8 bits.  Returns the number of bytes consumed, or 0 when
 * the varint runs past `avail` (nothing is read past p[avail-1]).
 */
static inline size_t varint_get(const uint8_t *p, size_t avail, uint64_t *out)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 8; i++) {
		if (i >= avail)
			return 0;
		v = (v << 7) | (p[i] & 0x7f);
		if (!(p[i] & 0x80)) {
			*out = v;
			return i + 1;
		}
	}
	if (avail < 9)
		return 0;
	*out = (v << 8) | p[8];
	return 9;
}

/* Encode v as an SQLite varint into p (at least 9 bytes); returns its length. */
static inline size_t varint_put(uint8_t *p, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	if (v & ((uint64_t)0xff000000 << 32)) {
		p[8] = (uint8_t)v;
		v >>= 8;
		for (int i = 7; i >= 0; i--) {
			p[i] = (uint8_t)((v & 0x7f) | 0x80);
			v >>= 7;
		}
		return 9;
	}
	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | 0x80);
		v >>= 7;
	} while (v);
	tmp[0] &= 0x7f;
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/*
 * A read cursor over an untrusted buffer.  Reads past the end return zero
 * and set the sticky `short_read` flag, so a decoder can read a whole
 * structure and check once at the end.
 */
struct cursor {
	const uint8_t *p;
	size_t n;
	size_t off;
	bool short_read;
};

static inline struct cursor cursor_make(const uint8_t *p, size_t n)
{
	struct cursor c = { p, n, 0, false };
	return c;
}
static inline bool cursor_has(struct cursor *c, size_t k)
{
	if (c->off > c->n || c->n - c->off < k) {
		c->short_read = true;
		return false;
	}
	return true;
}
static inline uint8_t cursor_u8(struct cursor *c)
{
	if (!cursor_has(c, 1))
		return 0;
	return c->p[c->off++];
}
static inline uint16_t cursor_be16(struct cursor *c)
{
	if (!cursor_has(c, 2))
		return 0;
	uint16_t v = rd_be16(c->p + c->off);
	c->off += 2;
	return v;
}
static inline uint32_t cursor_be32(struct cursor *c)
{
	if (!cursor_has(c, 4))
		return 0;
	uint32_t v = rd_be32(c->p + c->off);
	c->off += 4;
	return v;
}
static inline uint64_t cursor_varint(struct cursor *c)
{
	uint64_t v = 0;
	size_t k = c->off <= c->n ? varint_get(c->p + c->off, c->n - c->off, &v) : 0;
	if (!k) {
		c->short_read = true;
		c->off = c->n;
		return 0;
	}
	c->off += k;
	return v;
}

#endif
