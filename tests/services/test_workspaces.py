"""Workspaces by name or id, as `--workspace` and the pages give them: hostile refs refused."""

from __future__ import annotations

import pytest

from metricx.errors import InvalidInputError, NotFoundError
from metricx.services.workspaces import create_workspace, find_workspace


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Acme\x00", "the workspace name contains a NUL"),
        ("Acme\ud800", "the workspace name contains an invalid character"),
        ("Acme\tShop", "the workspace name contains a control character"),
    ],
)
def test_a_workspace_name_with_nul_surrogates_or_controls_is_refused(db, name, message):
    with pytest.raises(InvalidInputError, match=message):
        create_workspace(name)


@pytest.mark.parametrize(
    ("ref", "error", "message"),
    [
        ("2147483648", NotFoundError, "no workspace '2147483648'"),  # beyond an integer id
        ("9" * 40, NotFoundError, "no workspace '9999"),
        ("Acme\x00", InvalidInputError, "contains a NUL"),
        ("\udcff", InvalidInputError, "lone surrogate"),  # what argv makes of a byte not UTF-8
        ("x" * 5000, InvalidInputError, "longer than 120 characters"),
    ],
)
def test_a_hostile_workspace_ref_is_refused_in_words(workspace, ref, error, message):
    with pytest.raises(error, match=message) as caught:
        find_workspace(ref)
    assert len(str(caught.value)) < 200


def test_a_workspace_is_found_by_id_or_by_name(workspace):
    assert find_workspace(str(workspace.id)).name == find_workspace(" Acme ").name == "Acme"
