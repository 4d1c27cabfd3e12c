"""Demo credentials for the quick start: one token per role, clearly marked, never in production."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from om_graph.core.access.auth import TokenService
from om_graph.core.access.permissions import Role

DEMO_ACCOUNTS = {"customer": "DEMO-CUSTOMER-1", "customer_b": "DEMO-CUSTOMER-2"}


class DemoCredentialsInProduction(RuntimeError):
    pass


def ensure_demo_tokens(tokens: TokenService, path: str) -> dict[str, str]:
    """Reuse the demo tokens in ``path`` if they still work, else issue new ones and write them."""
    file = Path(path)
    if file.exists():
        try:
            saved = json.loads(file.read_text())["tokens"]
            for token in saved.values():
                tokens.verify(token)
            return saved
        except Exception:
            pass
    issued: dict[str, str] = {}
    for role in Role:
        if role in (Role.SYSTEM, Role.CUSTOMER):
            continue
        issued[role.value] = tokens.issue(
            f"demo-{role.value}", [role.value], name="DEMO", expires_in=timedelta(days=30), demo=True
        ).token
    for label, account in DEMO_ACCOUNTS.items():
        issued[label] = tokens.issue(
            f"demo-{label}", [Role.CUSTOMER.value], account_id=account, name="DEMO", expires_in=timedelta(days=30), demo=True
        ).token
    file.write_text(
        json.dumps(
            {
                "warning": "DEMO credentials for local use only. Production mode refuses to start while they are active.",
                "accounts": DEMO_ACCOUNTS,
                "tokens": issued,
            },
            indent=2,
        )
    )
    file.chmod(0o600)
    return issued


def refuse_demo_credentials(tokens: TokenService) -> None:
    active = tokens.active_demo_tokens()
    if active:
        raise DemoCredentialsInProduction(
            f"refusing to start in production mode: {active} demo tokens are active "
            "(revoke them with `om-graph token revoke --demo`)"
        )


def banner(issued: dict[str, str], path: str) -> str:
    lines = [f"DEMO MODE: demo tokens (also in {path}); send them as 'Authorization: Bearer <token>':"]
    lines += [f"  {role:28} {token}" for role, token in issued.items()]
    return "\n".join(lines)
