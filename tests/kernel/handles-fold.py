# handles-fold.py: a page_owner dump and page-ownerd's `export --format
# folded` text as {folded stack: pages}, for run.sh's handles_check (which
# loads it as a module): the full read's side is computed here from the
# dump's text alone, not by page-ownerd's parser.
#
# A folded stack is the frames root first, ';' between them, each frame
# without its +0xoff/0xsize, a module as "sym_[mod]".
import re

OFF = re.compile(r'\+0x[0-9a-f]+/0x[0-9a-f]+')
MOD = re.compile(r'(\S+) \[(\S+)\]$')


def fold_dump(path, skip=('register_early_stack',)):
    """Pages per folded stack of a page_owner dump.  Pages tagged at boot
    (register_early_stack) are left out: no page_owner_stacks file lists
    them."""
    out = {}
    with open(path, errors='replace') as f:
        text = f.read()
    for rec in text.split('\n\n'):
        lines = rec.strip('\n').split('\n')
        m = re.match(r'Page allocated via order (\d+)', lines[0])
        if m is None:
            continue
        frames = []
        for line in lines[2:]:
            if not line.startswith(' '):
                break
            line = OFF.sub('', line.strip())
            mm = MOD.match(line)
            frames.append('%s_[%s]' % mm.groups() if mm else line)
        if any(fr in skip for fr in frames):
            continue
        key = ';'.join(reversed(frames))
        out[key] = out.get(key, 0) + (1 << int(m.group(1)))
    return out


def fold_folded(path):
    """Pages per folded stack of `pageownerctl export --format folded`."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if line:
                key, pages = line.rsplit(' ', 1)
                out[key] = out.get(key, 0) + int(pages)
    return out
