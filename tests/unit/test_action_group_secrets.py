"""A command's authentication is a credential: answered masked, and a masked one sent back keeps the stored one."""

from __future__ import annotations

from hearth.core.action_groups import _keep_masked_authentication
from hearth.model.action import AUTHENTICATION_MASK, ActionGroup


def group(*authentications: str | None) -> ActionGroup:
    return ActionGroup.model_validate(
        {
            "label": "doors",
            "actions": [
                {"deviceURL": f"virtual://0000-0000-0000/{i}", "commands": [{"name": "unlock", "authentication": a}]}
                for i, a in enumerate(authentications)
            ],
        }
    )


def test_the_answer_masks_it() -> None:
    shown = group("1234", None).wire()
    assert shown["actions"][0]["commands"][0]["authentication"] == AUTHENTICATION_MASK
    assert "authentication" not in shown["actions"][1]["commands"][0]


def test_a_masked_one_sent_back_keeps_the_stored_one_and_a_new_one_replaces_it() -> None:
    stored, sent = group("1234", "9999"), group(AUTHENTICATION_MASK, "5678")
    _keep_masked_authentication(stored, sent)
    assert [a.commands[0].authentication for a in sent.actions] == ["1234", "5678"]
    longer = group(AUTHENTICATION_MASK, AUTHENTICATION_MASK, AUTHENTICATION_MASK)
    _keep_masked_authentication(stored, longer)  # a command with nothing stored beside it keeps what it has
    assert [a.commands[0].authentication for a in longer.actions] == ["1234", "9999", AUTHENTICATION_MASK]
