/*
 * proto.h: the protocol between page-ownerd and its clients, in one place.
 *
 * JSON-RPC 2.0 over a stream Unix socket, one JSON object per line in each
 * direction.  Bump PO_PROTO_VERSION when a method's params or result change
 * incompatibly; `status` reports it.
 */
#ifndef PO_PROTO_H
#define PO_PROTO_H

#define PO_PROTO_VERSION	1
#define PO_DEFAULT_SOCKET	"/run/page-ownerd/page-ownerd.sock"
#define PO_DEFAULT_DB		"/var/lib/page-ownerd/page-ownerd.db"
#define PO_DEFAULT_SOURCE	"/sys/kernel/debug/page_owner"
#define PO_DEFAULT_CONFIG	"/etc/page-ownerd/page-ownerd.conf"

/* Limits (DESIGN.md section 8). */
#define PO_MAX_REQUEST		((size_t)64 << 10)	/* bytes in one request line */
#define PO_MAX_LIMIT		10000		/* largest `limit` */
#define PO_DEFAULT_LIMIT	20
#define PO_MAX_CLIENTS		128		/* connections at once */
#define PO_IDLE_TIMEOUT		300		/* seconds without a request */
#define PO_REQUEST_TIMEOUT	10		/* seconds to finish a started line */
#define PO_MAX_OUTPUT		((size_t)16 << 20) /* unread reply bytes before disconnect */

/* Methods. */
#define PO_M_STATUS	"status"
#define PO_M_SNAPSHOTS	"snapshots"
#define PO_M_SNAPSHOT	"snapshot"
#define PO_M_TOP	"top"
#define PO_M_GROWERS	"growers"
#define PO_M_LEAKS	"leaks"
#define PO_M_HISTORY	"history"
#define PO_M_STACK	"stack"
#define PO_M_DIFF	"diff"
#define PO_M_SUBSCRIBE	"subscribe"
#define PO_M_EXPORT	"export"
#define PO_M_PRUNE	"prune"
#define PO_M_PIN	"pin"

/* Notification the daemon sends to subscribers after each snapshot. */
#define PO_N_SNAPSHOT	"snapshot_taken"

/* JSON-RPC 2.0 error codes, and ours (-32000 to -32099). */
#define PO_E_PARSE		(-32700)	/* not JSON, or bad UTF-8 */
#define PO_E_INVALID		(-32600)	/* not a JSON-RPC request */
#define PO_E_NO_METHOD		(-32601)
#define PO_E_PARAMS		(-32602)	/* unknown or bad params */
#define PO_E_INTERNAL		(-32603)
#define PO_E_DENIED		(-32000)	/* the method needs root */
#define PO_E_BUSY		(-32001)	/* a snapshot is already running */
#define PO_E_NOT_FOUND		(-32002)	/* no such stack, series or snapshot */
#define PO_E_NO_DATA		(-32003)	/* the window holds no snapshot */
#define PO_E_STORAGE		(-32004)	/* the database failed */
#define PO_E_TOO_LARGE		(-32005)	/* request line over PO_MAX_REQUEST */
#define PO_E_OVERLOAD		(-32006)	/* too many clients */
#define PO_E_SOURCE		(-32007)	/* the snapshot could not be taken */

#endif
