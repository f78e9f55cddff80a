"""Backend adapters: one module per kind of SCIM directory, all behind :class:`GroupBackend`.

- :mod:`~app.adapters.http`: the one send step, translating httpx and upstream errors.
- :mod:`~app.adapters.scimwire`: pure SCIM wire functions (parse answers, build requests).
- :mod:`~app.adapters.scim`: any RFC 7644 server, and the base of the vendor adapters.
- :mod:`~app.adapters.descope`, :mod:`~app.adapters.condeco`: the vendors' differences.
"""

from typing import TYPE_CHECKING

from app.adapters.base import GroupBackend
from app.adapters.condeco import CondecoAdapter
from app.adapters.descope import DescopeAdapter
from app.adapters.scim import ScimAdapter

if TYPE_CHECKING:  # mypy proves each adapter implements the port
    _ports: tuple[type[GroupBackend], ...] = (ScimAdapter, DescopeAdapter, CondecoAdapter)

__all__ = ["CondecoAdapter", "DescopeAdapter", "GroupBackend", "ScimAdapter"]
