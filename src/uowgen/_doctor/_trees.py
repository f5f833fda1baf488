"""Holding a codebase's syntax trees within a memory budget (issue 21).

A syntax tree takes about thirty times its source text in memory (Python's `ast`
nodes each carry a dict): a 2,300-file application's trees took 1.2 GB. The rules
need the trees of the module they check and of the modules its calls lead to, not
all at once, so only the trees used last are held; the others are let go, and
parsed again from their text when asked for (`SourceFile.tree`).

Nothing that lives through a run keeps a node of a tree that can be let go: the
symbols find their nodes again by position (`Module.definition`), the caches are
keyed by symbol or by position, and the facts that hold nodes go with their tree.
Trees are let go only between modules (`checkpoint`), never while a rule works on
one, so a rule never sees two trees of one module.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from uowgen._doctor._files import SourceFile
from uowgen._doctor._symbols import Module

# How much source text's trees to hold (characters). A tree is about 30 bytes per
# character of its text: 1 million characters' trees are about 30 MB. A codebase
# whose text is smaller never lets a tree go.
TREE_BUDGET = 1_000_000


class TreeStore:
    """The trees held, least recently used first, and the letting go of the rest."""

    def __init__(self, budget: int = TREE_BUDGET) -> None:
        self.budget = budget
        self._held: OrderedDict[int, Module] = OrderedDict()
        self._modules: dict[int, Module] = {}
        self._size = 0
        self._sizes: dict[int, int] = {}
        self._on_forget: list[Callable[[Module], None]] = []

    def on_forget(self, callback: Callable[[Module], None]) -> None:
        """Call `callback(module)` when a module's tree is let go."""
        self._on_forget.append(callback)

    def hold(self, module: Module) -> None:
        """Take charge of a module whose tree was just parsed."""
        self._modules[id(module.source)] = module
        module.source.keeper = self
        self.parsed(module.source, len(module.source.text))

    def parsed(self, source: SourceFile, size: int) -> None:
        """`size` characters of a module were parsed (again): held, as the newest.

        The whole file, or one statement of it (`Module.definition`).
        """
        key = id(source)
        if key not in self._held:
            self._held[key] = self._modules[key]
        self._sizes[key] = self._sizes.get(key, 0) + size
        self._size += size
        self._held.move_to_end(key)
        source.used = False

    @property
    def held(self) -> int:
        """How many trees are held now."""
        return len(self._held)

    def checkpoint(self) -> None:
        """Between modules: let the least recently used trees go, if over budget.

        Down to three quarters of the budget, so that it happens now and then, not
        at every module.
        """
        if self._size <= self.budget:
            return
        for key in [k for k, m in self._held.items() if m.source.used]:
            self._held.move_to_end(key)
            self._held[key].source.used = False
        # The trees parsed again more than once are the ones the rules keep coming
        # back to (a large module of services, say): they go last.
        for again in (False, True):
            for key in list(self._held):
                if self._size <= self.budget * 3 // 4 or len(self._held) <= 1:
                    break
                module = self._held[key]
                if again or module.source.reparsed < 2:
                    del self._held[key]
                    self._forget(module)

    def _forget(self, module: Module) -> None:
        self._size -= self._sizes.pop(id(module.source), 0)
        module.forget_tree()
        for callback in self._on_forget:
            callback(module)
