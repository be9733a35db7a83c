"""Settings (admin): workspace zone and currency, FX rates, cost rules, expenses, custom
metrics and dimensions (previewed on last week's data), the Dashboard's tiles, users, the
pixel key.

Every input keeps what was typed when a save is refused. Inputs that show a stored value are
seeded from it once (the widget's key then holds what is typed); after a save their keys are
dropped and the page reruns, so they show what is stored now, every list shows the change, and
a flash message says what happened."""

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from metricx.config import get_config
from metricx.errors import MetricxError
from metricx.pixel.snippet import collector_url, shopify_custom_pixel, snippet
from metricx.semantic.dates import today_in
from metricx.services import custom_definitions, expenses, pixel_keys, settings, users
from metricx.services.expenses import Expense
from metricx.services.workspaces import find_workspace
from metricx.vocabulary import ROLES
from ui import custom_definitions as custom_ui
from ui.checklist import forget_setup, setup_checklist
from ui.format import ago, literal
from ui.queries import forget_cached_queries
from ui.session import current_actor

FLASH = "settings_flash"  # (section, message) of the last save, shown after its rerun
WORKSPACE_INPUTS = ("ws_timezone", "ws_currency", "ws_utm")
COST_LABELS = {
    "shipping_cost_per_order": "Shipping cost per order",
    "shipping_cost_pct": "Shipping cost, share of revenue (0–1)",
    "payment_fee_pct": "Payment fee, share of the total (0–1)",
    "payment_fee_fixed": "Payment fee per order",
    "handling_per_order": "Handling per order",
}
COST_INPUTS = {field: f"cost_{field}" for field in COST_LABELS}
EXPENSE_INPUTS = ("name", "kind", "currency", "amount", "percent", "ad_spend", "start", "end")
INVITE_INPUTS = ("invite_email", "invite_role", "invite_password")

actor = current_actor()
actor.require_admin("change settings")
workspace = find_workspace(actor.workspace_id)
st.title("Settings")


def seed(values: dict[str, object]) -> None:
    """Start inputs from what is stored, once: afterwards their keys hold what is typed."""
    for key, value in values.items():
        st.session_state.setdefault(key, value)


def typed(amount: Decimal | None) -> str:
    """A stored amount as a person would type it: "5", "0.029" (not "5.000000")."""
    return "" if amount is None else f"{amount.normalize():f}"


def save(
    action: Callable[[], object], section: str, success: str, inputs: Iterable[str] = ()
) -> None:
    """Run a change. Refused: say why, keep every input. Done: drop `inputs` (seeded again from
    what is stored) and rerun, so lists, the setup checklist, the inputs and every page's
    figures (a zone, rate, cost or definition changes them) show the change."""
    try:
        action()
    except MetricxError as error:
        st.error(str(error))
        return
    for key in inputs:
        st.session_state.pop(key, None)
    forget_setup(actor.workspace_id)
    forget_cached_queries()
    st.session_state[FLASH] = (section, success)
    st.rerun()


def flash(section: str) -> None:
    """The message of this section's last save, once, on the run after it."""
    if st.session_state.get(FLASH, ("",))[0] == section:
        st.success(st.session_state.pop(FLASH)[1])


st.subheader("Workspace")
flash("workspace")
if workspace.settings_confirmed_at is None:
    st.info(
        "**Not confirmed yet.** Every report's days are this zone's days and its money "
        "this currency: check both, then save.",
        icon=":material/pending:",
    )
seed(
    {
        "ws_timezone": workspace.timezone,
        "ws_currency": workspace.currency,
        "ws_utm": workspace.utm_match,
    }
)
with st.form("workspace"):
    timezone = st.text_input(
        "Time zone (IANA)", key="ws_timezone", help="Days in every report are this zone's days."
    )
    currency = st.text_input("Reporting currency", key="ws_currency")
    utm_match = st.selectbox("Match UTMs to campaigns by", settings.UTM_MATCHES, key="ws_utm")
    if st.form_submit_button("Save workspace", key="ws_save"):
        save(
            lambda: settings.update_workspace(
                actor, timezone=timezone, currency=currency, utm_match=utm_match
            ),
            "workspace",
            "Saved: time zone and currency confirmed.",
            WORKSPACE_INPUTS,
        )

st.subheader("FX rates")
st.caption(
    f"Money in other currencies is converted into {workspace.currency} at the rate of "
    "its day; a missing day is reported, never guessed."
)
flash("fx")
with st.form("fx"):
    left, middle, right = st.columns(3)
    day = left.date_input("Day", key="fx_day")
    source = middle.text_input("From currency", "EUR", key="fx_from")
    rate = right.text_input(f"Rate into {workspace.currency}", key="fx_rate")
    if st.form_submit_button("Save rate", key="fx_save"):
        # The day and currency stay: the next rate is usually the next day's.
        save(
            lambda: settings.set_fx_rate(actor, day, source, rate),
            "fx",
            "Rate saved.",
            ("fx_rate",),
        )
rates = settings.fx_rates(actor.workspace_id)
if rates:
    st.dataframe(
        pd.DataFrame(
            [
                {"Day": r.day, "From": r.from_currency, "To": r.to_currency, "Rate": float(r.rate)}
                for r in rates
            ]
        ),
        hide_index=True,
    )
else:
    st.caption("No rates yet: needed only if an ad account or shop uses another currency.")

st.subheader("Costs")
flash("costs")
if not setup_checklist(actor.workspace_id).costs_reviewed:
    st.info(
        "**Not reviewed yet**: every cost below counts as 0, so profit leaves them out. "
        "Enter what you pay and save (0 is a fine answer when it is the truth).",
        icon=":material/pending:",
    )
current = settings.costs(actor.workspace_id)
seed({key: typed(getattr(current, field)) for field, key in COST_INPUTS.items()})
with st.form("costs"):
    columns = st.columns(2)
    values = {
        field: columns[i % 2].text_input(label, key=COST_INPUTS[field])
        for i, (field, label) in enumerate(COST_LABELS.items())
    }
    if st.form_submit_button("Save costs", key="costs_save"):
        save(
            lambda: settings.update_costs(actor, **values),
            "costs",
            "Costs saved.",
            COST_INPUTS.values(),
        )

st.subheader("Expenses")
st.caption(
    "Custom costs in the P&L (Finance page). Monthly amounts are spread over the days "
    "of their month; a share of revenue is a fraction (0.05 = 5 %) of net sales + "
    "shipping charged. Flag an expense as ad spend (an agency, an influencer) to count "
    "it there instead of under other expenses."
)
flash("expenses")


def expense_inputs(prefix: str) -> list[str]:
    return [f"{prefix}_{name}" for name in EXPENSE_INPUTS]


def expense_fields(prefix: str, current: Expense | None) -> dict:
    """The inputs of one expense (inside a form), seeded from `current` or blank; what they
    hold, as service arguments."""
    month_start = today_in(workspace.timezone).replace(day=1)  # the workspace's month
    seed(
        {
            f"{prefix}_name": current.name if current else "",
            f"{prefix}_kind": current.kind if current else "monthly",
            f"{prefix}_currency": current.currency if current else workspace.currency,
            f"{prefix}_amount": typed(current.amount) if current else "",
            f"{prefix}_percent": typed(current.percent) if current else "",
            f"{prefix}_ad_spend": bool(current and current.counts_as_ad_spend),
            f"{prefix}_start": current.start_date if current else month_start,
            f"{prefix}_end": current.end_date if current else None,
        }
    )
    left, middle, right = st.columns(3)
    return {
        "name": left.text_input("Name", key=f"{prefix}_name"),
        "kind": middle.selectbox(
            "Kind",
            expenses.KINDS,
            format_func=expenses.KIND_LABELS.__getitem__,
            key=f"{prefix}_kind",
        ),
        "currency": right.text_input("Currency", key=f"{prefix}_currency"),
        "amount": left.text_input("Amount (monthly, one-off)", key=f"{prefix}_amount"),
        "percent": middle.text_input("Share of revenue (0–1)", key=f"{prefix}_percent"),
        "counts_as_ad_spend": right.checkbox("Counts as ad spend", key=f"{prefix}_ad_spend"),
        "start_date": left.date_input("Starts (one-off: its date)", key=f"{prefix}_start"),
        "end_date": middle.date_input("Ends (optional)", None, key=f"{prefix}_end"),
    }


recorded = expenses.list_expenses(actor.workspace_id)
with st.form("expense_add"):
    new_expense = expense_fields("exp_add", None)
    if st.form_submit_button("Add expense", key="exp_add_save"):
        save(
            lambda: expenses.add_expense(actor, **new_expense),
            "expenses",
            f"Added {new_expense['name'].strip()}.",
            expense_inputs("exp_add"),
        )
if recorded:
    with st.expander("Edit or delete an expense"):
        by_id = {e.id: e for e in recorded}
        chosen = st.selectbox(
            "Expense",
            list(by_id),
            key="exp_pick",
            format_func=lambda i: (
                f"{by_id[i].name} · {expenses.KIND_LABELS[by_id[i].kind]} · from "
                f"{by_id[i].start_date}"
            ),
        )
        prefix = f"exp_edit_{chosen}"
        with st.form("expense_edit"):
            edited = expense_fields(prefix, by_id[chosen])
            left, right = st.columns(2)
            if left.form_submit_button("Save expense", key="exp_edit_save"):
                save(
                    lambda: expenses.update_expense(actor, chosen, **edited),
                    "expenses",
                    "Expense saved.",
                    expense_inputs(prefix),
                )
            if right.form_submit_button("Delete expense", key="exp_delete"):
                save(
                    lambda: expenses.delete_expense(actor, chosen),
                    "expenses",
                    "Expense deleted.",
                    [*expense_inputs(prefix), "exp_pick"],
                )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Name": e.name,
                    "Kind": expenses.KIND_LABELS[e.kind],
                    "Amount": None if e.amount is None else float(e.amount),
                    "Share of revenue": None if e.percent is None else float(e.percent),
                    "Currency": e.currency,
                    "Starts": e.start_date,
                    "Ends": e.end_date,
                    "Ad spend": e.counts_as_ad_spend,
                }
                for e in recorded
            ]
        ),
        hide_index=True,
        column_config={"Share of revenue": st.column_config.NumberColumn(format="percent")},
    )
else:
    st.caption("No expenses yet.")


def definition_editor(
    kind: custom_definitions.Kind, saved: Mapping[str, Any], drops: Iterable[str] = ()
) -> None:
    """Pick a custom metric or dimension (or a new one), edit it with a preview on last
    week's data, save or delete it; a delete also drops the inputs `drops` (that list it)."""
    code, section, editor = f"c{kind[0]}", f"custom_{kind}s", custom_ui.EDITORS[kind]
    chosen = st.selectbox(
        f"Add or edit a {kind}",
        ["", *saved],
        key=f"{code}_pick",
        format_func=lambda k: f"{saved[k].label} ({k})" if k else f"New {kind}",
    )
    stored = saved.get(chosen)
    prefix = f"{code}_edit_{chosen}" if stored else f"{code}_new"
    start = editor.start(prefix, stored)
    seed(start)
    typed_id, draft = editor.inputs(prefix, stored)
    key = chosen or typed_id
    inputs = [*start, *(prefix + suffix for suffix in editor.unseeded)]
    editor.preview(actor.workspace_id, key, draft)
    if st.button(f"Save {kind}", key=f"{code}_save"):
        save(
            lambda: editor.save(actor, key, draft),
            section,
            f"Saved the custom {kind} {key}.",
            inputs,
        )
    if stored is None:
        return
    confirm = f"{prefix}_confirm_delete"
    confirmed = st.checkbox(f"Delete {literal(chosen)}: {editor.loss}", key=confirm)
    if st.button(f"Delete {kind}", key=f"{code}_delete", disabled=not confirmed):
        save(
            lambda: custom_definitions.delete_definition(actor, kind, chosen),
            section,
            f"Deleted the custom {kind} {chosen}.",
            [*inputs, confirm, f"{code}_pick", *drops],
        )


saved_definitions = custom_definitions.definitions(actor.workspace_id)
st.subheader("Custom metrics")
st.caption(
    "Metrics of your own, built from the catalogue's by a formula: Analytics, the Dashboard's "
    "tiles, the copilot and alerts use them like any other."
)
flash("custom_metrics")
custom_ui.metric_table(saved_definitions.metrics)
definition_editor("metric", saved_definitions.metrics, drops=("tiles",))

st.subheader("Custom dimensions")
st.caption(
    "Splits of your own, by rules over names or platform (e.g. a funnel stage): every "
    "query can split and filter by them, and a formula can restrict a metric to one value."
)
flash("custom_dimensions")
custom_ui.dimension_table(saved_definitions.dimensions)
definition_editor("dimension", saved_definitions.dimensions)

st.subheader("Dashboard tiles")
st.caption("The KPIs the Dashboard shows first, catalogue or custom.")
flash("tiles")
seed({"tiles": custom_definitions.dashboard_tiles(actor.workspace_id)})
chosen_tiles = custom_ui.tile_picker("tiles", custom_ui.tile_labels(saved_definitions.metrics))
left, right = st.columns(2)
if left.button("Save tiles", key="tiles_save"):
    save(
        lambda: custom_definitions.set_dashboard_tiles(actor, chosen_tiles),
        "tiles",
        "Tiles saved: the Dashboard shows them in this order.",
        ("tiles",),
    )
if right.button("Restore defaults", key="tiles_default"):
    save(
        lambda: custom_definitions.set_dashboard_tiles(actor, None),
        "tiles",
        "The Dashboard shows its default tiles again.",
        ("tiles",),
    )

st.subheader("Users")
flash("users")
st.dataframe(
    pd.DataFrame(
        [
            {"Email": u.email, "Name": u.name, "Role": u.role, "Last login": ago(u.last_login_at)}
            for u in users.list_users(actor.workspace_id)
        ]
    ),
    hide_index=True,
)
with st.form("invite"):
    left, middle, right = st.columns(3)
    email = left.text_input("Email", key="invite_email")
    role = middle.selectbox("Role", ROLES, index=1, key="invite_role")
    password = right.text_input(
        "First password",
        type="password",
        key="invite_password",
        help="Give it to them privately; they change it under Account.",
    )
    if st.form_submit_button("Add user", key="invite_save"):
        save(
            lambda: users.add_user(actor.workspace_id, email, password, role=role, actor=actor),
            "users",
            f"Added {email.strip().lower()}.",
            INVITE_INPUTS,
        )
with st.expander("Remove a user or reset a password"):
    others = [u.email for u in users.list_users(actor.workspace_id) if u.email != actor.label]
    if not others:
        st.caption("You are the only user.")
    else:
        user_email = st.selectbox("User", others, key="manage_user")
        new_password = st.text_input("New password", type="password", key="reset_password")
        left, right = st.columns(2)
        if left.button("Reset password", key="reset_save"):
            save(
                lambda: users.set_password(user_email, new_password, actor),
                "users",
                f"Password of {user_email} reset.",
                ("reset_password",),
            )
        if right.button("Remove user", key="remove_user"):
            save(
                lambda: users.remove_user(actor, user_email),
                "users",
                f"Removed {user_email}.",
                ("manage_user", "reset_password"),
            )

st.subheader("Pixel")
st.caption(
    "The pixel sends your store's page views, add-to-carts and purchases to the pixel "
    "collector under this workspace's key, for attribution."
)
flash("pixel")
pixel_config = get_config()
pixel_key = pixel_keys.pixel_key(actor)
st.code(pixel_key, language=None)
if not collector_url(pixel_config).startswith("https://"):
    st.warning(
        "Buyers' browsers reach the collector at "
        f"{collector_url(pixel_config)}, which a store on https cannot post to: "
        "set PIXEL_PUBLIC_URL to the collector's public https address."
    )
st.caption(
    "**Shopify**: Settings → Customer events → Add custom pixel: paste this code, "
    "Save, then Connect. Shopify no longer runs scripts on its Thank you and "
    "Order status pages, so this pixel is how purchases reach Metricx. Use it "
    "instead of the theme snippet below, not beside it."
)
st.code(shopify_custom_pixel(pixel_config, pixel_key), language="javascript")
st.caption(
    "**Other storefronts**: paste this into the theme (every page), and send the "
    "purchase on the order confirmation page as its comment shows."
)
st.code(snippet(pixel_config, pixel_key), language="html")
confirmed = st.checkbox(
    "Replace the key: the pixel in the store stops counting until it is updated",
    key="pixel_rotate_confirm",
)
if st.button("Rotate key", key="pixel_rotate", disabled=not confirmed):
    save(
        lambda: pixel_keys.rotate_pixel_key(actor),
        "pixel",
        "New key made: paste the new pixel code into your store.",
        ("pixel_rotate_confirm",),
    )
