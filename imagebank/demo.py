"""Extension point of `manage.py load_demo` for the apps above imagebank, which it must not import.

The demo shows the whole bank, but imagebank only knows its own part (sites, users, cases). An app
above it registers a loader in its `ready()` (`register_demo_loader`); `load_demo` runs every
loader, in the order the apps registered them (INSTALLED_APPS' order, so lower layers first), after
its own data and unless `--core-only` is given. A loader takes the command's stdout and, like
`load_demo`, creates nothing the second time it runs.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class DemoLoader:
    name: str  # what it adds, for the command's help and errors ("benchmarks")
    load: Callable[[TextIO], None]


_loaders: dict[str, DemoLoader] = {}


def register_demo_loader(name: str, load: Callable[[TextIO], None]) -> None:
    """Registering the same name again replaces it (ready() may run more than once in tests)."""
    _loaders[name] = DemoLoader(name=name, load=load)


def demo_loaders() -> list[DemoLoader]:
    return list(_loaders.values())
