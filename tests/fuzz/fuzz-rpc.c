/*
 * fuzz-rpc.c: libFuzzer target for the JSON-RPC request handler, through
 * the daemon's own code from the line to the reply: methods_handle_line()
 * -> rpc_parse() -> methods_dispatch() -> the method-*.c handlers, with
 * the real history (history.c), scheduler (sched.c) and collector thread
 * (collect.c, engine.c) behind them.  Only the transport is the test's:
 * an rpc_peer whose writes are recorded instead of sent to a socket.
 *
 * At start the scheduler itself takes six snapshots of generated
 * page_owner dumps (six stacks, a leak, growth, frees, a reboot) into a
 * temporary database.  A request naming `snapshot` runs a real one, with
 * the dump present and absent in turn, so that both a reply and a source
 * error come back; pin and prune run on the collector as in the daemon.
 *
 * Each input is cut into lines as server.c cuts them (LF, trailing CR and
 * spaces dropped, empty lines ignored, lines over PO_MAX_REQUEST left to
 * the server); each line is one request from a new peer, root or not by
 * the input's length; the event loop runs until every job it queued has
 * answered.  Oracles, each an abort():
 *  - every message is valid JSON-RPC 2.0: "jsonrpc":"2.0", an id, exactly
 *    one of result (an object) and error ({code, message}, a code from
 *    lib/proto.h, not -32603 internal and not -32004 storage: the store is
 *    healthy here, so those mean a bug);
 *  - a request with a valid id gets exactly one message, carrying that id;
 *    a notification gets none, or one error with a null id (it was not a
 *    valid request); a line that is not a JSON object, or whose id is of
 *    the wrong type, gets one error with a null id;
 *  - every reference a pending reply took on the peer is given back.
 */
// fuzz-sources: lib/*.c daemon/*.c
// fuzz-exclude: daemon/main.c
// fuzz-gen: migrations
// fuzz-pkgs: libxxhash jansson sqlite3 libsystemd libevent libevent_pthreads
// fuzz-seeds: tests/fuzz/seeds/rpc
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "../../daemon/page-ownerd.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do {							\
		if (!(x)) {						\
			fprintf(stderr, "fuzz-rpc: %s:%d: %s\n",	\
			    __FILE__, __LINE__, #x);			\
			abort();					\
		}							\
	} while (0)

static struct config cfg;
static struct event_base *base;
static struct history *hist;
static struct sched *sched;
static struct method_ctx ctx;
static char tmpdir[256], src_on[300], src_off[300];
static uint64_t turn;
static bool verbose;

/* ---- the transport: a peer that records what it is sent ------------------ */

struct peer {
	struct rpc_peer	 peer;		/* first */
	json_t		*sent;		/* strings */
	int		 refs;
	bool		 closed, subscribed;
};

static void
peer_write(struct rpc_peer *p, const char *line, size_t n)
{
	struct peer *c = (struct peer *)p;

	/* one compact line, the server adds the newline */
	CHECK(n > 0 && memchr(line, '\n', n) == NULL);
	json_array_append_new(c->sent, json_stringn(line, n));
}

static void
peer_close(struct rpc_peer *p, const char *why)
{
	(void)why;
	((struct peer *)p)->closed = true;
}

static void
peer_ref(struct rpc_peer *p)
{
	((struct peer *)p)->refs++;
}

static void
peer_unref(struct rpc_peer *p)
{
	struct peer *c = (struct peer *)p;

	CHECK(c->refs > 1);
	c->refs--;
}

static bool
peer_alive(const struct rpc_peer *p)
{
	return !((const struct peer *)p)->closed;
}

static void
peer_subscribe(struct rpc_peer *p)
{
	((struct peer *)p)->subscribed = true;
}

static const struct rpc_peer_ops peer_ops = {
	peer_write, peer_close, peer_ref, peer_unref, peer_alive, peer_subscribe,
};

/* Run the loop until every queued job has answered its waiter. */
static void
settle(void)
{
	while (!sched_idle(sched))
		CHECK(event_base_loop(base, EVLOOP_ONCE) == 0);
}

/* ---- the history ---------------------------------------------------------- */

static const struct {
	const char	*frames;	/* below the allocator's own frames */
	const char	*comm;
	const char	*memcg;		/* NULL = not charged */
	unsigned	 order;
} stacks[] = {
	{ " leaker_leak_pages+0x48/0x70 [leaker]\n leak_write+0x6b/0xb0 [leaker]\n"
	  " full_proxy_write+0x52/0x80\n vfs_write+0xc6/0x3f0\n", "bash", "leaktest", 0 },
	{ " new_slab+0x364/0x430\n ___slab_alloc+0x75e/0xb90\n"
	  " kmem_cache_alloc_noprof+0x1d2/0x240\n vm_area_alloc+0x1f/0x80\n",
	  "postgres", NULL, 0 },
	{ " filemap_alloc_folio_noprof+0x3b/0x130\n page_cache_ra_unbounded+0x8e/0x1c0\n"
	  " filemap_fault+0x5a1/0xb40\n", "java", "user@1000.service", 2 },
	{ " __alloc_skb+0x11d/0x1b0\n e1000_alloc_rx_buffers+0x9c/0x200 [e1000]\n"
	  " net_rx_action+0x2a4/0x3a0\n", "swapper/0", NULL, 1 },
	{ " dma_direct_alloc+0x6e/0x2a0\n nvme_alloc_queue+0x91/0x1d0 [nvme]\n",
	  "kworker/u8:3", NULL, 0 },
	{ " __pte_alloc+0x30/0x1a0\n do_anonymous_page+0x61/0x6a0\n"
	  " handle_mm_fault+0x1b2/0x2f0\n", "nginx", "docker-1f2e.scope", 0 },
};

/* Blocks of each stack in each snapshot, and the boot it is in. */
static const unsigned counts[][6] = {
	{ 20, 30, 12, 8, 4, 10 },	/* 1: baseline */
	{ 45, 31, 14, 8, 4, 11 },	/* 2: the leak grows */
	{ 70, 29, 5, 9, 4, 12 },	/* 3: page cache freed */
	{ 70, 29, 5, 9, 4, 12 },	/* 4: no change */
	{ 3, 25, 10, 8, 4, 9 },		/* 5: a reboot */
	{ 40, 27, 10, 8, 6, 9 },	/* 6: it leaks again */
};
static const char *const boots[] = { "a1", "a1", "a1", "a1", "b2", "b2" };

static void
write_dump(const char *path, int snap)
{
	FILE *f = fopen(path, "we");
	char meta[300];

	CHECK(f != NULL);
	for (size_t s = 0; s < PO_ARRAY_SIZE(stacks); s++) {
		for (unsigned i = 0; i < counts[snap][s]; i++) {
			unsigned long pfn = 0x10000UL * (s + 1) + 8UL * i;

			fprintf(f, "Page allocated via order %u, mask 0x2cc0(GFP_KERNEL|"
			    "__GFP_NOWARN), pid %u, tgid %u (%s), ts %llu ns\n",
			    stacks[s].order, 100 + (unsigned)s, 100 + (unsigned)s,
			    stacks[s].comm, 1000000ULL * (i + 1) + s);
			fprintf(f, "PFN 0x%lx type Unmovable Block %lu type Unmovable "
			    "Flags 0x100000000000000(node=0|zone=1)\n", pfn, pfn >> 9);
			fprintf(f, " get_page_from_freelist+0xf62/0x1150\n"
			    " __alloc_pages_noprof+0x196/0xe80\n%s", stacks[s].frames);
			if (stacks[s].memcg != NULL)
				fprintf(f, "Charged to memcg %s\n", stacks[s].memcg);
			fputc('\n', f);
		}
	}
	CHECK(fclose(f) == 0);
	snprintf(meta, sizeof(meta), "%s/live.meta", tmpdir);
	f = fopen(meta, "we");
	CHECK(f != NULL);
	fprintf(f, "boot_id=%s\nkernel=6.12.0-fuzz\n", boots[snap]);
	CHECK(fclose(f) == 0);
}

static void
cleanup(void)
{
	static const char *const names[] = { "live.page_owner", "live.page_owner.off",
	    "live.meta", "h.db", "h.db-wal", "h.db-shm", "h.db.ident", "h.db.ident.new" };
	char path[400];

	sched_free(sched);
	history_free(hist);
	if (base != NULL)
		event_base_free(base);
	config_free(&cfg);
	for (size_t i = 0; i < PO_ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		(void)unlink(path);
	}
	(void)rmdir(tmpdir);
}

static void
snapshot_taken(const struct job_result *res, void *ud)
{
	int *ok = ud;

	CHECK(res != NULL);
	if (res->snap.error < 0) {
		fprintf(stderr, "fuzz-rpc: snapshot: %s\n", res->snap.cause);
		abort();
	}
	(*ok)++;
}

/* Six snapshots by the scheduler, as the timer would take them. */
static void
make_history(void)
{
	struct store *st = NULL;
	char *cause = NULL, db[300];
	int ok = 0;

	snprintf(src_on, sizeof(src_on), "%s/live.page_owner", tmpdir);
	snprintf(src_off, sizeof(src_off), "%s/live.page_owner.off", tmpdir);
	snprintf(db, sizeof(db), "%s/h.db", tmpdir);
	config_defaults(&cfg);
	free(cfg.source);
	cfg.source = po_xstrdup(src_on);
	free(cfg.db);
	cfg.db = po_xstrdup(db);
	if (store_open(&st, db, false, &cause) < 0 ||
	    (store_close(st), history_open(&hist, db, &cause)) < 0 ||
	    (base = event_base_new()) == NULL ||
	    sched_new(&sched, base, &cfg, hist, NULL, false, &cause) < 0) {
		fprintf(stderr, "fuzz-rpc: %s\n", cause ? cause : "cannot start");
		abort();
	}
	for (int k = 0; k < (int)PO_ARRAY_SIZE(counts); k++) {
		struct job job = { .kind = JOB_SNAPSHOT };

		write_dump(src_on, k);
		CHECK(sched_submit(sched, &job, snapshot_taken, &ok) == 0);
		settle();
	}
	CHECK(ok == (int)PO_ARRAY_SIZE(counts));
	CHECK(sched_state(sched)->snapshots_ok == PO_ARRAY_SIZE(counts));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	verbose = getenv("FUZZ_RPC_VERBOSE") != NULL;
	log_init(false, LOG_ERR);	/* refusals are logged at warning */
	snprintf(tmpdir, sizeof(tmpdir), "%s/fuzz-rpc.XXXXXX", t ? t : "/tmp");
	CHECK(mkdtemp(tmpdir) != NULL);
	atexit(cleanup);
	make_history();
	ctx = (struct method_ctx){ .cfg = &cfg, .hist = hist, .sched = sched,
	    .server = NULL, .started = po_now_wall() - 3600, .source_kind = "file" };
	return 0;
}

/* ---- one request -------------------------------------------------------------- */

enum expect {
	EXPECT_ONE,		/* exactly one message with the request's id */
	EXPECT_NULL_ERROR,	/* exactly one error with a null id */
	EXPECT_NOTIFICATION,	/* none, or one error with a null id */
};

static bool
known_code(json_int_t code)
{
	switch (code) {
	case PO_E_PARSE: case PO_E_INVALID: case PO_E_NO_METHOD: case PO_E_PARAMS:
	case PO_E_DENIED: case PO_E_BUSY: case PO_E_NOT_FOUND: case PO_E_NO_DATA:
	case PO_E_SOURCE:
		return true;
	default:
		/* -32603, -32004: not on a healthy store; -32005/-32006: server.c */
		return false;
	}
}

static void
check_message(const char *text, enum expect want, json_t *id)
{
	json_error_t jerr;
	json_t *m = json_loads(text, JSON_REJECT_DUPLICATES, &jerr), *err, *res, *mid;

	if (m == NULL || !json_is_object(m)) {
		fprintf(stderr, "fuzz-rpc: not a JSON object: %s\n", text);
		abort();
	}
	CHECK(json_is_string(json_object_get(m, "jsonrpc")) &&
	    strcmp(json_string_value(json_object_get(m, "jsonrpc")), "2.0") == 0);
	CHECK(json_object_size(m) == 3);
	mid = json_object_get(m, "id");
	CHECK(mid != NULL);
	err = json_object_get(m, "error");
	res = json_object_get(m, "result");
	CHECK((err == NULL) != (res == NULL));
	if (err != NULL) {
		json_t *code = json_object_get(err, "code"), *msg = json_object_get(err, "message");

		CHECK(json_is_object(err) && json_object_size(err) == 2);
		CHECK(json_is_integer(code) && json_is_string(msg));
		CHECK(json_string_length(msg) > 0);
		if (!known_code(json_integer_value(code))) {
			fprintf(stderr, "fuzz-rpc: unexpected error code: %s\n", text);
			abort();
		}
	} else {
		CHECK(json_is_object(res));
	}
	if (want == EXPECT_ONE) {
		if (!json_equal(mid, id)) {
			fprintf(stderr, "fuzz-rpc: reply with the wrong id: %s\n", text);
			abort();
		}
	} else {
		CHECK(json_is_null(mid) && err != NULL);
	}
	json_decref(m);
}

/* What the line deserves, from our own reading of it. */
static enum expect
expectation(const char *line, size_t n, json_t **ret_id)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, n, JSON_REJECT_DUPLICATES, &jerr), *id;
	enum expect e;

	*ret_id = NULL;
	if (req == NULL || !json_is_object(req)) {
		json_decref(req);
		return EXPECT_NULL_ERROR;
	}
	id = json_object_get(req, "id");
	if (id == NULL)
		e = EXPECT_NOTIFICATION;
	else if (!json_is_string(id) && !json_is_integer(id) && !json_is_null(id))
		e = EXPECT_NULL_ERROR;
	else {
		e = EXPECT_ONE;
		*ret_id = json_incref(id);
	}
	json_decref(req);
	return e;
}

static void
one_line(const char *line, size_t n, uid_t uid)
{
	struct peer c = { .peer = { .ops = &peer_ops, .uid = uid, .gid = uid,
	    .pid = 1 }, .refs = 1 };
	json_t *id;
	enum expect want;
	size_t nsent;

	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' '))
		n--;
	if (n == 0 || n > PO_MAX_REQUEST)
		return;
	/* a snapshot finds the dump, then not, in turn */
	if (memmem(line, n, "snapshot", 8) != NULL) {
		if (turn++ % 2 == 0)
			(void)rename(src_off, src_on);
		else
			(void)rename(src_on, src_off);
	}
	want = expectation(line, n, &id);
	c.sent = json_array();
	(void)methods_handle_line(&ctx, &c.peer, line, n);
	settle();
	CHECK(c.refs == 1);
	nsent = json_array_size(c.sent);
	if (want == EXPECT_NOTIFICATION)
		CHECK(nsent <= 1);
	else if (nsent != 1) {
		fprintf(stderr, "fuzz-rpc: %zu messages for one request\n", nsent);
		abort();
	}
	for (size_t i = 0; i < nsent; i++) {
		if (verbose)	/* FUZZ_RPC_VERBOSE=1: print what was sent */
			fprintf(stderr, "<- %.*s\n-> %.300s\n", (int)(n < 300 ? n : 300),
			    line, json_string_value(json_array_get(c.sent, i)));
		check_message(json_string_value(json_array_get(c.sent, i)), want, id);
	}
	json_decref(id);
	json_decref(c.sent);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	uid_t uid = size % 3 == 0 ? 1000 : 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		one_line(p, n, uid);
		p += n + 1;
	}
	return 0;
}
