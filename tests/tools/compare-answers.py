#!/usr/bin/env python3
"""compare-answers.py: do two builds of page-ownerd store and answer alike?

    compare-answers.py OLD_BUILD NEW_BUILD CAPTURE_DIR...

Each BUILD is a directory holding page-ownerd and pageownerctl.  For each
capture and each collection mode (full, auto):
 1. both daemons replay the capture into their own database; the two
    databases must hold the same rows and blobs (times, durations and CPU
    figures aside, which no two runs share);
 2. both daemons then serve the OLD database (read-only use: their source
    is a path that does not exist), and every method is asked the same
    questions; the JSON answers must be equal (status aside, which reports
    the process itself).
Prints one line per difference and a summary; exit 1 if any.  A tool for
people restructuring the daemon, not a test tier (it needs two builds).
"""
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

VOLATILE_COLS = {
    'snapshots': {'time', 'mono_ns', 'duration', 'cpu_user', 'cpu_sys',
                  'parse_s', 'diff_s', 'store_s', 'source'},
    'buckets': {'start'},
}


def rpc(sock, method, params=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.settimeout(60)
    req = {'jsonrpc': '2.0', 'id': 1, 'method': method}
    if params is not None:
        req['params'] = params
    s.sendall((json.dumps(req) + '\n').encode())
    buf = b''
    while not buf.endswith(b'\n'):
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        buf += chunk
    s.close()
    return json.loads(buf)


def start(build, sock, db, source, mode, interval):
    log = open(db + '.log', 'ab')
    p = subprocess.Popen([os.path.join(build, 'page-ownerd'), '--foreground',
                          '--socket', sock, '--db', db, '--source', source,
                          '--mode', mode, '--interval', str(interval),
                          '--log-level', 'warning'], stdout=log, stderr=log)
    for _ in range(300):
        try:
            rpc(sock, 'status')
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise SystemExit('%s did not answer' % build)


def replay(build, tmp, cap, mode):
    sock = os.path.join(tmp, 'r.sock')
    db = os.path.join(tmp, 'replay.db')
    p = start(build, sock, db, cap, mode, 1)
    for _ in range(1200):
        st = rpc(sock, 'status')['result']
        rp = st['source'].get('replay') or {}
        if rp.get('done') and not st['snapshot_running']:
            break
        time.sleep(0.05)
    else:
        p.kill()
        raise SystemExit('%s: replay of %s did not finish' % (build, cap))
    p.terminate()
    p.wait()
    return db


def db_rows(path):
    con = sqlite3.connect(path)
    out = {}
    tables = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    for t in tables:
        cols = [r[1] for r in con.execute('PRAGMA table_info(%s)' % t)]
        keep = [c for c in cols if c not in VOLATILE_COLS.get(t, ())]
        rows = con.execute('SELECT %s FROM %s ORDER BY 1, 2' % (
            ', '.join(keep), t) if len(keep) > 1 else
            'SELECT %s FROM %s ORDER BY 1' % (keep[0], t)).fetchall()
        out[t] = (keep, rows)
    con.close()
    return out


def questions(sock):
    """Every method, with the params a user would give."""
    qs = [('snapshots', {'limit': 1000})]
    for by in ('stack', 'culprit', 'module', 'comm', 'memcg', 'order'):
        qs += [('top', {'by': by, 'limit': 50}),
               ('growers', {'by': by, 'limit': 50}),
               ('diff', {'a': 1, 'b': 'now', 'by': by, 'limit': 50}),
               ('export', {'format': 'json', 'by': by, 'limit': 10})]
    for by in ('stack', 'culprit', 'module'):
        qs += [('leaks', {'by': by}), ('leaks', {'by': by, 'all': True})]
    snaps = rpc(sock, 'snapshots', {'limit': 1000})['result']['snapshots']
    ids = sorted(s['id'] for s in snaps)
    for a in ids[:3]:
        qs += [('growers', {'since': a}), ('leaks', {'since': a}),
               ('top', {'at': a})]
    for a, b in zip(ids, ids[1:]):
        qs += [('diff', {'a': a, 'b': b})]
    qs += [('export', {'format': 'prometheus'}),
           ('export', {'format': 'folded'}),
           ('export', {'format': 'folded', 'a': ids[0], 'b': ids[-1]})
           if ids else ('export', {'format': 'folded'})]
    top = rpc(sock, 'top', {'by': 'stack', 'limit': 30})
    for g in top.get('result', {}).get('groups', []):
        qs += [('stack', {'id': g['stack_id']}),
               ('history', {'series': g['stack_id']}),
               ('history', {'series': 'culprit=' + g['culprit']})]
    for kind in ('comm', 'memcg', 'module', 'order'):
        t = rpc(sock, 'top', {'by': kind, 'limit': 5})
        for g in t.get('result', {}).get('groups', []):
            qs += [('history', {'series': '%s=%s' % (kind, g[kind])})]
    # errors are answers too
    qs += [('history', {'series': 'nosuch'}), ('stack', {'id': 'ffff'}),
           ('top', {'by': 'nosuch'}), ('growers', {'since': 'garbage'}),
           ('nosuch', {}), ('top', {'bogus': 1})]
    return qs


def main():
    if len(sys.argv) < 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    old, new, caps = sys.argv[1], sys.argv[2], sys.argv[3:]
    diffs = 0
    asked = 0
    for cap in caps:
        for mode in ('full', 'auto'):
            tmp = tempfile.mkdtemp(prefix='po-compare.')
            try:
                dbs = {}
                for name, build in (('old', old), ('new', new)):
                    d = os.path.join(tmp, name)
                    os.mkdir(d)
                    dbs[name] = replay(build, d, cap, mode)
                a, b = db_rows(dbs['old']), db_rows(dbs['new'])
                for t in sorted(set(a) | set(b)):
                    if a.get(t) != b.get(t):
                        diffs += 1
                        print('DB %s %s: table %s differs' % (cap, mode, t))
                serve = {}
                procs = []
                for name, build in (('old', old), ('new', new)):
                    db = os.path.join(tmp, 'serve-%s.db' % name)
                    shutil.copy(dbs['old'], db)
                    sock = os.path.join(tmp, 'serve-%s.sock' % name)
                    procs.append(start(build, sock, db, '/nonexistent/page_owner',
                                       'full', 86400))
                    serve[name] = sock
                for method, params in questions(serve['old']):
                    ra = rpc(serve['old'], method, params)
                    rb = rpc(serve['new'], method, params)
                    asked += 1
                    if ra != rb:
                        diffs += 1
                        print('ANSWER %s %s %s %s:\n  old %s\n  new %s' % (
                            cap, mode, method, json.dumps(params),
                            json.dumps(ra)[:400], json.dumps(rb)[:400]))
                for p in procs:
                    p.terminate()
                    p.wait()
            finally:
                shutil.rmtree(tmp)
    print('%d questions asked in %d runs; %d differences' % (
        asked, 2 * len(caps), diffs))
    return 1 if diffs else 0


if __name__ == '__main__':
    sys.exit(main())
