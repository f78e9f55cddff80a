"""The adapters package's public surface."""

from __future__ import annotations

import app.adapters


def test_the_package_exports_a_sorted_list_of_what_it_defines() -> None:
    names = app.adapters.__all__
    assert names == sorted(names)
    assert all(hasattr(app.adapters, name) for name in names)


def test_every_adapter_names_its_backend_kind() -> None:
    kinds = {
        cls.kind.value
        for cls in (
            app.adapters.ScimAdapter,
            app.adapters.DescopeAdapter,
            app.adapters.CondecoAdapter,
        )
    }
    assert kinds == {"scim", "descope", "condeco"}
