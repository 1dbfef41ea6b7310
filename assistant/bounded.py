"""A set that forgets its oldest members, so what a long-running assistant remembers
("already handed on", "already announced") stays bounded. Hand-written: the standard
library has no bounded set, and an ordered dict does it in a few lines."""
from collections import OrderedDict
from collections.abc import Hashable


class BoundedSet:
    def __init__(self, limit: int):
        self.limit = limit
        self._items: OrderedDict = OrderedDict()

    def add(self, item: Hashable) -> None:
        self._items[item] = None
        self._items.move_to_end(item)
        while len(self._items) > self.limit:
            self._items.popitem(last=False)

    def __contains__(self, item: Hashable) -> bool:
        return item in self._items

    def __len__(self) -> int:
        return len(self._items)
