#!/usr/bin/python3
"""podb.py: read page-ownerd's database from the outside, for the tests.

An independent decoder of the packed blobs (daemon/pack.c documents the
format), so the tests check what was stored without trusting the daemon's
own reader.  As a command:
  podb.py DB changes            one line per stored delta, as JSON
  podb.py DB totals             current value per series, as JSON
  podb.py DB check              PRAGMA integrity_check and blob sanity
  podb.py DB rollups            every rollup equals the sum of its snapshots'
                                changes (where those are still stored)
"""
import json
import sqlite3
import sys

CHANGE_FIELDS = ('d_pages', 'd_blocks', 'allocated', 'freed')
BUCKET_FIELDS = ('d_pages', 'd_blocks', 'allocated', 'freed', 'grew', 'shrank')
CHECKPOINT_FIELDS = ('pages', 'blocks')
KINDS = {1: 'stack', 2: 'comm', 3: 'memcg', 4: 'module', 5: 'order'}


def _varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << s
        s += 7
        if not c & 0x80:
            return v, i


def unpack(blob, names):
    """Decode a packed table into [(series, {field: value})].

    Version 2: a bitmap of stored (non-zero) fields per entry, and 'xform'
    fields stored relative to others: delta tables keep d_blocks - d_pages
    and freed - (allocated - d_pages); checkpoints keep pages - blocks."""
    b = bytes(blob)
    if b[0] != ord('P') or b[1] not in (1, 2) or b[2] != len(names):
        raise ValueError('not a packed table of %d fields' % len(names))
    version, nf, smask, i = b[1], b[2], b[3], 4
    xform = 0
    if version == 2:
        xform, i = b[4], 5
    n, i = _varint(b, i)
    nblocks, i = _varint(b, i)
    for _ in range(2 * nblocks):
        _, i = _varint(b, i)
    out, series = [], 0
    for k in range(n):
        d, i = _varint(b, i)
        series = d if k % 64 == 0 else series + d
        present = (1 << nf) - 1
        if version == 2:
            present, i = b[i], i + 1
        f = [0] * nf
        for j in range(nf):
            if not present >> j & 1:
                continue
            v, i = _varint(b, i)
            if smask >> j & 1:
                v = (v >> 1) ^ -(v & 1)
            f[j] = v
        if xform == 1:
            f[1] += f[0]
            f[3] += f[2] - f[0]
        elif xform == 2:
            f[1] = f[0] - f[1]
        out.append((series, dict(zip(names, f))))
    if i != len(b):
        raise ValueError('trailing bytes in a packed table')
    return out


class DB:
    def __init__(self, path):
        self.c = sqlite3.connect('file:%s?mode=ro' % path, uri=True)
        self.series = {r[0]: {'kind': KINDS.get(r[1], r[1]), 'key': r[2],
                              'culprit': r[3], 'module': r[4]}
                       for r in self.c.execute(
                           'SELECT id, kind, key, culprit, module FROM series')}

    def snapshots(self):
        return [dict(zip(('id', 'baseline', 'identities', 'pages', 'records',
                          'boot'), r))
                for r in self.c.execute(
                    'SELECT id, baseline, identities, pages, records, boot '
                    'FROM snapshots ORDER BY id')]

    def changes(self, snapshot):
        row = self.c.execute('SELECT data FROM changes WHERE snapshot = ?',
                             (snapshot,)).fetchone()
        return {} if row is None else dict(unpack(row[0], CHANGE_FIELDS))

    def totals(self):
        return {r[0]: {'pages': r[1], 'blocks': r[2]} for r in self.c.execute(
            'SELECT series, pages, blocks FROM totals')}

    def check(self):
        problems = []
        ic = self.c.execute('PRAGMA integrity_check').fetchall()
        if ic != [('ok',)]:
            problems.append('integrity_check: %r' % ic[:3])
        for table, names in (('changes', CHANGE_FIELDS),
                             ('checkpoints', CHECKPOINT_FIELDS)):
            for snap, data in self.c.execute('SELECT snapshot, data FROM %s' % table):
                try:
                    unpack(data, names)
                except (ValueError, IndexError) as e:
                    problems.append('%s %s: %s' % (table, snap, e))
        for lvl, start, data in self.c.execute('SELECT level, start, data FROM buckets'):
            try:
                unpack(data, BUCKET_FIELDS)
            except (ValueError, IndexError) as e:
                problems.append('bucket %s/%s: %s' % (lvl, start, e))
        return problems

    def rollups(self):
        """Problems: rollups that differ from the sum of their changes.
        Returns (problems, rollups checked)."""
        problems, checked = [], 0
        have = {r[0] for r in self.c.execute('SELECT snapshot FROM changes')}
        for lvl, start, first, last, n, data in self.c.execute(
                'SELECT level, start, first_snapshot, last_snapshot, '
                'nsnapshots, data FROM buckets ORDER BY level, start').fetchall():
            ids = [r[0] for r in self.c.execute(
                'SELECT id FROM snapshots WHERE id BETWEEN ? AND ?', (first, last))]
            if len(ids) != n or any(i not in have for i in ids):
                continue        # its snapshots' changes are pruned
            want = {}
            for i in ids:
                for series, ch in self.changes(i).items():
                    w = want.setdefault(series, dict.fromkeys(BUCKET_FIELDS, 0))
                    for f in CHANGE_FIELDS:
                        w[f] += ch[f]
                    if ch['d_pages'] > 0:
                        w['grew'] += 1
                    elif ch['d_pages'] < 0:
                        w['shrank'] += 1
            want = {k: v for k, v in want.items() if any(v.values())}
            got = dict(unpack(data, BUCKET_FIELDS))
            checked += 1
            if got != want:
                bad = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
                problems.append('level %d bucket %d (snapshots %d..%d): %d series '
                                'differ, e.g. %r: stored %r, sum %r' % (
                                    lvl, start, first, last, len(bad), bad[0],
                                    got.get(bad[0]), want.get(bad[0])))
        return problems, checked


def main():
    db = DB(sys.argv[1])
    what = sys.argv[2]
    if what == 'changes':
        for s in db.snapshots():
            for series, row in sorted(db.changes(s['id']).items()):
                print(json.dumps(dict(snapshot=s['id'], series=series,
                                      **db.series.get(series, {}), **row)))
    elif what == 'totals':
        print(json.dumps(db.totals()))
    elif what == 'check':
        p = db.check()
        print('\n'.join(p) if p else 'ok')
        return 1 if p else 0
    elif what == 'rollups':
        p, n = db.rollups()
        print('\n'.join(p) if p else 'ok %d' % n)
        return 1 if p else 0
    return 0


if __name__ == '__main__':
    sys.exit(main())
