#!/usr/bin/python3
"""latency.py SOCKET SECONDS QUERY...: query page-ownerd over its socket and
print the latency of each query (median, p99, max), measured from sending
the request to the last byte of the reply.  With --busy, another thread
keeps asking for snapshots (root) so that queries run while one is being
written; only the queries that overlapped a running snapshot are counted.

QUERY is METHOD or METHOD:JSON-PARAMS, e.g. 'growers:{"since":"-30d"}'."""
import re
import json
import socket
import statistics
import sys
import threading
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s, s.makefile('rwb')


def call(f, method, params):
    f.write((json.dumps({'jsonrpc': '2.0', 'method': method, 'params': params,
                         'id': 1}) + '\n').encode())
    f.flush()
    line = f.readline()
    if not line:
        raise SystemExit('the daemon closed the connection')
    return line


def main():
    args = sys.argv[1:]
    busy = False
    if args and args[0] == '--busy':
        busy, args = True, args[1:]
    path, seconds, queries = args[0], float(args[1]), args[2:]
    running = threading.Event()
    stop = threading.Event()

    def snapshotter():
        _, f = connect(path)
        while not stop.is_set():
            running.set()
            call(f, 'snapshot', {})
            running.clear()

    if busy:
        threading.Thread(target=snapshotter, daemon=True).start()
        time.sleep(0.2)
    _, f = connect(path)
    results = {q: [] for q in queries}
    errors = {q: 0 for q in queries}
    end = time.time() + seconds
    while time.time() < end:
        for q in queries:
            method, _, p = q.partition(':')
            params = json.loads(p) if p else {}
            overlapped = running.is_set()
            t0 = time.perf_counter()
            reply = call(f, method, params)
            dt = time.perf_counter() - t0
            if b'"error"' in reply[:200]:
                errors[q] += 1
            if not busy or (overlapped and running.is_set()):
                results[q].append(dt * 1000)
    stop.set()
    for q in queries:
        v = sorted(results[q])
        label = re.sub(r'"series":"[^"]*",?', '', q)  # history's stack id
        if not v:
            print('%-44s  no sample' % label)
            continue
        p99 = v[min(len(v) - 1, int(len(v) * 0.99))]
        print('%-44s  n=%-4d  p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms%s' % (
            label[:44], len(v), statistics.median(v), p99, v[-1],
            '  (%d errors)' % errors[q] if errors[q] else ''))


if __name__ == '__main__':
    main()
