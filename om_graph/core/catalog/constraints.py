"""Constraints on characteristic values that the catalog states, so capture checks them and a
front-end can render a form that offers only what will be accepted.

Two kinds:

- :class:`CharacteristicConstraint`: an offering narrows one characteristic of its product
  specification (TMF620's ``prodSpecCharValueUse``): fewer allowed values, a tighter range, a
  pattern, a shorter maxLength, a default of its own, or "required". It can only narrow: the
  registry refuses at startup a constraint that widens its specification's (naming the pack, the
  offering and the characteristic).
- :class:`DependentConstraint`: when other characteristics have given values (every ``when``
  holds), ``then`` narrows one characteristic further. Specifications and offerings both carry
  them (``SpecificationDef.constraints``, ``OfferingDef.constraints``).

:class:`CharacteristicRules` is what capture checks against: a specification's characteristics
with an offering's narrowing applied, their compiled patterns, and the dependent constraints of
both. The registry builds one per offering (and per specification, for values recorded on
domain orders) at startup; :func:`narrowing_problems` is its check of one constraint.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # definitions imports this module's dataclasses
    from om_graph.core.catalog.definitions import CharacteristicDef, SpecificationDef


@dataclass(frozen=True)
class CharacteristicConstraint:
    """Narrows the characteristic ``name``: any field left None keeps the specification's.

    ``pattern`` is a regular expression the whole string value must match (``re.fullmatch``);
    ``required=True`` makes an optional characteristic required (it cannot make a required one
    optional). In a :class:`DependentConstraint`, ``then`` is one of these (``default`` unused)."""

    name: str
    allowed_values: tuple[Any, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    pattern: str | None = None
    max_length: int | None = None
    default: Any = None
    required: bool | None = None
    description: str = ""


@dataclass(frozen=True)
class When:
    """Holds when the characteristic's value (after defaults) is one of ``values``."""

    characteristic: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class DependentConstraint:
    """When every condition in ``when`` holds, ``then`` applies to ``then.name``."""

    when: tuple[When, ...]
    then: CharacteristicConstraint
    description: str = ""

    def applies(self, values: Mapping[str, Any]) -> bool:
        return all(_member(values.get(c.characteristic), c.values) for c in self.when)


def _member(value: Any, allowed: Iterable[Any]) -> bool:
    """``value in allowed`` where True is not 1 (JSON booleans and numbers are different values)."""
    return any(value == a and isinstance(value, bool) == isinstance(a, bool) for a in allowed)


def _describe(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


@dataclass(frozen=True)
class Violation:
    """A value a rule refuses: which kind of rule (``allowed``, ``range``, ``pattern``,
    ``length``, ``required``) and the message; the caller turns it into a field error."""

    kind: str
    message: str


def value_violation(
    value: Any,
    *,
    allowed_values: tuple[Any, ...] | None,
    min_value: float | None,
    max_value: float | None,
    pattern: re.Pattern[str] | None,
    max_length: int | None,
) -> Violation | None:
    """The first rule ``value`` (already of the right type) breaks, or None."""
    if isinstance(value, str) and max_length is not None and len(value) > max_length:
        return Violation("length", f"at most {max_length} characters")
    if allowed_values is not None and not _member(value, allowed_values):
        return Violation("allowed", f"{value!r} is not allowed (allowed: {_describe(allowed_values)})")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if min_value is not None and value < min_value:
            return Violation("range", f"must be at least {min_value:g}")
        if max_value is not None and value > max_value:
            return Violation("range", f"must be at most {max_value:g}")
    if isinstance(value, str) and pattern is not None and pattern.fullmatch(value) is None:
        return Violation("pattern", f"does not match the pattern {pattern.pattern}")
    return None


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Raises ``re.error`` for a pattern that does not compile."""
    return re.compile(pattern)


@dataclass(frozen=True)
class CharacteristicRules:
    """The characteristics a line of an offering (or, without one, a specification) accepts."""

    subject: str  # for messages: the specification's name
    characteristics: tuple[CharacteristicDef, ...]
    dependent: tuple[DependentConstraint, ...] = ()
    by_name: dict[str, CharacteristicDef] = field(init=False)
    patterns: dict[str, re.Pattern[str]] = field(init=False)
    dependent_patterns: dict[int, re.Pattern[str]] = field(init=False)  # by index in ``dependent``

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.characteristics})
        object.__setattr__(
            self, "patterns", {c.name: compile_pattern(c.pattern) for c in self.characteristics if c.pattern is not None}
        )
        object.__setattr__(
            self,
            "dependent_patterns",
            {i: compile_pattern(d.then.pattern) for i, d in enumerate(self.dependent) if d.then.pattern is not None},
        )

    @classmethod
    def of_specification(cls, spec: SpecificationDef) -> CharacteristicRules:
        return cls(spec.name, spec.characteristics, spec.constraints)

    def violation(self, name: str, value: Any) -> Violation | None:
        """What the characteristic's own rules (not the dependent ones) say of a typed value."""
        defn = self.by_name[name]
        return value_violation(
            value,
            allowed_values=defn.allowed_values,
            min_value=defn.min_value,
            max_value=defn.max_value,
            pattern=self.patterns.get(name),
            max_length=defn.effective_max_length,
        )

    def dependent_violations(self, values: Mapping[str, Any], names: Iterable[str] | None = None) -> list[tuple[str, Violation]]:
        """(characteristic, violation) for each dependent constraint that applies to ``values``
        and is broken; when ``names`` are given (the values just changed), only those whose
        target or one of whose conditions is among them: a changed condition re-checks the
        values already held. A target that is absent breaks only a ``required`` constraint."""
        wanted = None if names is None else set(names)
        found: list[tuple[str, Violation]] = []
        for index, constraint in enumerate(self.dependent):
            then = constraint.then
            if wanted is not None and then.name not in wanted and not any(c.characteristic in wanted for c in constraint.when):
                continue
            if not constraint.applies(values):
                continue
            condition = " and ".join(f"{c.characteristic} is {_describe(c.values)}" for c in constraint.when)
            value = values.get(then.name)
            if value is None or (isinstance(value, str) and not value.strip() and then.required):
                if then.required:
                    found.append((then.name, Violation("required", f"is required when {condition}")))
                continue
            broken = value_violation(
                value,
                allowed_values=then.allowed_values,
                min_value=then.min_value,
                max_value=then.max_value,
                pattern=self.dependent_patterns.get(index),
                max_length=then.max_length,
            )
            if broken is not None:
                found.append((then.name, Violation(broken.kind, f"{broken.message} when {condition}")))
        return found

    def constraints_on(self, name: str) -> list[DependentConstraint]:
        return [d for d in self.dependent if d.then.name == name]


# -- the registry's checks -------------------------------------------------------------------------


def _type_ok(value_type: str, value: Any) -> bool:
    if value_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if value_type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if value_type == "boolean":
        return isinstance(value, bool)
    return isinstance(value, str)


def _pattern_problem(pattern: str | None) -> str | None:
    if pattern is None:
        return None
    try:
        compile_pattern(pattern)
    except re.error as exc:
        return f"pattern {pattern!r} does not compile ({exc})"
    return None


def definition_problems(defn: CharacteristicDef) -> list[str]:
    """What is wrong with a specification's own characteristic (its pattern, its default)."""
    problems = []
    if defn.pattern is not None and defn.value_type != "string":
        problems.append("a pattern applies to strings only")
    elif (problem := _pattern_problem(defn.pattern)) is not None:
        problems.append(problem)
    elif defn.default is not None:
        rules = CharacteristicRules("", (defn,))
        if not _type_ok(defn.value_type, defn.default):
            problems.append(f"default {defn.default!r} is not a {defn.value_type}")
        elif (broken := rules.violation(defn.name, defn.default)) is not None:
            problems.append(f"default {defn.default!r}: {broken.message}")
    return problems


def narrowing_problems(defn: CharacteristicDef, constraint: CharacteristicConstraint, *, dependent: bool = False) -> list[str]:
    """Why ``constraint`` does not only narrow ``defn`` (empty when it does)."""
    problems: list[str] = []
    numeric = defn.value_type in ("integer", "number")
    if constraint.allowed_values is not None:
        if not constraint.allowed_values:
            problems.append("allowedValues is empty: nothing could be ordered")
        for value in constraint.allowed_values:
            if not _type_ok(defn.value_type, value):
                problems.append(f"allowed value {value!r} is not a {defn.value_type}")
            elif (broken := CharacteristicRules("", (defn,)).violation(defn.name, value)) is not None:
                problems.append(f"allowed value {value!r} widens the specification ({broken.message})")
    for label, bound in (("minValue", constraint.min_value), ("maxValue", constraint.max_value)):
        if bound is None:
            continue
        if not numeric:
            problems.append(f"{label} applies to integer and number characteristics only")
            continue
        if defn.min_value is not None and bound < defn.min_value or defn.max_value is not None and bound > defn.max_value:
            problems.append(f"{label} {bound:g} is outside the specification's range {defn.min_value}..{defn.max_value}")
    if constraint.min_value is not None and constraint.max_value is not None and constraint.min_value > constraint.max_value:
        problems.append(f"minValue {constraint.min_value:g} is above maxValue {constraint.max_value:g}")
    if constraint.pattern is not None or constraint.max_length is not None:
        if defn.value_type != "string":
            problems.append("pattern and maxLength apply to strings only")
        else:
            if (problem := _pattern_problem(constraint.pattern)) is not None:
                problems.append(problem)
            limit = defn.effective_max_length or 0
            if constraint.max_length is not None and not 1 <= constraint.max_length <= limit:
                problems.append(f"maxLength {constraint.max_length} is outside the specification's 1..{limit}")
    if constraint.required is False and defn.required:
        problems.append("cannot make a required characteristic optional")
    if dependent and constraint.default is not None:
        problems.append("a dependent constraint cannot set a default")
    if not problems and constraint.default is not None:
        narrowed = narrow(defn, constraint)
        if not _type_ok(defn.value_type, constraint.default):
            problems.append(f"default {constraint.default!r} is not a {defn.value_type}")
        elif (broken := CharacteristicRules("", (narrowed,)).violation(defn.name, constraint.default)) is not None:
            problems.append(f"default {constraint.default!r}: {broken.message}")
    return problems


def condition_problems(defs: Mapping[str, CharacteristicDef], constraint: DependentConstraint) -> list[str]:
    problems: list[str] = []
    if not constraint.when:
        problems.append("a dependent constraint needs at least one condition (when)")
    for condition in constraint.when:
        defn = defs.get(condition.characteristic)
        if defn is None:
            problems.append(f"condition on unknown characteristic {condition.characteristic!r}")
            continue
        if not condition.values:
            problems.append(f"condition on {condition.characteristic!r} lists no values")
        for value in condition.values:
            if not _type_ok(defn.value_type, value):
                problems.append(f"condition value {value!r} of {condition.characteristic!r} is not a {defn.value_type}")
    if constraint.then.name in {c.characteristic for c in constraint.when}:
        problems.append(f"{constraint.then.name!r} cannot depend on itself")
    return problems


def narrow(defn: CharacteristicDef, constraint: CharacteristicConstraint) -> CharacteristicDef:
    """``defn`` with the constraint's narrowing applied (the constraint checked to narrow it)."""
    changes: dict[str, Any] = {}
    if constraint.allowed_values is not None:
        changes["allowed_values"] = tuple(constraint.allowed_values)
    if constraint.min_value is not None:
        changes["min_value"] = constraint.min_value
    if constraint.max_value is not None:
        changes["max_value"] = constraint.max_value
    if constraint.pattern is not None:
        # Both must match: which strings one regular expression accepts cannot be checked to be a
        # subset of another's, so the specification's stays (a lookahead, still one full match).
        # The end of input is written (?![\s\S]), which Python and JavaScript read alike
        # (a front-end checks the pattern productOfferings shows).
        changes["pattern"] = (
            constraint.pattern if defn.pattern is None else f"(?=(?:{defn.pattern})(?![\\s\\S]))(?:{constraint.pattern})"
        )
    if constraint.max_length is not None:
        changes["max_length"] = constraint.max_length
    if constraint.default is not None:
        changes["default"] = constraint.default
    if constraint.required:
        changes["required"] = True
    if constraint.description:
        changes["description"] = constraint.description
    return dataclasses.replace(defn, **changes)
