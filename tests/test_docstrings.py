"""Every public module, function, class and method of minnet has a docstring (readers learn from
``help()``; issue #7). Inherited methods count as documented when the base class documents them."""

import importlib
import inspect
import pkgutil

import minnet


def public_objects():
    """(qualified name, object) for every public function/class/method defined in minnet."""
    for info in pkgutil.walk_packages(minnet.__path__, "minnet."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        yield info.name, module
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            obj = getattr(obj, "py_func", obj)          # a Numba kernel: its Python function
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            yield f"{module.__name__}.{name}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if not attr.startswith("_") and inspect.isfunction(member):
                        yield f"{module.__name__}.{name}.{attr}", getattr(obj, attr)


def test_every_public_object_has_a_docstring():
    objects = dict(public_objects())
    assert len(objects) > 200, f"found only {len(objects)} objects: is the walk broken?"
    missing = [name for name, obj in objects.items() if not (inspect.getdoc(obj) or "").strip()]
    assert not missing, "no docstring: " + ", ".join(missing)


def test_dense_help_reads_well():
    doc = inspect.getdoc(minnet.layers.Dense)
    for words in ("forward", "backward", "mask"):
        assert words in doc, f"Dense's docstring does not mention {words!r}"
