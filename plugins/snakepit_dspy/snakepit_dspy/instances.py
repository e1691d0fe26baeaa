"""Instances ``call_dspy`` constructed, kept per session, and the commands that list and delete them.

``call_dspy(module_path="dspy.Predict", function_name="__init__", ...)``
stores the new object in the calling session under a fresh id
(``predict_3f9a0c1b2d4e``: no dots, so ``stored.<id>`` parses, and never
``enhanced_...``, which DSPex reserves); ``stored.<id>`` reaches it again
from the same session only. DSPex sends every call in the session
``default_session``, so its instances live there.

Each session holds at most ``--dspy-max-instances`` of them; storing one
more evicts the one unused for longest (DSPex never deletes instances, so
refusing would stop a long-running client for good). One unused for
``--dspy-instance-ttl`` seconds expires. All die with their session. Nothing
here imports DSPy: listing and deleting never load it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from snakepit_dspy.replies import answers
from snakepit_host import NotFound

if TYPE_CHECKING:
    from snakepit_host import SessionContext

STATE_KEY = "dspy.instances"
STORED_PREFIX = "stored."


@dataclass
class StoredInstance:
    instance_id: str
    class_name: str
    kind: str
    """What the instance may be asked (a kind of :data:`~snakepit_dspy.catalog.INSTANCE_METHODS`)."""
    value: Any
    created_at: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.monotonic)
    calls: int = 0

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.instance_id,
            "type": self.class_name,
            "kind": self.kind,
            "created_at": self.created_at,
            "idle_seconds": round(time.monotonic() - self.last_used, 3),
            "calls": self.calls,
        }


class Instances:
    """One session's stored instances: bounded in number (least recently used evicted) and in idle time."""

    def __init__(self, limit: int, ttl: float) -> None:
        self.limit = limit
        self.ttl = ttl
        self.evicted = 0
        self.expired = 0
        self._table: OrderedDict[str, StoredInstance] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, value: Any, class_name: str, kind: str) -> StoredInstance:
        prefix = class_name.lower()
        if prefix.startswith("enhanced_"):
            prefix = "instance"
        stored = StoredInstance(f"{prefix}_{secrets.token_hex(6)}", class_name, kind, value)
        with self._lock:
            self._expire()
            while len(self._table) >= self.limit:
                self._table.popitem(last=False)
                self.evicted += 1
            self._table[stored.instance_id] = stored
        return stored

    def get(self, instance_id: str) -> StoredInstance:
        """The instance, marked as used now; NotFound (the same for another session's id) otherwise."""
        with self._lock:
            self._expire()
            stored = self._table.get(instance_id)
            if stored is None:
                raise self._not_found(instance_id)
            self._table.move_to_end(instance_id)
            stored.last_used = time.monotonic()
            stored.calls += 1
            return stored

    def delete(self, instance_id: str) -> StoredInstance:
        with self._lock:
            self._expire()
            stored = self._table.pop(instance_id, None)
        if stored is None:
            raise self._not_found(instance_id)
        return stored

    def _not_found(self, instance_id: str) -> NotFound:
        return NotFound(
            f"Stored object not found: {instance_id[:100]!r} is not an instance of this session "
            f"(instances expire after {self.ttl:g} s unused, and past {self.limit} per session the least "
            "recently used goes); construct it again with call_dspy function_name '__init__'"
        )

    def listing(self) -> list[StoredInstance]:
        with self._lock:
            self._expire()
            return list(self._table.values())

    def _expire(self) -> None:
        deadline = time.monotonic() - self.ttl
        for instance_id in [i for i, stored in self._table.items() if stored.last_used < deadline]:
            del self._table[instance_id]
            self.expired += 1


def session_instances(ctx: SessionContext) -> Instances:
    host = ctx.host
    return ctx.session.state(
        STATE_KEY, lambda: Instances(host.option("dspy_max_instances"), host.option("dspy_instance_ttl"))
    )


def stored_id(module_path: str) -> str | None:
    """The instance id of ``stored.<id>``, else None."""
    return module_path[len(STORED_PREFIX) :] if module_path.startswith(STORED_PREFIX) else None


@answers
def list_stored_objects(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    instances = session_instances(ctx)
    objects = [stored.describe() for stored in instances.listing()]
    return {
        "objects": objects,
        "count": len(objects),
        "max_instances": instances.limit,
        "instance_ttl_seconds": instances.ttl,
        "evicted": instances.evicted,
        "expired": instances.expired,
    }


@answers
def delete_stored_object(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    stored = session_instances(ctx).delete(params["name"])
    return {"deleted": stored.instance_id, "type": stored.class_name}
