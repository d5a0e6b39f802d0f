"""The program's lines, and the plan that lets a kernel write its result into a dead array.

Each line defines one name from the names it reads.  Which memory a name may refer to is tracked
as a set of storages: a fresh result has one storage of its own, which the program owns; an
alias (add's rule passing Ȳ on) has its argument's; a generic call's result may be a view of any
of its arguments (transpose, reshape), so it has theirs and one more that the program does not
own (it may be a view of a parameter or of a constant).  A result may go into argument c in place
when every storage of c is owned, c has the result's shape and dtype, and no name that may refer
to those storages is read after this line — exactly when overwriting c changes nothing any later
line, or the caller, sees.  A name's last read also places its `del`, which frees a value when
the walk would drop it.
"""

from __future__ import annotations

import itertools


class Line:
    __slots__ = ("candidates", "meta", "name", "op", "reads", "storage", "template")

    def __init__(self, name, template, reads, op=None, candidates=(), storage="fresh",
                 meta=None):
        self.name = name  # defined here (None for `return`)
        self.template = template  # formats with out= (", out=c" or "")
        self.reads = tuple(reads)
        self.op = op
        self.candidates = tuple(candidates)
        self.storage = storage  # "fresh" | "alias" (reads[0]'s) | "view" | "external"
        self.meta = meta  # (shape, dtype) of the result when known


class Plan:
    """Lines in order; `source()` decides the in-place writes and writes the function."""

    def __init__(self):
        self.lines = []
        self.meta = {}  # name → (shape, dtype) when known
        self._temps = itertools.count()

    def temp(self) -> str:
        return f"t{next(self._temps)}"

    def add(self, line: Line) -> None:
        self.lines.append(line)
        if line.name is not None and line.meta is not None:
            self.meta[line.name] = line.meta

    def source(self, header: str, in_place=True, probe=False, buffers=None):
        """The function's text and {line number: op}.  `probe=True` writes nothing in place and
        records each name's (shape, dtype) into `_probed` as it runs (the trace's run, which
        fills in `meta`).  `buffers`, a dict: a fresh kernel result that never leaves the call
        is written into an array allocated once (entered there by name), shared by results
        whose lives do not overlap."""
        last_read = {}
        for index, line in enumerate(self.lines):
            for name in line.reads:
                last_read[name] = index
        targets, storages, referrers, own_storage, owned = self._decide(last_read, in_place)
        outs = {}
        if buffers is not None:
            outs = self._buffers(last_read, targets, storages, referrers, own_storage, buffers)
        body, ops = [], {}
        for index, line in enumerate(self.lines):
            target = targets.get(index, outs.get(index))
            text = line.template.format(out=f", out={target}" if target is not None else "")
            if line.name is not None:
                text = f"{line.name} = {text}"
            body.append("    " + text)
            if probe and line.name is not None:
                body.append(f"    _probed[{line.name!r}] = ({line.name}.shape, {line.name}.dtype)")
            if line.op is not None:
                ops[len(body) + 1] = line.op  # +1: the header is line 1
            dead = sorted(name for name in set(line.reads) if last_read[name] == index
                          and line.name != name and line.name is not None)
            if dead:
                body.append(f"    del {', '.join(dead)}")
        self.storages, self.owned = storages, owned  # for the caller's handing out
        return "\n".join([header, *body]) + "\n", ops

    def _decide(self, last_read, in_place):
        """Which lines write in place (index → the argument overwritten), the storages each
        name may refer to, who refers to each, each fresh line's storage, and those owned."""
        storages, referrers, own_storage, targets = {}, {}, {}, {}
        owned = set()
        fresh = itertools.count()
        for index, line in enumerate(self.lines):
            target = (self._in_place(line, index, last_read, storages, referrers, owned)
                      if in_place else None)
            if line.name is None:
                continue
            if target is not None:
                targets[index] = target
                refs = storages[target]
            elif line.storage == "alias":
                refs = storages.get(line.reads[0], frozenset())
            else:
                own = next(fresh)
                refs = frozenset({own})
                if line.storage == "fresh":
                    owned.add(own)
                    own_storage[index] = own
                elif line.storage == "view":  # may be a view of any argument
                    for name in line.reads:
                        refs |= storages.get(name, frozenset())
            storages[line.name] = refs
            for ref in refs:
                referrers.setdefault(ref, set()).add(line.name)
        return targets, storages, referrers, own_storage, owned

    def _buffers(self, last_read, targets, storages, referrers, own_storage, buffers):
        """index → buffer name for each fresh kernel result kept inside the call (its storage
        read by no `return`), from a pool by (shape, dtype) that frees a buffer once every name
        on its storage has been read for the last time."""
        escaping = {ref for name in self.lines[-1].reads for ref in storages.get(name, ())}
        death = {ref: max(last_read.get(n, -1) for n in names) for ref, names in
                 referrers.items()}
        free, busy, outs = {}, [], {}
        for index, line in enumerate(self.lines):
            for entry in [b for b in busy if b[0] < index]:  # lives ended: back to the pool
                busy.remove(entry)
                free.setdefault(entry[1], []).append(entry[2])
            ref = own_storage.get(index)
            if (ref is None or ref in escaping or index in targets or line.meta is None
                    or "{out}" not in line.template):
                continue
            pool = free.get(line.meta)
            name = pool.pop() if pool else f"buffer{len(buffers)}"
            buffers.setdefault(name, line.meta)
            busy.append((death.get(ref, index), line.meta, name))
            outs[index] = name
        return outs

    def _in_place(self, line, index, last_read, storages, referrers, owned):
        """The first candidate argument the result may overwrite, or None."""
        if line.meta is None:
            return None
        for name in line.candidates:
            refs = storages.get(name)
            if not refs or not all(ref in owned for ref in refs):
                continue
            if self.meta.get(name) != line.meta or last_read.get(name) != index:
                continue
            if all(last_read.get(other, -1) <= index
                   for ref in refs for other in referrers[ref]):
                return name
        return None
