#!/usr/bin/python3
"""httpclient.py HOST PORT CASE [ARGS]: hostile HTTP clients for page-ownerd's
/metrics endpoint (tests/integration/hostile-http.sh).  Each case prints
"# ..." lines saying what happened and exits 0 when the daemon answered
or refused cleanly (a 4xx status line, or the connection closed), 1 if not.

  malformed         junk request lines and headers, one connection each
  slowloris SECS    a request dribbled a header a second for up to SECS:
                    the daemon must close it first
  flood N SECS      N connections opened at once and held idle for SECS
  bigpath BYTES     GET of a path of BYTES bytes
  bigheaders BYTES  a request with BYTES of headers
  pipeline N        N GETs of /metrics on one connection (keep-alive)
"""
import resource
import socket
import sys
import time


def status_or_close(s, timeout=20):
    """The status line the server sent, 'closed', or 'timeout'."""
    s.settimeout(timeout)
    buf = b''
    try:
        while b'\r\n' not in buf:
            chunk = s.recv(4096)
            if not chunk:
                return 'closed' if not buf else buf.decode('latin-1').split('\r\n')[0]
            buf += chunk
    except socket.timeout:
        return 'timeout'
    except (ConnectionResetError, BrokenPipeError):
        return 'closed'
    return buf.split(b'\r\n')[0].decode('latin-1')


def clean_refusal(answer):
    if answer == 'closed':
        return True
    parts = answer.split()
    return len(parts) >= 2 and parts[0].startswith('HTTP/1.') and parts[1][:1] == '4'


def connect(host, port):
    return socket.create_connection((host, port), timeout=10)


def send_all(s, data):
    try:
        s.sendall(data)
        return True
    except (ConnectionResetError, BrokenPipeError):
        return False


def malformed(host, port):
    cases = [
        b'GARBAGE\r\n\r\n',
        b'GET\r\n\r\n',
        b'GET /metrics HTTP/9.9\r\n\r\n',
        b'GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n',
        b'\x00\x01\x02\x03\xff\xfe\r\n\r\n',
        b'GET /metrics HTTP/1.1\r\nContent-Length: -5\r\n\r\n',
        b'POST /metrics HTTP/1.1\r\nContent-Length: 99999999\r\n\r\nxx',
        b'GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
        b'\r\n\r\n\r\n\r\n',
    ]
    bad = 0
    answers = {}
    for req in cases:
        s = connect(host, port)
        send_all(s, req)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        ans = status_or_close(s)
        s.close()
        good = clean_refusal(ans)
        bad += not good
        print('# %-60r -> %s%s' % (req[:60], ans, '' if good else '  (NOT a clean refusal)'))
        answers[ans] = answers.get(ans, 0) + 1
    print('# %d malformed requests: %s' % (len(cases), ', '.join(
        '%s x%d' % (a.replace('HTTP/1.1 ', ''), n) for a, n in sorted(answers.items()))))
    return bad == 0


def slowloris(host, port, secs):
    s = connect(host, port)
    send_all(s, b'GET /metrics HTTP/1.1\r\nHost: x\r\n')
    t0 = time.monotonic()
    s.settimeout(1)
    while time.monotonic() - t0 < secs:
        if not send_all(s, b'X-Slow: %d\r\n' % int(time.monotonic() - t0)):
            break
        try:
            chunk = s.recv(4096)
            if not chunk:
                break
            print('# the daemon answered: %r' % chunk[:60])
            # an answer is fine too, as long as it is not the metrics
            if b' 200 ' in chunk.split(b'\r\n')[0]:
                return False
            break
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            break
    held = time.monotonic() - t0
    s.close()
    print('# dribbled headers for %.1f s before the daemon closed the connection' % held)
    return held < secs


def flood(host, port, n, secs):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks, failed = [], 0
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        except OSError:
            failed += 1
            s.close()
            continue
        socks.append(s)
    print('# %d connections started (%d failed at once); holding them %d s' %
          (len(socks), failed, secs))
    sys.stdout.flush()
    time.sleep(secs)
    for s in socks:
        s.close()
    print('# closed them all')
    return True


def bigpath(host, port, nbytes):
    s = connect(host, port)
    req = b'GET /' + b'a' * nbytes + b' HTTP/1.1\r\nHost: x\r\n\r\n'
    sent = send_all(s, req)
    ans = status_or_close(s)
    s.close()
    print('# a path of %d bytes (%s) -> %s' % (nbytes, 'sent' if sent else 'cut off while sending', ans))
    return clean_refusal(ans)


def bigheaders(host, port, nbytes):
    s = connect(host, port)
    hdr = b''.join(b'X-H%d: %s\r\n' % (i, b'v' * 100) for i in range(nbytes // 108 + 1))
    sent = send_all(s, b'GET /metrics HTTP/1.1\r\nHost: x\r\n' + hdr + b'\r\n')
    ans = status_or_close(s)
    s.close()
    print('# %d bytes of headers (%s) -> %s' % (len(hdr), 'sent' if sent else 'cut off while sending', ans))
    return clean_refusal(ans)


def pipeline(host, port, n):
    s = connect(host, port)
    f = s.makefile('rb')
    got = 0
    for _ in range(n):
        send_all(s, b'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n')
        line = f.readline()
        if b' 200 ' not in line:
            break
        length = 0
        while True:
            h = f.readline()
            if h in (b'\r\n', b''):
                break
            if h.lower().startswith(b'content-length:'):
                length = int(h.split(b':')[1])
        f.read(length)
        got += 1
    s.close()
    print('# %d of %d scrapes answered on one connection' % (got, n))
    return got == n


def main():
    host, port, case = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    args = [int(a) for a in sys.argv[4:]]
    fn = {'malformed': malformed, 'slowloris': slowloris, 'flood': flood,
          'bigpath': bigpath, 'bigheaders': bigheaders, 'pipeline': pipeline}[case]
    sys.exit(0 if fn(host, port, *args) else 1)


main()
