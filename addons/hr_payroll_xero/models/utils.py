# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Small helpers shared by the models and wizards: the action dictionaries the web client understands."""

SOFT_RELOAD = {"type": "ir.actions.client", "tag": "soft_reload"}


def window_action(name, res_model, res_id=None, view_mode="form", target="new", **extra):
    """An ``ir.actions.act_window`` opening ``res_model`` (one record when ``res_id`` is given)."""
    action = {"type": "ir.actions.act_window", "name": name, "res_model": res_model, "view_mode": view_mode}
    if res_id is not None:
        action["res_id"] = res_id
    if target:
        action["target"] = target
    action.update(extra)
    return action


def notification(title, message, warning=False, reload=True, **params):
    """A ``display_notification`` toast: a sticky warning when ``warning``, then a soft reload when ``reload``."""
    values = {
        "title": title,
        "message": message,
        "type": "warning" if warning else "success",
        "sticky": bool(warning),
    }
    if reload:
        values["next"] = dict(SOFT_RELOAD)
    values.update(params)
    return {"type": "ir.actions.client", "tag": "display_notification", "params": values}
