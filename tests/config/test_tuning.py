"""The one tuning object: every knob documented, frozen, and described in one place."""

from __future__ import annotations

import pydantic
import pytest

from planner.config.tuning import SolveTuning, describe


def test_every_knob_says_what_it_is_for():
    """Each field of every group carries a description; ``describe`` lists
    every one of them, with its value."""
    tuning = SolveTuning()
    fields = [(g, n) for g, model in tuning for n in type(model).model_fields]
    assert len(fields) > 40
    lines = describe(tuning)
    assert len(lines) == len(fields)
    for (group, name), line in zip(fields, lines):
        field = type(getattr(tuning, group)).model_fields[name]
        assert field.description and len(field.description) > 20, f"{group}.{name}"
        assert line.startswith(f"{group}.{name} = ")


def test_the_tuning_is_frozen_and_overrides_are_validated():
    tuning = SolveTuning()
    with pytest.raises(pydantic.ValidationError):
        tuning.staged.relax_share = 0.1  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="less than or equal to 1"):
        SolveTuning.model_validate({"staged": {"relax_share": 2.0}})
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        SolveTuning.model_validate({"repair": {"partner": 4}})
    assert SolveTuning.model_validate({"repair": {"partners": 5}}).repair.partners == 5
