#!/usr/bin/python3
"""mkcapture.py BASE.page_owner OUTDIR STEP...: a recorded capture with a
known history, made from a real dump.  Each STEP makes the next dump:

  same            no change
  leak:N          N more order-0 blocks from the leaker's stack (new PFNs)
  free:N          N of the leaker's blocks freed (the newest first)
  churn:N         N other blocks freed and N allocated elsewhere (same stacks)
  reboot          a new boot id (and new PFN/ts space)

Writes OUTDIR/NNN.page_owner and OUTDIR/NNN.meta (boot_id=, kernel=), and
OUTDIR/truth.json: per dump, the leaker's pages and the total pages.
Deterministic (a fixed random seed)."""
import json
import os
import random
import re
import sys

LEAK = 'leaker_leak_pages'


def records(path):
    text = open(path).read()
    return [r + '\n' for r in text.split('\n\n') if r.strip()]


def pfn_of(r):
    return int(re.search(r'^PFN (0x[0-9a-f]+|\d+)', r, re.M).group(1), 0)


def pages_of(r):
    return 1 << int(re.search(r'order (\d+),', r).group(1))


def with_pfn_ts(r, pfn, ts):
    r = re.sub(r'^PFN (0x[0-9a-f]+|\d+)', 'PFN 0x%x' % pfn, r, count=1, flags=re.M)
    return re.sub(r', ts \d+ ns', ', ts %d ns' % ts, r, count=1)


def main():
    base, outdir, steps = sys.argv[1], sys.argv[2], sys.argv[3:]
    rng = random.Random(42)
    recs = records(base)
    template = next(r for r in recs if LEAK in r)
    others = [r for r in recs if LEAK not in r and 'register_early_stack' not in r]
    next_pfn, ts = 0x200000, 10 ** 12
    boot = 'b0000000-0000-4000-8000-000000000001'
    os.makedirs(outdir, exist_ok=True)
    truth = []
    for n, step in enumerate(['same'] + steps, 1):
        what, _, arg = step.partition(':')
        count = int(arg or 0)
        if what == 'leak':
            for _ in range(count):
                ts += 1000
                recs.append(with_pfn_ts(template, next_pfn, ts))
                next_pfn += 1
        elif what == 'free':
            leaked = sorted((r for r in recs if LEAK in r), key=pfn_of)
            gone = set(map(id, leaked[-count:]))
            recs = [r for r in recs if id(r) not in gone]
        elif what == 'churn':
            victims = rng.sample([r for r in recs if LEAK not in r and
                                  'register_early_stack' not in r], count)
            gone = set(map(id, victims))
            recs = [r for r in recs if id(r) not in gone]
            for v in victims:
                ts += 1000
                recs.append(with_pfn_ts(rng.choice(others), next_pfn, ts))
                next_pfn += 8
        elif what == 'reboot':
            boot = 'b0000000-0000-4000-8000-%012d' % (n + 1)
        elif what != 'same':
            sys.exit('unknown step ' + step)
        recs.sort(key=pfn_of)
        stem = os.path.join(outdir, '%03d' % n)
        with open(stem + '.page_owner', 'w') as f:
            f.write('\n'.join(recs) + '\n')
        with open(stem + '.meta', 'w') as f:
            f.write('boot_id=%s\nkernel=6.12.117-test\n' % boot)
        truth.append({'file': '%03d.page_owner' % n, 'step': step, 'boot_id': boot,
                      'leaker_pages': sum(pages_of(r) for r in recs if LEAK in r),
                      'pages': sum(pages_of(r) for r in recs),
                      'records': len(recs)})
    with open(os.path.join(outdir, 'truth.json'), 'w') as f:
        json.dump(truth, f, indent=1)


if __name__ == '__main__':
    main()
