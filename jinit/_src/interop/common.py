"""What the adapters share: the check of the wrapped initializer and its JSON form.

The JSON form of a jinit initializer names its dataclass and lists its
fields, so that ``decode(encode(init)) == init`` for every scheme, nested
ones (``stacked``, ``mup.initializer``) included, with no pickle::

    {"scheme": "he_normal",
     "class": "jinit._src.schemes.variance_scaling:VarianceScaling",
     "fields": {"dtype": null, "scale": 2.0, "mode": "fan_in", ..., "batch_axis": []}}

``scheme`` is the public name (the ``name`` field, kept for error messages
and readers). Tuples are written as lists and read back as tuples (a frozen,
hashable initializer holds no list); a dtype is written ``{"dtype": "float32"}``.
"""

from __future__ import annotations

import dataclasses
import importlib
import numbers
import types
from typing import Any

import numpy as np

from jinit._src.core import validation
from jinit._src.core.base import InitializerBase


def check_init(name: str, init: Any) -> None:
    """TypeError unless ``init`` is an initializer called ``(key, shape, dtype)``."""
    if isinstance(init, types.FunctionType) and init.__module__.startswith("jinit."):
        raise TypeError(
            validation.error(
                name,
                f"`init` must be an initializer; got the factory {init.__name__} itself: "
                f"call it first, as in jinit.{name}({init.__name__}()).",
            )
        )
    if getattr(type(init), "_jinit_adapter", False):
        raise TypeError(
            validation.error(name, f"`init` must be a jinit initializer, not an adapter already; got {init!r}.")
        )
    if not callable(init):
        raise TypeError(
            validation.error(
                name, f"`init` must be an initializer called (key, shape, dtype), e.g. jinit.he_normal(); got {init!r}."
            )
        )


def encode(name: str, value: Any) -> Any:
    """The JSON form of a jinit initializer (or of one of its fields)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, tuple):
        return [encode(name, v) for v in value]
    if isinstance(value, np.dtype):
        return {"dtype": value.name}
    if isinstance(value, InitializerBase):
        cls = type(value)
        fields = {f.name: encode(name, getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        scheme = fields.pop("name")
        return {"scheme": scheme, "class": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
    raise TypeError(
        validation.error(
            name,
            f"only jinit's own initializers can be serialised (get_config); got {value!r} "
            f"of type {type(value).__name__}.",
        )
    )


def decode(name: str, value: Any) -> Any:
    """The object ``encode`` wrote: ``decode(name, encode(name, init)) == init``."""
    if isinstance(value, list):
        return tuple(decode(name, v) for v in value)
    if isinstance(value, dict):
        if set(value) == {"dtype"}:
            return np.dtype(value["dtype"])
        if set(value) == {"scheme", "class", "fields"} and isinstance(value["fields"], dict):
            cls = _initializer_class(name, value["class"])
            fields = {k: decode(name, v) for k, v in value["fields"].items()}
            try:
                return cls(name=value["scheme"], **fields)
            except TypeError as e:
                raise ValueError(validation.error(name, f"the config does not fit {value['class']} ({e}).")) from None
        raise ValueError(validation.error(name, f"the config is not one get_config wrote; got {value!r}."))
    return value


def _initializer_class(name: str, path: Any) -> type[InitializerBase]:
    """The jinit initializer class at ``path``; nothing outside jinit is imported."""
    module, _, qualname = str(path).partition(":")
    cls: Any = None
    if module.startswith("jinit."):
        try:
            cls = getattr(importlib.import_module(module), qualname, None)
        except ImportError:
            cls = None
    if not (isinstance(cls, type) and issubclass(cls, InitializerBase) and dataclasses.is_dataclass(cls)):
        raise ValueError(validation.error(name, f"the config names no jinit initializer class; got class={path!r}."))
    return cls
