"""Lanner's shipped blueprints: each is listed once, and each flow validates with no problem at all."""

from __future__ import annotations

import pytest

from lanner.blueprints import catalogue, tag_id
from lanner.flows.validator import validate_source


def test_the_catalogue_lists_eight_to_twelve_blueprints_with_unique_ids_and_what_they_show():
    blueprints = catalogue()
    assert 8 <= len(blueprints) <= 12
    assert len({b.id for b in blueprints}) == len(blueprints)
    for blueprint in blueprints:
        assert blueprint.title and blueprint.description and blueprint.tags, blueprint.id
        assert all(tag_id(tag) for tag in blueprint.tags)
        assert blueprint.included_tasks and all(t.startswith("io.kestra.") for t in blueprint.included_tasks)


@pytest.mark.parametrize("blueprint", catalogue(), ids=lambda b: b.id)
def test_every_shipped_blueprint_validates_without_errors_warnings_or_deprecations(blueprint):
    validation = validate_source(blueprint.source, f"{blueprint.id}.yaml")
    assert validation.flow is not None
    assert [p.format() for p in validation.problems] == []
