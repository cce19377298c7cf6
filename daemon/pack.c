/*
 * pack.c: the packed blobs the database keeps (see schema/001-initial.sql).
 *
 * A packed table maps series ids, in ascending order, to a fixed number of
 * integer fields:
 *
 *   'P' 2 nfields signed_mask xform varint(n) varint(nblocks)
 *   nblocks x { varint(first series of the block - previous block's first),
 *               varint(byte offset of the block - previous block's offset) }
 *   n x { varint(series - previous series, or the series itself at the first
 *               entry of a block), u8 bitmap of the non-zero stored fields,
 *               those fields as varints (zigzag when signed) }
 *
 * Size matters here (a month of one-minute snapshots of 20,000 stacks), so
 * zero fields take no byte, and fields that are usually implied by others
 * are stored as the difference from what they imply (xform): in delta
 * tables d_blocks as d_blocks - d_pages and freed as freed - (allocated -
 * d_pages), both zero for order-0 allocations with identities; in
 * checkpoints blocks as pages - blocks.  Version 1 blobs (every field, no
 * bitmap, no xform) are still read.
 *
 * Blocks hold PACK_BLOCK entries, so one series is found with a short scan
 * of the index and of one block.  Readers check every length: a corrupt
 * blob is -EBADMSG, never a crash.
 *
 * The detail blob is a string table and rows:
 *   'D' 1 varint(nstrings) nstrings x { varint(len) bytes }
 *   varint(nrows) nrows x { stack comm memcg order gfp pages blocks ts_min }
 */
#include <errno.h>
#include <string.h>

#include "page-ownerd.h"

#define PACK_MAGIC	'P'
#define DETAIL_MAGIC	'D'
#define PACK_VERSION	2
#define DETAIL_VERSION	1
#define PACK_BLOCK	64

/* How stored fields relate to the caller's (see the comment above). */
enum {
	XFORM_NONE = 0,
	XFORM_DELTA = 1,	/* f1 -= f0; f3 -= f2 - f0 */
	XFORM_CHECKPOINT = 2,	/* f1 = f0 - f1 */
};

/* ---- varints ------------------------------------------------------------ */

static void
grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 256;
	while (c < need)
		c *= 2;
	*buf = po_xrealloc(*buf, c, 1);
	*cap = c;
}

static void
put_varint(uint8_t **buf, size_t *len, size_t *cap, uint64_t v)
{
	grow(buf, cap, *len + 10);
	while (v >= 0x80) {
		(*buf)[(*len)++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	(*buf)[(*len)++] = (uint8_t)v;
}

static inline uint64_t
zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

static inline int64_t
unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline bool
get_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned shift = 0;

	/* most values are small: one byte */
	if (*p < end && **p < 0x80) {
		*ret = *(*p)++;
		return true;
	}
	while (*p < end) {
		uint8_t b = *(*p)++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*ret = v;
			return true;
		}
		shift += 7;
		if (shift > 63)
			return false;
	}
	return false;
}

/* ---- packed tables -------------------------------------------------------- */

/* a - b and a + b, wrapping: a damaged blob's fields may be anything */
static inline int64_t
wrap_sub(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a - (uint64_t)b);
}

static inline int64_t
wrap_add(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

static unsigned
xform_for(unsigned nfields)
{
	if (nfields == CH__N || nfields == BK__N)
		return XFORM_DELTA;
	if (nfields == CP__N)
		return XFORM_CHECKPOINT;
	return XFORM_NONE;
}

/* Caller's fields -> stored fields. */
static void
xform_store(unsigned xform, const int64_t *in, int64_t *out, unsigned n)
{
	memcpy(out, in, n * sizeof(*out));
	if (xform == XFORM_DELTA && n >= 4) {
		out[1] = wrap_sub(in[1], in[0]);
		out[3] = wrap_sub(in[3], wrap_sub(in[2], in[0]));
	} else if (xform == XFORM_CHECKPOINT && n >= 2) {
		out[1] = wrap_sub(in[0], in[1]);
	}
}

/* Stored fields -> caller's fields. */
static void
xform_load(unsigned xform, int64_t *f, unsigned n)
{
	if (xform == XFORM_DELTA && n >= 4) {
		f[1] = wrap_add(f[1], f[0]);
		f[3] = wrap_add(f[3], wrap_sub(f[2], f[0]));
	} else if (xform == XFORM_CHECKPOINT && n >= 2) {
		f[1] = wrap_sub(f[0], f[1]);
	}
}

void
pack_writer_init(struct pack_writer *w, unsigned nfields, unsigned smask)
{
	memset(w, 0, sizeof(*w));
	w->nfields = nfields;
	w->xform = xform_for(nfields);
	/* transformed fields may go negative: store them zigzag */
	w->smask = smask | (w->xform == XFORM_DELTA ? 0xfu : 0u) |
	    (w->xform == XFORM_CHECKPOINT ? 0x2u : 0u);
}

void
pack_writer_free(struct pack_writer *w)
{
	free(w->buf);
	free(w->idx);
	memset(w, 0, sizeof(*w));
}

/* Series must come in ascending order. */
void
pack_add(struct pack_writer *w, uint32_t series, const int64_t *fields)
{
	int64_t f[PACK_MAX_FIELDS];
	uint8_t bitmap = 0;

	xform_store(w->xform, fields, f, w->nfields);
	for (unsigned i = 0; i < w->nfields; i++)
		if (f[i] != 0)
			bitmap |= (uint8_t)(1u << i);
	if (w->n % PACK_BLOCK == 0) {
		put_varint(&w->idx, &w->idx_len, &w->idx_cap, series - w->block_first);
		put_varint(&w->idx, &w->idx_len, &w->idx_cap, w->len - w->block_off);
		w->block_first = series;
		w->block_off = w->len;
		put_varint(&w->buf, &w->len, &w->cap, series);
	} else {
		put_varint(&w->buf, &w->len, &w->cap, series - w->last);
	}
	grow(&w->buf, &w->cap, w->len + 1);
	w->buf[w->len++] = bitmap;
	for (unsigned i = 0; i < w->nfields; i++) {
		uint64_t v;

		if (!(bitmap & (1u << i)))
			continue;
		v = (w->smask & (1u << i)) ? zigzag(f[i]) : (uint64_t)f[i];
		put_varint(&w->buf, &w->len, &w->cap, v);
	}
	w->last = series;
	w->n++;
}

/* Hand the finished blob over (malloc'd) and reset the writer. */
void
pack_finish(struct pack_writer *w, uint8_t **ret, size_t *ret_len)
{
	uint8_t *out = NULL;
	size_t len = 0, cap = 0;

	grow(&out, &cap, 5 + 20 + w->idx_len + w->len);
	out[len++] = PACK_MAGIC;
	out[len++] = PACK_VERSION;
	out[len++] = (uint8_t)w->nfields;
	out[len++] = (uint8_t)w->smask;
	out[len++] = (uint8_t)w->xform;
	put_varint(&out, &len, &cap, w->n);
	put_varint(&out, &len, &cap, (w->n + PACK_BLOCK - 1) / PACK_BLOCK);
	grow(&out, &cap, len + w->idx_len + w->len);
	if (w->idx_len)
		memcpy(out + len, w->idx, w->idx_len);
	len += w->idx_len;
	if (w->len)
		memcpy(out + len, w->buf, w->len);
	len += w->len;
	*ret = out;
	*ret_len = len;
	unsigned nf = w->nfields, sm = w->smask;
	pack_writer_free(w);
	pack_writer_init(w, nf, sm);
}

int
pack_reader_init(struct pack_reader *r, const void *blob, size_t len,
    unsigned want_nfields)
{
	const uint8_t *p, *end;
	uint64_t n, nblocks, v;

	memset(r, 0, sizeof(*r));
	if (blob == NULL)
		return -EBADMSG;
	p = blob;
	end = p + len;
	if (len < 6 || p[0] != PACK_MAGIC || (p[1] != 1 && p[1] != PACK_VERSION) ||
	    p[2] != want_nfields || p[2] > PACK_MAX_FIELDS)
		return -EBADMSG;
	r->version = p[1];
	r->nfields = p[2];
	r->smask = p[3];
	p += 4;
	if (r->version >= 2) {
		r->xform = *p++;
		if (r->xform > XFORM_CHECKPOINT)
			return -EBADMSG;
	}
	if (!get_varint(&p, end, &n) || !get_varint(&p, end, &nblocks) ||
	    n > UINT32_MAX || nblocks != (n + PACK_BLOCK - 1) / PACK_BLOCK)
		return -EBADMSG;
	r->idx = p;
	for (uint64_t i = 0; i < nblocks * 2; i++)
		if (!get_varint(&p, end, &v))
			return -EBADMSG;
	r->idx_end = p;
	r->entries = r->p = p;
	r->end = end;
	r->n = r->left = (uint32_t)n;
	r->nblocks = (uint32_t)nblocks;
	return 0;
}

/* 1 with an entry, 0 at the end, -EBADMSG on a corrupt blob. */
int
pack_next(struct pack_reader *r, uint32_t *ret_series, int64_t *fields)
{
	uint64_t d, v;

	if (r->left == 0)
		return 0;
	if (!get_varint(&r->p, r->end, &d))
		return -EBADMSG;
	if (r->in_block == 0) {
		if (d > UINT32_MAX)
			return -EBADMSG;
		r->series = (uint32_t)d;
	} else {
		if (d == 0 || d > UINT32_MAX - r->series)
			return -EBADMSG;
		r->series += (uint32_t)d;
	}
	if (r->version >= 2) {
		uint8_t bitmap;

		if (r->p >= r->end)
			return -EBADMSG;
		bitmap = *r->p++;
		if (bitmap >> r->nfields)
			return -EBADMSG;
		for (unsigned i = 0; i < r->nfields; i++) {
			fields[i] = 0;
			if (!(bitmap & (1u << i)))
				continue;
			if (!get_varint(&r->p, r->end, &v))
				return -EBADMSG;
			fields[i] = (r->smask & (1u << i)) ? unzigzag(v) : (int64_t)v;
		}
		xform_load(r->xform, fields, r->nfields);
	} else {
		for (unsigned i = 0; i < r->nfields; i++) {
			if (!get_varint(&r->p, r->end, &v))
				return -EBADMSG;
			fields[i] = (r->smask & (1u << i)) ? unzigzag(v) : (int64_t)v;
		}
	}
	r->in_block = (r->in_block + 1) % PACK_BLOCK;
	r->left--;
	*ret_series = r->series;
	return 1;
}

/*
 * Add every entry into dst[series * 6 + field] (delta tables: d_pages,
 * d_blocks, allocated, freed, grew, shrank; a 4-field table counts grew
 * and shrank from d_pages).  The queries' hot loop: one pass, no call per
 * entry.  Entries past max_series are skipped.  0, or -EBADMSG.
 */
int
pack_sum(struct pack_reader *r, int64_t *dst, uint32_t max_series)
{
	const uint8_t *p = r->p, *end = r->end;
	unsigned nf = r->nfields, smask = r->smask, xform = r->xform;
	uint32_t series = r->series, in_block = r->in_block;

	if (nf != CH__N && nf != BK__N)
		return -EBADMSG;
	for (uint32_t left = r->left; left > 0; left--) {
		int64_t f[BK__N] = { 0, 0, 0, 0, 0, 0 }, *a;
		uint64_t d, v;
		unsigned bitmap;

		if (!get_varint(&p, end, &d))
			return -EBADMSG;
		if (in_block == 0) {
			if (d > UINT32_MAX)
				return -EBADMSG;
			series = (uint32_t)d;
		} else {
			if (d == 0 || d > UINT32_MAX - series)
				return -EBADMSG;
			series += (uint32_t)d;
		}
		if (++in_block == PACK_BLOCK)
			in_block = 0;
		if (r->version >= 2) {
			if (p >= end)
				return -EBADMSG;
			bitmap = *p++;
			if (bitmap >> nf)
				return -EBADMSG;
		} else {
			bitmap = (1u << nf) - 1;
		}
		for (unsigned i = 0; bitmap != 0; i++, bitmap >>= 1) {
			if (!(bitmap & 1))
				continue;
			if (!get_varint(&p, end, &v))
				return -EBADMSG;
			f[i] = (smask & (1u << i)) ? unzigzag(v) : (int64_t)v;
		}
		if (r->version >= 2)
			xform_load(xform, f, nf);
		if (series > max_series)
			continue;
		a = dst + (size_t)series * BK__N;
		a[0] = wrap_add(a[0], f[0]);
		a[1] = wrap_add(a[1], f[1]);
		a[2] = wrap_add(a[2], f[2]);
		a[3] = wrap_add(a[3], f[3]);
		if (nf == BK__N) {
			a[4] = wrap_add(a[4], f[4]);
			a[5] = wrap_add(a[5], f[5]);
		} else {
			a[4] += f[0] > 0;
			a[5] += f[0] < 0;
		}
	}
	r->left = 0;
	r->p = p;
	return 0;
}

/* Decode the sparse index once: the first series and offset of each block. */
static int
index_decode(struct pack_reader *r)
{
	const uint8_t *ip = r->idx;
	uint64_t first = 0, off = 0, df, doff;

	/* a damaged index fails every call: each one decodes it afresh */
	pack_reader_free(r);
	r->ix_first = po_xcalloc(r->nblocks + 1, sizeof(*r->ix_first));
	r->ix_off = po_xcalloc(r->nblocks + 1, sizeof(*r->ix_off));
	for (uint32_t b = 0; b < r->nblocks; b++) {
		if (!get_varint(&ip, r->idx_end, &df) || !get_varint(&ip, r->idx_end, &doff))
			return -EBADMSG;
		first += df;
		off += doff;
		if (first > UINT32_MAX || off > (uint64_t)(r->end - r->entries))
			return -EBADMSG;
		r->ix_first[b] = (uint32_t)first;
		r->ix_off[b] = off;
	}
	r->ix_ready = true;
	return 0;
}

/*
 * Find one series: 1 found (fields set), 0 absent, -EBADMSG corrupt.  The
 * index is decoded on the first call (pack_reader_free releases it), then
 * each call is a binary search and a scan of one block.
 */
int
pack_find(struct pack_reader *r, uint32_t series, int64_t *fields)
{
	int64_t tmp[PACK_MAX_FIELDS];
	uint32_t lo = 0, hi, s;
	int ret;

	if (!r->ix_ready && index_decode(r) < 0)
		return -EBADMSG;
	if (r->nblocks == 0 || r->ix_first[0] > series)
		return 0;
	/* the last block whose first series <= series */
	hi = r->nblocks - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;

		if (r->ix_first[mid] <= series)
			lo = mid;
		else
			hi = mid - 1;
	}
	r->p = r->entries + r->ix_off[lo];
	r->in_block = 0;
	r->left = r->n - lo * PACK_BLOCK;
	for (unsigned i = 0; i < PACK_BLOCK; i++) {
		ret = pack_next(r, &s, tmp);
		if (ret <= 0)
			return ret;
		if (s == series) {
			memcpy(fields, tmp, r->nfields * sizeof(*fields));
			return 1;
		}
		if (s > series)
			return 0;
	}
	return 0;
}

void
pack_reader_free(struct pack_reader *r)
{
	free(r->ix_first);
	free(r->ix_off);
	r->ix_first = NULL;
	r->ix_off = NULL;
	r->ix_ready = false;
}

/* ---- detail ------------------------------------------------------------------ */

struct detail_writer {
	struct po_strtab *strings;	/* comm and memcg names */
	uint8_t		*rows;		/* packed rows */
	size_t		 len, cap;
	uint64_t	 n;
};

struct detail_writer *
detail_writer_new(void)
{
	struct detail_writer *w = po_xcalloc(1, sizeof(*w));

	po_strtab_new(&w->strings);
	return w;
}

void
detail_writer_free(struct detail_writer *w)
{
	if (w == NULL)
		return;
	po_strtab_free(w->strings);
	free(w->rows);
	free(w);
}

void
detail_add(struct detail_writer *w, const struct detail_row *row)
{
	uint64_t v[8] = {
		row->stack,
		po_strtab_intern(w->strings, row->comm, strlen(row->comm)),
		po_strtab_intern(w->strings, row->memcg, strlen(row->memcg)),
		row->order, row->gfp, row->pages, row->blocks, row->ts_min,
	};

	for (size_t i = 0; i < PO_ARRAY_SIZE(v); i++)
		put_varint(&w->rows, &w->len, &w->cap, v[i]);
	w->n++;
}

void
detail_finish(struct detail_writer *w, uint8_t **ret, size_t *ret_len)
{
	uint8_t *out = NULL;
	size_t len = 0, cap = 0;
	uint32_t ns = po_strtab_count(w->strings);

	grow(&out, &cap, 2);
	out[len++] = DETAIL_MAGIC;
	out[len++] = DETAIL_VERSION;
	put_varint(&out, &len, &cap, ns);
	for (uint32_t i = 0; i < ns; i++) {
		size_t n;
		const char *s = po_strtab_get(w->strings, i, &n);

		put_varint(&out, &len, &cap, n);
		grow(&out, &cap, len + n);
		memcpy(out + len, s, n);
		len += n;
	}
	put_varint(&out, &len, &cap, w->n);
	grow(&out, &cap, len + w->len);
	if (w->len)
		memcpy(out + len, w->rows, w->len);
	len += w->len;
	*ret = out;
	*ret_len = len;
}

int
detail_each(const void *blob, size_t len,
    int (*fn)(const struct detail_row *row, void *userdata), void *userdata)
{
	const uint8_t *p, *end;
	uint64_t ns, nrows;
	char **strs = NULL;
	int ret = -EBADMSG;

	if (blob == NULL)
		return -EBADMSG;
	p = blob;
	end = p + len;
	if (len < 2 || p[0] != DETAIL_MAGIC || p[1] != DETAIL_VERSION)
		return -EBADMSG;
	p += 2;
	if (!get_varint(&p, end, &ns) || ns > len)
		return -EBADMSG;
	strs = po_xcalloc(ns + 1, sizeof(*strs));
	for (uint64_t i = 0; i < ns; i++) {
		uint64_t n;

		if (!get_varint(&p, end, &n) || n > (uint64_t)(end - p))
			goto out;
		strs[i] = po_xstrndup((const char *)p, n);
		p += n;
	}
	if (!get_varint(&p, end, &nrows))
		goto out;
	for (uint64_t i = 0; i < nrows; i++) {
		uint64_t v[8];
		struct detail_row row;
		int r;

		for (size_t k = 0; k < PO_ARRAY_SIZE(v); k++)
			if (!get_varint(&p, end, &v[k]))
				goto out;
		if (v[0] > UINT32_MAX || v[1] >= ns || v[2] >= ns || v[3] > 64)
			goto out;
		row.stack = (uint32_t)v[0];
		row.comm = strs[v[1]];
		row.memcg = strs[v[2]];
		row.order = (uint32_t)v[3];
		row.gfp = v[4];
		row.pages = v[5];
		row.blocks = v[6];
		row.ts_min = v[7];
		r = fn(&row, userdata);
		if (r != 0) {
			ret = r;
			goto out;
		}
	}
	ret = 0;
out:
	for (uint64_t i = 0; i < ns; i++)
		free(strs[i]);
	free(strs);
	return ret;
}
