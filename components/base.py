"""What every component shares: the type token, tags, the ``transform`` escape hatch per child,
physical names, and a single way to create children.

Precedence for a child's arguments (as in AWS Solutions Constructs): what the component needs to
be correct is computed first, user settings and defaults fill it, then ``transform`` has the last
word, deliberately: it is the escape hatch for what the args do not expose.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import pulumi

from . import defaults
from .naming import NameKind, physical_name
from .validation import Problems

__all__ = [
    "PACKAGE",
    "ResilientComponent",
    "Transform",
    "apply_transform",
    "created_components",
    "deep_merge",
    "stack_tags",
]

PACKAGE = "resilient-serverless"

# A partial dict of resource args merged in, or a callable that edits args and options in place
# (or returns a new ``(args, opts)`` pair).
Transform = Mapping[str, Any] | Callable[[dict[str, Any], pulumi.ResourceOptions], Any]
R = TypeVar("R", bound=pulumi.Resource)


def deep_merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``patch`` into a copy of ``base``: nested dicts merge, anything else replaces."""
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def apply_transform(
    transform: Transform | None, args: dict[str, Any], opts: pulumi.ResourceOptions
) -> tuple[dict[str, Any], pulumi.ResourceOptions]:
    if transform is None:
        return args, opts
    if isinstance(transform, Mapping):
        return deep_merge(args, transform), opts
    result = transform(args, opts)
    if result is None:
        return args, opts
    new_args, new_opts = result
    return dict(new_args), new_opts


@functools.cache
def _takes_tags(resource_cls: type) -> bool:
    init = getattr(resource_cls, "_internal_init", None)
    return init is not None and "tags" in inspect.signature(init).parameters


def is_taggable(resource_cls: type) -> bool:
    """True when the pulumi-aws resource class takes ``tags`` (read from its signature)."""
    return _takes_tags(resource_cls)


class ResilientComponent(pulumi.ComponentResource):
    """Base of every component: ``resilient-serverless:index:<ClassName>``.

    Subclasses validate their args *before* calling ``super().__init__`` (nothing is registered
    for bad input), list their children's transform keys in ``TRANSFORM_KEYS`` and create
    children through ``_child``.
    """

    TRANSFORM_KEYS: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        transform: Mapping[str, Transform] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PACKAGE}:index:{type(self).__name__}", name, None, opts)
        self._name = name
        self._transform = dict(transform or {})
        self.tags = stack_tags(f"{type(self).__name__}/{name}", tags)
        self.alarm_resources: list[pulumi.Resource] = []
        """Every alarm made through ``_alarm``, so operations can show them (``Operations``)."""
        _register_created(self)

    @classmethod
    def check_transform_keys(cls, transform: Mapping[str, Any] | None, problems: Problems) -> None:
        if not transform:
            return
        problems.check_known_keys(transform, cls.TRANSFORM_KEYS, what="transform key")
        for key, value in transform.items():
            if key in cls.TRANSFORM_KEYS and not (isinstance(value, Mapping) or callable(value)):
                problems.add(f"transform[{key!r}] must be a dict or a callable, got {value!r}")

    def physical(self, kind: NameKind, suffix: str = "", *, fifo: bool = False) -> str:
        """This component's physical name for a child of ``kind``: project-stack-name[-suffix]."""
        return physical_name(kind, pulumi.get_project(), pulumi.get_stack(), self._name, suffix, fifo=fifo)

    def _alarm(self, suffix: str, topic: pulumi.Input[str] | None, **args: Any) -> pulumi.Resource:
        """A CloudWatch alarm ``<name>-alarm-<suffix>`` that fires above its threshold; alarm and OK
        actions to ``topic``. Defaults: 60 s periods, 2 of 3 breaching, missing data not breaching."""
        import pulumi_aws as aws  # noqa: PLC0415 (keeps this module light for naming and rules)

        actions = [topic] if topic is not None else []
        alarm = self._child(
            "alarm",
            aws.cloudwatch.MetricAlarm,
            f"alarm-{suffix}",
            {
                "name": self.physical("alarm", suffix),
                "comparison_operator": "GreaterThanThreshold",
                "period": defaults.ALARM_PERIOD_S,
                "evaluation_periods": defaults.ALARM_EVALUATION_PERIODS,
                "datapoints_to_alarm": defaults.ALARM_DATAPOINTS_TO_ALARM,
                "treat_missing_data": "notBreaching",
                "alarm_actions": actions,
                "ok_actions": actions,
                **args,
            },
        )
        self.alarm_resources.append(alarm)
        return alarm

    def _before_child(self, resource_cls: type, suffix: str, args: dict[str, Any]) -> None:
        """A subclass's look at each child's args before the user's transform (a REST API records
        what its deployment snapshots)."""

    def _child(
        self,
        key: str,
        resource_cls: type[R],
        suffix: str,
        args: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> R:
        """Create the child ``<name>-<suffix>`` with tags, ``parent=self`` and the user's transform."""
        self._before_child(resource_cls, suffix, args)
        if key not in self.TRANSFORM_KEYS:
            raise KeyError(f"{type(self).__name__} has no transform key {key!r}")
        base_opts = pulumi.ResourceOptions(parent=self)
        opts = pulumi.ResourceOptions.merge(base_opts, opts) if opts else base_opts
        if is_taggable(resource_cls):
            args = {**args, "tags": {**self.tags, **dict(args.get("tags") or {})}}
        args, opts = apply_transform(self._transform.get(key), args, opts)
        return resource_cls(f"{self._name}-{suffix}", opts=opts, **args)


# Components created in the running program, keyed by the engine monitor that runs it, so an
# ``Operations`` component can collect them without the user listing each one, and a second
# program in the same process (tests) never sees the first one's components.
_CREATED: list[tuple[object, ResilientComponent]] = []


def _register_created(component: ResilientComponent) -> None:
    monitor = pulumi.runtime.settings.get_monitor()
    if _CREATED and _CREATED[-1][0] is not monitor:
        _CREATED.clear()  # a new program (tests run many in one process): forget the last one's
    _CREATED.append((monitor, component))


def created_components() -> list[ResilientComponent]:
    """Every ResilientComponent created so far by the running program, in creation order."""
    monitor = pulumi.runtime.settings.get_monitor()
    _CREATED[:] = [(m, c) for m, c in _CREATED if m is monitor]
    return [c for _, c in _CREATED]


def stack_tags(component: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The tags every taggable resource carries: environment, component, managed-by."""
    return {
        "environment": pulumi.get_stack(),
        "component": component,
        "managed-by": defaults.MANAGED_BY_TAG,
        **dict(extra or {}),
    }
