#!/usr/bin/python3
"""rpcclient.py: hostile and heavy clients of page-ownerd's control socket,
for tests/integration/hostile.sh and load.sh (not a test by itself).

  rpcclient.py SOCK slowloris          a byte a second, never a newline
  rpcclient.py SOCK never-reads W S    `status` (W = status) or `top` of W
                                       groups asked for, never read;
                                       disconnected within S seconds
  rpcclient.py SOCK big-line MIB       one line of MIB MiB
  rpcclient.py SOCK protocol           malformed and wrong requests, one
                                       connection, exact error codes
  rpcclient.py SOCK flood N            128 clients held, N more refused
  rpcclient.py SOCK emfile N           N clients past the daemon's fd limit
  rpcclient.py SOCK idle FILE          the answers to the load's queries
  rpcclient.py SOCK load N PER FILE OUT [SRC DUMP...]
                                       N clients x PER queries at once,
                                       answers compared with FILE's; SRC
                                       swapped between the DUMPs meanwhile
                                       (the daemon's timer takes snapshots)

Each prints '# ...' lines to say what it saw and exits 0 when the daemon
behaved as it must, 1 otherwise.  Everything is bounded in time: socket
timeouts everywhere (generous: a loaded CI machine runs the ASan build
too), and loops end by count or deadline.
"""
import json
import os
import select
import socket
import sys
import threading
import time

PO_MAX_CLIENTS = 128
E_PARSE, E_INVALID, E_NO_METHOD, E_PARAMS = -32700, -32600, -32601, -32602
E_TOO_LARGE, E_OVERLOAD = -32005, -32006


def say(*a):
    print('#', *a, flush=True)


def connect(path, timeout=60.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


class Conn:
    """One client: send lines, read reply lines."""

    def __init__(self, path, timeout=60.0):
        self.s = connect(path, timeout)
        self.buf = b''

    def send(self, data):
        if isinstance(data, (dict, list)):
            data = json.dumps(data).encode()
        self.s.sendall(data + b'\n')

    def line(self):
        while b'\n' not in self.buf:
            chunk = self.s.recv(1 << 16)
            if not chunk:
                raise EOFError('connection closed')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def call(self, method, params=None, rid=1):
        req = {'jsonrpc': '2.0', 'method': method, 'id': rid}
        if params is not None:
            req['params'] = params
        self.send(req)
        return self.line()

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def status_ok(path):
    try:
        c = Conn(path, 60)
        r = c.call('status')
        c.close()
        return 'result' in r
    except (OSError, EOFError, ValueError):
        return False


class Prober(threading.Thread):
    """Another client asking for status every half second meanwhile."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.asked, self.answered = path, 0, 0
        self.stop = threading.Event()
        self.lat = []

    def run(self):
        while not self.stop.is_set():
            t = time.monotonic()
            self.asked += 1
            if status_ok(self.path):
                self.answered += 1
                self.lat.append(time.monotonic() - t)
            self.stop.wait(0.5)

    def finish(self):
        self.stop.set()
        self.join(20)
        say('meanwhile another client asked status %d times, answered %d, slowest %.3fs'
            % (self.asked, self.answered, max(self.lat) if self.lat else 0))
        return self.asked > 0 and self.asked == self.answered


def wait_closed(s, limit):
    """Seconds until the peer closed s (reading and dropping), or None."""
    t0 = time.monotonic()
    s.settimeout(1)
    while time.monotonic() - t0 < limit:
        try:
            if not s.recv(1 << 16):
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
    return None


def slowloris(path):
    s = connect(path)
    p = Prober(path)
    p.start()
    body = b'{"jsonrpc":"2.0","method":"status","id":1' + b' ' * 100
    closed_at = [None]
    t0 = time.monotonic()

    def dribble():
        for b in body:
            try:
                s.send(bytes([b]))
            except OSError:
                closed_at[0] = time.monotonic() - t0
                return
            time.sleep(1)

    th = threading.Thread(target=dribble, daemon=True)
    th.start()
    waited = wait_closed(s, 90)
    ok_others = p.finish()
    say('slowloris: closed after %s s (request timeout 10 s)'
        % ('%.1f' % waited if waited is not None else 'never'))
    s.close()
    return waited is not None and ok_others


def never_reads(path, what, wait):
    """Ask for `status` (what = 'status') or `top` of WHAT groups over and
    over in one go and never read: the daemon must disconnect us (past
    the output cap, or when the replies sit unread too long) and count us
    in slow_readers."""
    method, params = ('status', None) if what == 'status' else ('top', {'limit': int(what)})
    req = {'jsonrpc': '2.0', 'method': method, 'id': 1}
    if params:
        req['params'] = params
    req = json.dumps(req).encode() + b'\n'
    probe = Conn(path, 60)
    size = len(json.dumps(probe.call(method, params)))
    before = probe.call('status')['result']['clients']['slow_readers']
    n = min(60000 // len(req), 2 * (16 << 20) // max(size, 1) + 2)
    say('never-reads: %d requests of a %d-byte reply, never read' % (n, size))
    s = connect(path)
    s.sendall(req * n)
    p = Prober(path)
    p.start()
    t0 = time.monotonic()
    s.setblocking(False)
    closed = False
    while time.monotonic() - t0 < wait and not closed:
        time.sleep(0.5)
        # an empty line is ignored by the daemon, but fails once it closed us
        try:
            s.send(b'\n')
        except BlockingIOError:
            pass
        except OSError:
            closed = True
    took = time.monotonic() - t0
    after = probe.call('status')['result']['clients']['slow_readers']
    ok_others = p.finish()
    # disconnected: what is left to read ends, and is under the cap
    got = 0
    s.setblocking(True)
    s.settimeout(5)
    try:
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            got += len(b)
    except OSError:
        pass
    say('never-reads: disconnected: %s after %.1f s, slow_readers %d -> %d; %d reply '
        'bytes were left to read' % (closed, took, before, after, got))
    probe.close()
    s.close()
    return closed and after > before and ok_others and got < (24 << 20)


def big_line(path, mib):
    s = connect(path, 20)
    chunk = b'x' * (1 << 20)
    sent = [0]

    def pump():
        try:
            for _ in range(mib):
                s.sendall(chunk)
                sent[0] += len(chunk)
            s.sendall(b'\n')
        except OSError:
            pass

    th = threading.Thread(target=pump, daemon=True)
    th.start()
    buf = b''
    try:
        while b'\n' not in buf:
            b = s.recv(1 << 16)
            if not b:
                break
            buf += b
    except OSError as e:
        say('big-line: reading the reply failed: %s' % e)
    closed = wait_closed(s, 20) is not None
    th.join(30)
    code = None
    try:
        code = json.loads(buf.split(b'\n')[0])['error']['code']
    except (ValueError, KeyError, TypeError):
        pass
    say('big-line: %d of %d MiB sent before the daemon stopped reading; reply %r; '
        'closed: %s' % (sent[0] >> 20, mib, buf[:120], closed))
    s.close()
    return code == E_TOO_LARGE and closed and sent[0] < (mib << 20)


def protocol(path):
    """Each line on one connection gets its exact answer; the connection
    stays usable throughout."""
    cases = [
        ('deeply nested arrays (30,000 levels)', b'[' * 30000 + b']' * 30000, E_PARSE),
        ('deeply nested objects (6,000 levels)',
         b'{"a":' * 6000 + b'1' + b'}' * 6000, E_PARSE),
        ('invalid UTF-8 in a string',
         b'{"jsonrpc":"2.0","method":"st\xffatus","id":1}', E_PARSE),
        ('invalid UTF-8 (an overlong encoding)',
         b'{"jsonrpc":"2.0","method":"\xc0\xafstatus","id":1}', E_PARSE),
        ('a bad escape followed by invalid UTF-8 (quoted by the parse error)',
         b'{"\\u0\xd0\x82\xc0\xf4{"jso"', E_PARSE),
        ('a lone surrogate escape',
         b'{"jsonrpc":"2.0","method":"\\ud800","id":1}', E_PARSE),
        ('a NUL escape in the method',
         b'{"jsonrpc":"2.0","method":"status\\u0000x","id":1}', E_PARSE),
        ('duplicate keys', b'{"jsonrpc":"2.0","method":"status","method":"top","id":1}',
         E_PARSE),
        ('not JSON', b'hello', E_PARSE),
        ('a batch (array)', b'[{"jsonrpc":"2.0","method":"status","id":1}]', E_INVALID),
        ('a bare number', b'42', E_INVALID),
        ('jsonrpc missing', b'{"method":"status","id":1}', E_INVALID),
        ('jsonrpc 1.0', b'{"jsonrpc":"1.0","method":"status","id":1}', E_INVALID),
        ('an unknown member', b'{"jsonrpc":"2.0","method":"status","id":1,"x":1}',
         E_INVALID),
        ('an id of the wrong type', b'{"jsonrpc":"2.0","method":"status","id":[1]}',
         E_INVALID),
        ('method not a string', b'{"jsonrpc":"2.0","method":7,"id":1}', E_INVALID),
        ('an unknown method', b'{"jsonrpc":"2.0","method":"rm_rf","id":1}', E_NO_METHOD),
        ('an unknown method, 200 bytes of UTF-8',
         ('{"jsonrpc":"2.0","method":"%s","id":1}' % ('\u00e9' * 100)).encode(),
         E_NO_METHOD),
        ('an unknown param', b'{"jsonrpc":"2.0","method":"status","params":{"x":1},"id":1}',
         E_PARAMS),
        ('params not an object', b'{"jsonrpc":"2.0","method":"top","params":[1],"id":1}',
         E_PARAMS),
        ('a bad param value', b'{"jsonrpc":"2.0","method":"top","params":{"limit":-5},"id":1}',
         E_PARAMS),
        ('limit past 10,000', b'{"jsonrpc":"2.0","method":"top","params":{"limit":10001},"id":1}',
         E_PARAMS),
        ('a bad time', b'{"jsonrpc":"2.0","method":"growers","params":{"since":"yesterday-ish"},"id":1}',
         E_PARAMS),
        ('by: an unknown grouping', b'{"jsonrpc":"2.0","method":"top","params":{"by":"colour"},"id":1}',
         E_PARAMS),
        ('a notification of an unknown method (no reply)',
         b'{"jsonrpc":"2.0","method":"rm_rf"}', None),
    ]
    c = Conn(path)
    bad = 0
    for i, (what, line, want) in enumerate(cases):
        try:
            c.send(line)
            if want is None:
                # nothing comes back: the next reply is the next request's
                r = c.call('status', rid='after-%d' % i)
                got = 'no reply' if r.get('id') == 'after-%d' % i else r
                good = got == 'no reply'
            else:
                r = c.line()
                got = r.get('error', {}).get('code')
                good = got == want and 'result' not in r
            # the connection is still usable
            good = good and 'result' in c.call('status', rid=i)
        except (OSError, EOFError, ValueError) as e:
            got, good = 'connection lost: %s' % e, False
            c.close()
            c = Conn(path)
        print('%s - %s: %s' % ('ok' if good else 'not ok', what,
                               'no reply' if want is None else 'error %s' % got))
        bad += not good
    c.close()
    return bad == 0


def flood(path, extra):
    held = []
    probe = Conn(path, 60)
    room = PO_MAX_CLIENTS - probe.call('status')['result']['clients']['connected']
    probe.close()
    time.sleep(0.3)
    try:
        for i in range(room + 1):
            c = Conn(path, 60)
            c.call('status', rid=i)     # accepted and counted
            held.append(c)
        refused = 0
        for i in range(extra):
            c = Conn(path, 60)
            try:
                r = c.line()
                if r.get('error', {}).get('code') == E_OVERLOAD and r.get('id') is None:
                    refused += 1
                if wait_closed(c.s, 10) is None:
                    refused -= 1
            except (OSError, EOFError, ValueError):
                pass
            c.close()
        say('flood: %d clients held (%d were there), %d of %d more got %d and were '
            'closed' % (len(held), PO_MAX_CLIENTS - len(held), refused, extra, E_OVERLOAD))
        still = all('result' in c.call('status', rid='again') for c in held[::16])
        for c in held[:10]:
            c.close()
        time.sleep(0.5)
        fresh = status_ok(path)
        say('flood: the held clients still served: %s; a new client after 10 left: %s'
            % (still, fresh))
        return refused == extra and still and fresh
    finally:
        for c in held:
            c.close()


def emfile(path, n):
    conns, served = [], []
    for i in range(n):
        try:
            conns.append(Conn(path, 2))
        except OSError as e:
            say('emfile: connect %d failed: %s' % (i, e))
            break
    for i, c in enumerate(conns):
        try:
            c.send({'jsonrpc': '2.0', 'method': 'status', 'id': i})
        except OSError:
            pass
    # the replies that come within 3 s; the rest wait in the backlog
    pending = {c.s: c for c in conns}
    t0 = time.monotonic()
    while pending and time.monotonic() - t0 < 3:
        ready, _, _ = select.select(list(pending), [], [], 0.2)
        for sk in ready:
            c = pending.pop(sk)
            try:
                if 'result' in c.line():
                    served.append(c)
                    continue
            except (OSError, EOFError, ValueError):
                pass
            pending[sk] = c
    waiting = list(pending.values())
    say('emfile: %d connections, %d served at once, %d waiting in the backlog'
        % (len(conns), len(served), len(waiting)))
    for c in served:
        c.close()
    # room again: the daemon resumes accepting and serves the waiting ones
    late = 0
    for c in waiting:
        c.s.settimeout(60)
        try:
            if 'result' in c.line():
                late += 1
        except (OSError, EOFError, ValueError):
            pass
        c.close()
    fresh = status_ok(path)
    say('emfile: %d of the %d waiting were served once clients left; a new client: %s'
        % (late, len(waiting), fresh))
    return len(waiting) > 0 and late == len(waiting) and fresh


QUERIES = [
    ('top', {'at': 2, 'limit': 50}),
    ('top', {'at': 3, 'by': 'culprit', 'limit': 20}),
    ('growers', {'since': 1, 'until': 3, 'limit': 20}),
    ('leaks', {'since': 1, 'until': 3}),
    ('diff', {'a': 1, 'b': 3, 'by': 'module'}),
    ('snapshots', {'until': 3}),
]


class Swapper(threading.Thread):
    """Swaps the source file between the given dumps meanwhile, so that the
    daemon's own snapshots (its timer) each have changes to store."""

    def __init__(self, src, dumps):
        super().__init__(daemon=True)
        self.src, self.dumps = src, dumps
        self.stop = threading.Event()

    def run(self):
        k = 0
        while not self.stop.is_set():
            k += 1
            with open(self.dumps[k % len(self.dumps)], 'rb') as f, \
                    open(self.src + '.tmp', 'wb') as g:
                g.write(f.read())
            os.rename(self.src + '.tmp', self.src)
            self.stop.wait(0.3)


# fields that depend on the time of the query, not on the history
NOW_FIELDS = ('oldest_block_age_s', 'growing_for_s')


def timeless(v):
    if isinstance(v, dict):
        return {k: timeless(x) for k, x in v.items() if k not in NOW_FIELDS}
    if isinstance(v, list):
        return [timeless(x) for x in v]
    return v


def idle_answers(path, out):
    """The answers given when idle, one client, nothing else running."""
    idle = []
    c = Conn(path, 60)
    for i, (m, p) in enumerate(QUERIES):
        r = c.call(m, p, rid=i)
        if 'result' not in r:
            say('idle: %s failed: %s' % (m, r))
            return False
        idle.append(timeless(r['result']))
    c.close()
    with open(out, 'w') as f:
        json.dump(idle, f)
    return True


def load(path, n, per, idle_file, out, src=None, dumps=()):
    with open(idle_file) as f:
        idle = json.load(f)
    snaps0 = Conn(path).call('status')['result']['snapshots']
    lat, wrong, errors = [], [0], []
    lock = threading.Lock()
    go = threading.Barrier(n)

    # Clients go on past their PER queries until the daemon has finished
    # a snapshot since the load began (at most 120 s): on a slow machine
    # the PER queries may all be answered between two snapshots.  Client 0
    # asks (the 128 clients are all the daemon admits).
    snapped = threading.Event()

    def client(k):
        mine = []
        try:
            cc = Conn(path, 120)
            go.wait(60)
            j = -1
            while True:
                j += 1
                if j >= per:
                    if src is None or time.monotonic() - t0 > 120:
                        break
                    if k == 0 and not snapped.is_set():
                        st = cc.call('status', rid='%d-status-%d' % (k, j))
                        if st['result']['snapshots']['taken'] > snaps0['taken']:
                            snapped.set()
                    if snapped.is_set():
                        break
                i = (k + j) % len(QUERIES)
                m, p = QUERIES[i]
                t = time.monotonic()
                r = cc.call(m, p, rid='%d-%d' % (k, j))
                mine.append(time.monotonic() - t)
                if (r.get('id') != '%d-%d' % (k, j) or
                        timeless(r.get('result')) != idle[i]):
                    with lock:
                        wrong[0] += 1
                        if wrong[0] <= 3:
                            say('load: client %d query %s: %.200s' % (k, m, r))
            cc.close()
        except (OSError, EOFError, ValueError, KeyError, threading.BrokenBarrierError) as e:
            with lock:
                errors.append('%d: %r' % (k, e))
        with lock:
            lat.extend(mine)

    snap = Swapper(src, dumps) if src else None
    if snap:
        snap.start()
    ths = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(n)]
    t0 = time.monotonic()
    for t in ths:
        t.start()
    for t in ths:
        t.join(300)
    wall = time.monotonic() - t0
    if snap:
        snap.stop.set()
        snap.join(120)
    lat.sort()

    def pct(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0

    snaps1 = Conn(path).call('status')['result']['snapshots']
    taken = snaps1['taken'] - snaps0['taken']
    failed = snaps1['failed'] - snaps0['failed']
    res = {'clients': n, 'requests': len(lat), 'wrong': wrong[0], 'errors': len(errors),
           'p50_ms': round(pct(0.50), 1), 'p99_ms': round(pct(0.99), 1),
           'max_ms': round(lat[-1] * 1000, 1) if lat else 0, 'wall_s': round(wall, 1),
           'snapshots_meanwhile': taken, 'snapshots_failed': failed}
    with open(out, 'w') as f:
        json.dump(res, f)
    say('load: %s' % json.dumps(res))
    for e in errors[:3]:
        say('load: error %s' % e)
    return (len(lat) >= n * per and wrong[0] == 0 and not errors and
            (snap is None or (taken > 0 and failed == 0)))


def main():
    path, what = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    if what == 'slowloris':
        ok = slowloris(path)
    elif what == 'never-reads':
        ok = never_reads(path, args[0], float(args[1]))
    elif what == 'big-line':
        ok = big_line(path, int(args[0]))
    elif what == 'protocol':
        ok = protocol(path)
    elif what == 'flood':
        ok = flood(path, int(args[0]))
    elif what == 'emfile':
        ok = emfile(path, int(args[0]))
    elif what == 'idle':
        ok = idle_answers(path, args[0])
    elif what == 'load':
        ok = load(path, int(args[0]), int(args[1]), args[2], args[3],
                  args[4] if len(args) > 4 else None, args[5:])
    else:
        print('rpcclient.py: unknown command %r' % what, file=sys.stderr)
        return 2
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
