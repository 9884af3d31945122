"""powercut.py — replay the journal of tests/tools/powercut.c: what a folder
holds after a power cut right after write-type call N (docs/repair.md,
"Power cuts").

    import powercut
    j = powercut.Journal(LOGDIR)
    j.steps                      # [(n, what, name)] of the whole run
    state = j.durable(n)         # {name: bytes} after a power cut after step n
    powercut.materialize(state, DIR)

A file's bytes are those of its last fsync, or of the start, or none (an
empty file) when it was created and never synced; the folder's entries are
those of its last fsync, or of the start.
"""
import os


class Journal:
    def __init__(self, logdir):
        self.logdir = logdir
        self.events = []                       # (kind, fields) in order
        self.steps = []
        with open(os.path.join(logdir, "log")) as f:
            lines = f.read().split("\n")
        i = 0
        while i < len(lines):
            w = lines[i].split(" ", 3)
            i += 1
            if w[0] == "I":
                self.events.append(("I", int(w[1]), int(w[2]), w[3]))
            elif w[0] == "N":
                self.events.append(("N", int(w[1])))
            elif w[0] == "S":
                self.events.append(("S", int(w[1]), int(w[2])))
            elif w[0] == "D":
                n = int(w[1])
                entries = []
                for line in lines[i:i + n]:
                    e = line.split(" ", 2)
                    entries.append((int(e[1]), e[2]))
                i += n
                self.events.append(("D", entries))
            elif w[0] == "W":
                self.steps.append((int(w[1]), w[2], w[3]))
                self.events.append(("W", int(w[1])))

    def snap(self, k):
        with open(os.path.join(self.logdir, "s%d" % k), "rb") as f:
            return f.read()

    def durable(self, upto=None):
        """{name: bytes} a power cut right after step `upto` leaves (None: after the whole run)."""
        obj_of, content, names, nobj = {}, {}, {}, [0]

        def new(ino, data):
            nobj[0] += 1
            obj_of[ino] = nobj[0]
            content[nobj[0]] = data
            return nobj[0]

        # The events of step k (a snapshot, a folder listing, a creation) come before its W line.
        cut = len(self.events)
        if upto is not None:
            cut = sum(1 for ev in self.events if ev[0] == "I")
            for i, ev in enumerate(self.events):
                if ev[0] == "W" and ev[1] <= upto:
                    cut = i + 1
        for ev in self.events[:cut]:
            if ev[0] == "W":
                pass
            elif ev[0] == "I":
                names[ev[3]] = new(ev[1], self.snap(ev[2]))
            elif ev[0] == "N":
                new(ev[1], b"")
            elif ev[0] == "S":
                o = obj_of.get(ev[1]) or new(ev[1], b"")
                content[o] = self.snap(ev[2])
            elif ev[0] == "D":
                names = {}
                for ino, name in ev[1]:
                    names[name] = obj_of.get(ino) or new(ino, b"")
        return {name: content[o] for name, o in names.items()}


def materialize(state, d):
    os.makedirs(d, exist_ok=True)
    for name, data in state.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
