/*
 * ident.c: block identities, written and merged in PFN order.
 *
 * The kernel prints page_owner in ascending PFN order, so the blocks that
 * appeared and disappeared between two dumps fall out of one sequential
 * merge: memory does not grow with the dump, only the file does.
 */
#include <errno.h>
#include <string.h>

#include "po.h"

struct ident_disk {
	uint64_t	pfn_order;	/* pfn << 8 | order */
	uint32_t	hash;
	uint32_t	ref;
};

int
po_ident_write(FILE *f, const struct po_ident *e)
{
	struct ident_disk d = {
		.pfn_order = (e->pfn << 8) | e->order,
		.hash = e->hash,
		.ref = e->ref,
	};

	if (fwrite(&d, sizeof(d), 1, f) != 1)
		return errno ? -errno : -EIO;
	return 0;
}

/* 1 when an identity was read, 0 at the end, -errno on a bad file. */
int
po_ident_read(FILE *f, struct po_ident *ret)
{
	struct ident_disk d;
	size_t n = fread(&d, 1, sizeof(d), f);

	if (n == 0)
		return ferror(f) ? -EIO : 0;
	if (n != sizeof(d))
		return -EBADMSG;
	ret->pfn = d.pfn_order >> 8;
	ret->order = (uint8_t)(d.pfn_order & 0xff);
	ret->hash = d.hash;
	ret->ref = d.ref;
	return 1;
}

static void
merge_advance(struct po_ident_merge *m)
{
	int r;

	if (m->prev == NULL) {
		m->have = false;
		return;
	}
	r = po_ident_read(m->prev, &m->cur);
	if (r < 0)
		m->error = r;
	m->have = r > 0;
	if (m->have) {
		if (m->cur.pfn < m->last_old_pfn)
			m->unsorted = true;
		m->last_old_pfn = m->cur.pfn;
	}
}

void
po_ident_merge_init(struct po_ident_merge *m, FILE *prev, po_ident_fn freed,
    po_ident_fn allocated, void *userdata)
{
	memset(m, 0, sizeof(*m));
	m->prev = prev;
	m->freed = freed;
	m->allocated = allocated;
	m->userdata = userdata;
	merge_advance(m);
}

void
po_ident_merge_add(struct po_ident_merge *m, const struct po_ident *e)
{
	if (e->pfn < m->last_new_pfn)
		m->unsorted = true;
	m->last_new_pfn = e->pfn;

	while (m->have && m->cur.pfn < e->pfn) {
		m->freed(&m->cur, m->userdata);
		merge_advance(m);
	}
	if (m->have && m->cur.pfn == e->pfn) {
		if (m->cur.hash == e->hash && m->cur.order == e->order &&
		    (!m->match_ref || m->cur.ref == e->ref)) {
			m->matched++;
		} else {
			m->freed(&m->cur, m->userdata);
			m->allocated(e, m->userdata);
		}
		merge_advance(m);
		return;
	}
	m->allocated(e, m->userdata);
}

/* Drain the old side; -EBADMSG/-EIO if its file was bad. */
int
po_ident_merge_finish(struct po_ident_merge *m)
{
	while (m->have) {
		m->freed(&m->cur, m->userdata);
		merge_advance(m);
	}
	return m->error;
}
