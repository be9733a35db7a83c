import pytest

from metricx.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from metricx.services import audit, connections


def test_an_admin_adds_a_connection_and_sees_it_listed_without_its_token(admin):
    added = connections.add_connection(admin, "meta", "act_1234", "EAAB-token", name="EU store")
    listed = connections.list_connections(admin.workspace_id)
    assert [(c.id, c.provider, c.external_account_id, c.name, c.status) for c in listed] == [
        (added.id, "meta", "1234", "EU store", "active")
    ]
    assert not hasattr(listed[0], "token")
    assert connections.read_token(admin.workspace_id, added.id) == "EAAB-token"


@pytest.mark.parametrize(
    "provider, account, normalised",
    [
        ("meta", "act_998877", "998877"),
        ("google", "123-456-7890", "1234567890"),
        ("shopify", "https://Acme-Store.myshopify.com/", "acme-store.myshopify.com"),
    ],
)
def test_account_ids_are_stored_the_way_each_api_wants_them(admin, provider, account, normalised):
    added = connections.add_connection(admin, provider, account, "tok")
    assert added.external_account_id == normalised


@pytest.mark.parametrize(
    "provider, account, token, message",
    [
        ("meta", "act_12ab", "tok", "Meta ad account id"),
        ("google", "12345", "tok", "10 digits"),
        ("shopify", "acme.com", "tok", "myshopify.com"),
        ("snapchat", "1", "tok", "provider must be one of"),
        ("meta", "act_1", "   ", "token is empty"),
        ("meta", "act_1", "two words", "paste it exactly"),
        ("meta", "act_1", "EAAB\x00", "the token contains a NUL"),
        ("meta", "act_1", "EAAB\ud800", "the token contains an invalid character"),
        ("meta", "act_1\x00", "tok", "the account id contains a NUL"),
        ("google", "١٢٣٤٥٦٧٨٩٠", "tok", "10 digits"),  # digits, but not ASCII ones
    ],
)
def test_bad_input_is_refused_with_a_reason_and_nothing_is_stored(
    admin, provider, account, token, message
):
    with pytest.raises(InvalidInputError, match=message):
        connections.add_connection(admin, provider, account, token)
    assert connections.list_connections(admin.workspace_id) == []


@pytest.mark.parametrize(
    "name, message",
    [
        ("Meta\x00EU", "the connection name contains a NUL"),
        ("Meta\nEU", "the connection name contains a control character"),
        ("x" * 201, "longer than 200"),
    ],
)
def test_a_connection_name_with_nul_or_controls_is_refused(admin, name, message):
    with pytest.raises(InvalidInputError, match=message):
        connections.add_connection(admin, "meta", "act_1", "tok", name=name)
    assert connections.list_connections(admin.workspace_id) == []


def test_the_same_account_twice_is_refused(admin):
    connections.add_connection(admin, "meta", "act_1", "tok")
    with pytest.raises(InvalidInputError, match="already has a meta connection"):
        connections.add_connection(admin, "meta", "1", "tok2")


def test_a_member_cannot_add_rotate_or_pause(admin, member):
    added = connections.add_connection(admin, "meta", "act_1", "tok")
    with pytest.raises(PermissionDeniedError):
        connections.add_connection(member, "meta", "act_2", "tok")
    with pytest.raises(PermissionDeniedError):
        connections.rotate_token(member, added.id, "new")
    with pytest.raises(PermissionDeniedError):
        connections.set_status(member, added.id, "paused")


def test_another_workspace_neither_sees_nor_reaches_our_connection(admin, other_workspace):
    from metricx.actor import Actor

    ours = connections.add_connection(admin, "meta", "act_1", "tok")
    intruder = Actor.system(other_workspace.id, label="intruder")
    assert connections.list_connections(other_workspace.id) == []
    with pytest.raises(NotFoundError):
        connections.get_connection(other_workspace.id, ours.id)
    with pytest.raises(NotFoundError):
        connections.read_token(other_workspace.id, ours.id)
    with pytest.raises(NotFoundError):
        connections.rotate_token(intruder, ours.id, "stolen")
    with pytest.raises(NotFoundError):
        connections.set_status(intruder, ours.id, "paused")
    assert connections.read_token(admin.workspace_id, ours.id) == "tok"


def test_rotating_a_token_reactivates_a_connection_that_needed_reauth(admin):
    from metricx.db import transaction
    from metricx.models import Connection

    added = connections.add_connection(admin, "google", "1234567890", "old", token_kind="refresh")
    with transaction() as session:
        session.get(Connection, added.id).status = "needs_reauth"
    connections.rotate_token(admin, added.id, "new", kind="refresh")
    assert connections.get_connection(admin.workspace_id, added.id).status == "active"
    assert connections.read_token(admin.workspace_id, added.id, kind="refresh") == "new"


def test_every_admin_action_lands_in_the_audit_log(admin):
    added = connections.add_connection(admin, "meta", "act_1", "tok")
    connections.set_status(admin, added.id, "paused")
    connections.rotate_token(admin, added.id, "tok2")
    actions = [(a.action, a.actor) for a in audit.recent(admin.workspace_id)]
    assert actions[:3] == [
        ("connection.rotate_token", admin.label),
        ("connection.set_status", admin.label),
        ("connection.add", admin.label),
    ]
