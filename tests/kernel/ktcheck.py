"""
ktcheck.py: what run.sh's Python checks of a guest phase share: argv is
SERIES FILES-DIR KT-DIR; the phase's stored files, and TAP lines that
count their failures.
"""
import json
import os
import sys


class Tap:
    def __init__(self, phase):
        self.series, self.dir = sys.argv[1:3]
        self.phase = phase
        self.failed = 0

    def load(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return json.load(f)

    def ok(self, cond, what):
        self.failed += not cond
        print(('ok - ' if cond else 'not ok - ') + '%s %s: %s' % (self.series, self.phase, what))

    def exit(self):
        sys.exit(1 if self.failed else 0)
