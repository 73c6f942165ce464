"""What an admin's set-up needs from the fake Slack: user groups and their members (`usergroups.users.list`) and
the role flags `users.info` gives every user (`is_admin`, `is_owner`, `is_primary_owner`).

What it encodes, from Slack's docs:
- `usergroups.users.list` (docs.slack.dev/reference/methods/usergroups.users.list): argument `usergroup`
  (required), `include_disabled`, `team_id`; answers `{"users": [ids]}`; errors `no_such_subteam`,
  `plan_upgrade_required`; bot scope `usergroups:read` (else `missing_scope`, a common error); Tier 2.
  Arguments are held to the contract (tests/contract/slack_methods.json) by the fake's server before this runs.
  A disabled group's members are listed only with `include_disabled` (the page says so of the argument).
- The user object (docs.slack.dev/reference/objects/user-object): `is_admin`, `is_owner`, `is_primary_owner`
  are booleans on every user (and are what `users.info` returns).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .slack.errors import SlackError

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class SlackAdmin:
    """Attached to a FakeSlack; `granted_scopes` reads the fake's own list (what the bot token may do)."""

    granted_scopes: Callable[[], list[str]]
    groups: dict[str, list[str]] = field(default_factory=dict)  # user group id -> member ids
    disabled: set[str] = field(default_factory=set)
    admins: set[str] = field(default_factory=set)
    owners: set[str] = field(default_factory=set)

    def add_group(self, group_id: str, members: list[str]) -> None:
        self.groups[group_id] = list(members)

    def usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        if "usergroups:read" not in self.granted_scopes():
            raise SlackError("missing_scope")
        group = args["usergroup"]  # required: the contract check refused a call without it
        if group not in self.groups or (group in self.disabled and not _truthy(args.get("include_disabled"))):
            raise SlackError("no_such_subteam")
        return {"users": list(self.groups[group])}

    def with_roles(self, users_info: Handler) -> Handler:
        """`users.info` as the fake serves it, plus the role flags of the user object."""

        def answer(args: dict[str, Any]) -> dict[str, Any]:
            found = users_info(args)
            user = dict(found["user"])
            user_id = user["id"]
            user.update(
                is_admin=user_id in self.admins or user_id in self.owners,  # owners are admins too
                is_owner=user_id in self.owners,
                is_primary_owner=False,
            )
            return {**found, "user": user}

        return answer


def _truthy(value: Any) -> bool:
    return value in (True, "true", "1", 1)
