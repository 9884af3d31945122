#!/usr/bin/env python3
"""
tests/hostile/pack.py -- seeds for tests/fuzz/fuzz_model.c: each folder's
db, db-wal and db-shm packed into the target's framing (see the comment at
the top of fuzz_model.c):

    flags (1 byte: bit 0 db, bit 1 wal, bit 2 shm present),
    u32le n_db, db, u32le n_wal, wal, shm

    pack.py OUT [--max BYTES] FOLDER...

Every FOLDER (or each subfolder of it holding a file named db) gives one
seed OUT/<folder name>; triples larger than --max (default 262144, the
fuzzer's -max_len) are left out.  Used by `make fuzz` / `make fuzz-long`
with the corpus (build/corpus) and the hostile cases as input.
"""
import os
import struct
import sys


def pack(folder):
    parts, flags = [], 0
    for bit, name in ((1, 'db'), (2, 'db-wal'), (4, 'db-shm')):
        p = os.path.join(folder, name)
        data = b''
        if os.path.isfile(p) and not os.path.islink(p):
            try:
                with open(p, 'rb') as f:
                    data = f.read(1 << 26)
                flags |= bit
            except OSError:
                pass
        parts.append(data)
    db, wal, shm = parts
    return bytes([flags]) + struct.pack('<I', len(db)) + db + struct.pack('<I', len(wal)) + wal + shm


def main():
    args = sys.argv[1:]
    if not args or args[0] in ('-h', '--help'):
        print(__doc__.strip())
        return 0 if args else 64
    out = args.pop(0)
    mx = 262144
    if args[:1] == ['--max']:
        mx = int(args[1])
        args = args[2:]
    os.makedirs(out, exist_ok=True)
    n = 0
    for top in args:
        folders = [top] if os.path.isfile(os.path.join(top, 'db')) else \
            [os.path.join(top, d) for d in sorted(os.listdir(top)) if os.path.isdir(os.path.join(top, d))]
        for f in folders:
            if not os.path.isfile(os.path.join(f, 'db')) and not os.path.isfile(os.path.join(f, 'db-wal')):
                continue
            # sparse or huge cases never fit: look at the sizes first
            size = sum(os.path.getsize(os.path.join(f, x)) for x in ('db', 'db-wal', 'db-shm')
                       if os.path.isfile(os.path.join(f, x)) and not os.path.islink(os.path.join(f, x)))
            if size + 9 > mx:
                continue
            seed = pack(f)
            with open(os.path.join(out, os.path.basename(os.path.normpath(f))), 'wb') as fh:
                fh.write(seed)
            n += 1
    print('%d seeds in %s' % (n, out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
