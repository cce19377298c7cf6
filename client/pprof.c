/*
 * pprof.c: a pprof profile (google/pprof's profile.proto) of the pages
 * held per stack, gzipped, as go tool pprof, Grafana Pyroscope and Parca
 * read it.  The message is built from the code protoc-c generates from
 * client/pprof.proto and packed by libprotobuf-c; zlib adds the gzip
 * wrapper the format asks for on disk.
 *
 * Rules it keeps: string_table[0] is "" and every string is stored once;
 * one Function and one Location per distinct frame text, with the same
 * id, all in one Mapping; a sample's locations leaf first; every sample carries the
 * profile-wide labels (pprof_label), and each label is also a comment;
 * drop_frames, when set, names frames a reader hides (pprof_drop_frames).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#define ZLIB_CONST	/* next_in is const */
#include <zlib.h>

#include "pageownerctl.h"
#include "pprof.pb-c.h"

/* The two values of every sample, in this order. */
static const char *const sample_types[][2] = {
	{ "inuse_pages", "count" },
	{ "inuse_space", "bytes" },
};
#define DEFAULT_SAMPLE_TYPE	1	/* inuse_space: what heap viewers show */

/*
 * The one mapping every location is in: the kernel and its modules, whose
 * frames come symbolized (has_functions), so no reader looks for a binary;
 * a bracketed name is what pprof takes for a pseudo-file, like [vdso].
 */
#define MAPPING_FILE		"[kernel.kallsyms]"

struct pprof_sample {
	uint64_t	*loc;		/* location ids, leaf first */
	size_t		 nloc;
	int64_t		 value[2];	/* pages, bytes */
};

struct pprof {
	char		**str;		/* the string table */
	size_t		 nstr, strcap;
	uint32_t	*slot;		/* hash slots: string index + 1, 0 = empty */
	size_t		 nslot;		/* a power of two */
	uint64_t	*func_of;	/* by string index: function id, 0 = none */
	size_t		 func_cap;
	int64_t		*func_name;	/* by function id - 1: its name's index */
	size_t		 nfunc, fcap;
	struct pprof_sample *s;
	size_t		 ns, scap;
	int64_t		 label[8][2];	/* profile-wide labels: key, value */
	size_t		 nlabel;
	int64_t		 comment[8];
	size_t		 ncomment;
	int64_t		 time_nanos;
	int64_t		 drop_frames;	/* index of the regexp, 0 = none */
};

static uint64_t
str_hash(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);	/* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static void
slots_grow(struct pprof *p)
{
	size_t n = p->nslot ? p->nslot * 2 : 1024;
	uint32_t *v = po_xcalloc(n, sizeof(*v));

	for (size_t i = 0; i < p->nstr; i++) {
		size_t k = (size_t)str_hash(p->str[i]) & (n - 1);

		while (v[k] != 0)
			k = (k + 1) & (n - 1);
		v[k] = (uint32_t)i + 1;
	}
	free(p->slot);
	p->slot = v;
	p->nslot = n;
}

/* The string's index in the table, added if new. */
static int64_t
intern(struct pprof *p, const char *s)
{
	size_t k;

	if (2 * (p->nstr + 1) > p->nslot)
		slots_grow(p);
	k = (size_t)str_hash(s) & (p->nslot - 1);
	while (p->slot[k] != 0) {
		if (strcmp(p->str[p->slot[k] - 1], s) == 0)
			return p->slot[k] - 1;
		k = (k + 1) & (p->nslot - 1);
	}
	if (p->nstr == p->strcap) {
		p->strcap = p->strcap ? p->strcap * 2 : 256;
		p->str = po_xrealloc(p->str, p->strcap, sizeof(*p->str));
	}
	p->str[p->nstr] = po_xstrdup(s);
	p->slot[k] = (uint32_t)p->nstr + 1;
	return (int64_t)p->nstr++;
}

struct pprof *
pprof_new(void)
{
	struct pprof *p = po_xcalloc(1, sizeof(*p));

	(void)intern(p, "");		/* string_table[0] */
	for (size_t i = 0; i < PO_ARRAY_SIZE(sample_types); i++) {
		(void)intern(p, sample_types[i][0]);
		(void)intern(p, sample_types[i][1]);
	}
	(void)intern(p, MAPPING_FILE);
	return p;
}

void
pprof_free(struct pprof *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nstr; i++)
		free(p->str[i]);
	for (size_t i = 0; i < p->ns; i++)
		free(p->s[i].loc);
	free(p->str);
	free(p->slot);
	free(p->func_of);
	free(p->func_name);
	free(p->s);
	free(p);
}

void
pprof_set_time(struct pprof *p, int64_t time_nanos)
{
	p->time_nanos = time_nanos;
}

/*
 * Frames readers drop from a sample's leaf end (pprof's drop_frames: a
 * regexp matched against whole function names), as pprof drops malloc's
 * own frames from heap profiles; the profile still holds them.
 */
void
pprof_drop_frames(struct pprof *p, const char *regexp)
{
	p->drop_frames = regexp != NULL && regexp[0] != '\0' ? intern(p, regexp) : 0;
}

/* A label every sample carries, and a "key=value" comment; -E2BIG past 8. */
int
pprof_label(struct pprof *p, const char *key, const char *value)
{
	char *c = NULL;

	if (p->nlabel == PO_ARRAY_SIZE(p->label))
		return -E2BIG;
	p->label[p->nlabel][0] = intern(p, key);
	p->label[p->nlabel][1] = intern(p, value);
	p->nlabel++;
	po_asprintf(&c, "%s=%s", key, value);
	p->comment[p->ncomment++] = intern(p, c);
	free(c);
	return 0;
}

/* A frame's function (and location) id, made on first sight. */
static uint64_t
frame_id(struct pprof *p, const char *frame)
{
	int64_t name = intern(p, frame);

	if ((size_t)name >= p->func_cap) {
		size_t cap = p->func_cap ? p->func_cap : 256;

		while (cap <= (size_t)name)
			cap *= 2;
		p->func_of = po_xrealloc(p->func_of, cap, sizeof(*p->func_of));
		memset(p->func_of + p->func_cap, 0, (cap - p->func_cap) * sizeof(*p->func_of));
		p->func_cap = cap;
	}
	if (p->func_of[name] == 0) {
		if (p->nfunc == p->fcap) {
			p->fcap = p->fcap ? p->fcap * 2 : 256;
			p->func_name = po_xrealloc(p->func_name, p->fcap, sizeof(*p->func_name));
		}
		p->func_name[p->nfunc++] = name;
		p->func_of[name] = p->nfunc;
	}
	return p->func_of[name];
}

/* One stack: frames leaf first (each "sym" or "sym [module]"); -EINVAL if
 * it has no frame or an empty one. */
int
pprof_sample(struct pprof *p, const char *const *frames, size_t nframes,
    int64_t pages, int64_t bytes)
{
	struct pprof_sample *s;

	if (nframes == 0)
		return -EINVAL;
	for (size_t i = 0; i < nframes; i++)
		if (frames[i] == NULL || frames[i][0] == '\0')
			return -EINVAL;
	if (p->ns == p->scap) {
		p->scap = p->scap ? p->scap * 2 : 256;
		p->s = po_xrealloc(p->s, p->scap, sizeof(*p->s));
	}
	s = &p->s[p->ns++];
	s->loc = po_xcalloc(nframes, sizeof(*s->loc));
	s->nloc = nframes;
	for (size_t i = 0; i < nframes; i++)
		s->loc[i] = frame_id(p, frames[i]);
	s->value[0] = pages;
	s->value[1] = bytes;
	return 0;
}

/* gzip of buf: 0, or -errno with *cause. */
static int
gzip_buf(const uint8_t *buf, size_t len, uint8_t **ret, size_t *ret_len, char **cause)
{
	z_stream z;
	uint8_t *out;
	uLong cap;
	int zr;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip header and trailer around the deflate stream */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		po_asprintf(cause, "cannot start gzip: %s", z.msg ? z.msg : "zlib failed");
		return -ENOMEM;
	}
	cap = deflateBound(&z, (uLong)len) + 32;	/* bound for the raw stream */
	out = po_xcalloc(cap, 1);
	z.next_in = buf;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	zr = deflate(&z, Z_FINISH);
	if (zr != Z_STREAM_END) {
		po_asprintf(cause, "gzip failed: %s", z.msg ? z.msg : "output did not fit");
		deflateEnd(&z);
		free(out);
		return -EIO;
	}
	*ret_len = z.total_out;
	deflateEnd(&z);
	*ret = out;
	return 0;
}

/* The profile, packed and gzipped: 0, or -errno with *cause. */
int
pprof_write(struct pprof *p, uint8_t **ret, size_t *ret_len, char **cause)
{
	Perftools__Profiles__Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__Mapping map = PERFTOOLS__PROFILES__MAPPING__INIT, *mapp = &map;
	Perftools__Profiles__ValueType vt[PO_ARRAY_SIZE(sample_types)], *vtp[PO_ARRAY_SIZE(sample_types)];
	Perftools__Profiles__Label lab[PO_ARRAY_SIZE(p->label)], *labp[PO_ARRAY_SIZE(p->label)];
	Perftools__Profiles__Sample *smp = po_xcalloc(p->ns ? p->ns : 1, sizeof(*smp));
	Perftools__Profiles__Sample **smpp = po_xcalloc(p->ns ? p->ns : 1, sizeof(void *));
	Perftools__Profiles__Function *fn = po_xcalloc(p->nfunc ? p->nfunc : 1, sizeof(*fn));
	Perftools__Profiles__Function **fnp = po_xcalloc(p->nfunc ? p->nfunc : 1, sizeof(void *));
	Perftools__Profiles__Location *loc = po_xcalloc(p->nfunc ? p->nfunc : 1, sizeof(*loc));
	Perftools__Profiles__Location **locp = po_xcalloc(p->nfunc ? p->nfunc : 1, sizeof(void *));
	Perftools__Profiles__Line *line = po_xcalloc(p->nfunc ? p->nfunc : 1, sizeof(*line));
	Perftools__Profiles__Line **linep = po_xcalloc(p->nfunc ? p->nfunc : 1, sizeof(void *));
	uint8_t *packed;
	size_t len;
	int r;

	/* the table holds these since pprof_new: it does not move below */
	prof.default_sample_type = intern(p, sample_types[DEFAULT_SAMPLE_TYPE][0]);
	map.id = 1;
	map.filename = intern(p, MAPPING_FILE);
	map.has_functions = true;
	for (size_t i = 0; i < PO_ARRAY_SIZE(sample_types); i++) {
		perftools__profiles__value_type__init(&vt[i]);
		vt[i].type = intern(p, sample_types[i][0]);
		vt[i].unit = intern(p, sample_types[i][1]);
		vtp[i] = &vt[i];
	}
	for (size_t i = 0; i < p->nlabel; i++) {
		perftools__profiles__label__init(&lab[i]);
		lab[i].key = p->label[i][0];
		lab[i].str = p->label[i][1];
		labp[i] = &lab[i];
	}
	for (size_t i = 0; i < p->ns; i++) {
		perftools__profiles__sample__init(&smp[i]);
		smp[i].n_location_id = p->s[i].nloc;
		smp[i].location_id = p->s[i].loc;
		smp[i].n_value = 2;
		smp[i].value = p->s[i].value;
		smp[i].n_label = p->nlabel;
		smp[i].label = p->nlabel ? labp : NULL;
		smpp[i] = &smp[i];
	}
	/* Function i + 1 and Location i + 1: the same frame */
	for (size_t i = 0; i < p->nfunc; i++) {
		perftools__profiles__function__init(&fn[i]);
		fn[i].id = i + 1;
		fn[i].name = p->func_name[i];
		fn[i].system_name = p->func_name[i];
		fnp[i] = &fn[i];
		perftools__profiles__line__init(&line[i]);
		line[i].function_id = i + 1;
		linep[i] = &line[i];
		perftools__profiles__location__init(&loc[i]);
		loc[i].id = i + 1;
		loc[i].mapping_id = map.id;
		loc[i].n_line = 1;
		loc[i].line = &linep[i];
		locp[i] = &loc[i];
	}
	prof.n_sample_type = PO_ARRAY_SIZE(sample_types);
	prof.sample_type = vtp;
	prof.n_sample = p->ns;
	prof.sample = smpp;
	prof.n_mapping = 1;
	prof.mapping = &mapp;
	prof.n_location = p->nfunc;
	prof.location = locp;
	prof.n_function = p->nfunc;
	prof.function = fnp;
	prof.n_string_table = p->nstr;
	prof.string_table = p->str;
	prof.time_nanos = p->time_nanos;
	prof.drop_frames = p->drop_frames;
	prof.n_comment = p->ncomment;
	prof.comment = p->ncomment ? p->comment : NULL;

	len = perftools__profiles__profile__get_packed_size(&prof);
	packed = po_xcalloc(len ? len : 1, 1);
	if (perftools__profiles__profile__pack(&prof, packed) != len) {
		po_asprintf(cause, "the profile did not pack to its own size");
		r = -EIO;
	} else {
		r = gzip_buf(packed, len, ret, ret_len, cause);
	}
	free(packed);
	free(smp);
	free(smpp);
	free(fn);
	free(fnp);
	free(loc);
	free(locp);
	free(line);
	free(linep);
	return r;
}
