"""aiogram's objects set up once, not once per class of their ancestry.

Every aiogram object (an update, a message, a user, a button, a method such as ``SendMessage``) is a pydantic
model under ``BotContextController``, whose one private attribute, ``_bot``, its ``model_post_init`` binds to the
bot in the validation's context. pydantic wraps ``model_post_init`` anew in every subclass of a model with private
attributes: each wrapper sets the private attributes up (``init_private_attributes``) and calls the wrapper of the
class above. So an object runs that set-up three or four times in Python: with one set-up, a tapped button's update
is read in 29 µs instead of 45, the answer to a sent message in 16 instead of 22, and a ``SendMessage`` is made in
3.7 instead of 6.5 (a keyboard of nine buttons, made by a handler, cost nine objects more).

``flatten_post_init`` gives each class whose ``model_post_init`` is exactly that chain (pydantic's wrappers
around aiogram's own, or around a flattened one for a class defined since, ``_bot`` the only private attribute)
one function doing the same once. A class with a post-init or private attributes of its own keeps pydantic's,
and so does every class when pydantic or aiogram change shape (nothing is flattened then; ``tests/test_client.py``
notices). The echo bot of ``benchmarks/registration.py`` is bare aiogram: it is not flattened."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aiogram.client.context_controller import BotContextController
from pydantic_core import PydanticUndefined

_object_setattr = object.__setattr__
REPLACED: dict[type, Any] = {}  # each flattened class's own post-init chain, as pydantic made it (for tests)


def _post_init(self: BotContextController, context: Any, /) -> None:
    """pydantic's ``init_private_attributes`` (``_bot`` has no default) and aiogram's ``model_post_init``."""
    bot = context.get("bot") if context else None
    private = getattr(self, "__pydantic_private__", None)
    if private is None:
        _object_setattr(self, "__pydantic_private__", {"_bot": bot})
    else:
        private["_bot"] = bot


def _chain() -> tuple[Any, Any] | None:
    """pydantic's wrapper's code and aiogram's own ``model_post_init`` below it; None when not so shaped."""
    wrapper = BotContextController.__dict__.get("model_post_init")
    original = getattr(wrapper, "__wrapped__", None)
    if wrapper is None or original is None or getattr(original, "__wrapped__", None) is not None:
        return None
    private = BotContextController.__private_attributes__
    if set(private) != {"_bot"} or private["_bot"].get_default() is not PydanticUndefined:
        return None
    return wrapper.__code__, original


_SHAPE = _chain()  # read before anything is flattened (BotContextController's own post-init is, too)


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def flatten_post_init() -> int:
    """Flatten the post-init of every aiogram object class defined so far (see the module); how many changed.
    Run again, it changes only classes defined since."""
    if _SHAPE is None:
        return 0
    wrapper_code, original = _SHAPE
    changed = 0
    for cls in {BotContextController, *_subclasses(BotContextController)}:
        post_init = cls.model_post_init
        if post_init is _post_init or set(cls.__private_attributes__) != {"_bot"}:
            continue
        while getattr(post_init, "__code__", None) is wrapper_code:
            post_init = post_init.__wrapped__
        if post_init is original or post_init is _post_init:  # a class defined since: wraps a flattened one
            REPLACED[cls] = cls.model_post_init
            cls.model_post_init = _post_init  # pydantic-core calls it by name: no schema to rebuild
            changed += 1
    return changed
