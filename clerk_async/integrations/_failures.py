"""Telling a broken setup from a bad token: the one place that classifies signed-out states.

A request is signed out for one of two kinds of reasons. Most are about the token (missing,
expired, forged): the caller should get 401. A few mean the server could not check any token
at all (the JWKS could not be loaded because the secret key is wrong or Clerk is unreachable;
Clerk could not be asked about a machine token): answering 401 would sign every user out
silently, so the glue logs a warning with the cause and answers 503 instead.
"""

from __future__ import annotations

import logging

from ..auth._request import RequestState

__all__ = ["INFRASTRUCTURE_REASONS", "is_infrastructure_failure", "report_infrastructure_failure"]

log = logging.getLogger("clerk_async.integrations")

# The reason strings of authenticate_request that describe the server's setup, not the token.
INFRASTRUCTURE_REASONS = frozenset(
    {"jwk-failed-to-load", "secret-key-invalid", "token-verification-failed"}
)

UNAVAILABLE_DETAIL = "authentication is unavailable: the server could not verify tokens"


def is_infrastructure_failure(state: RequestState) -> bool:
    return not state.is_signed_in and state.reason in INFRASTRUCTURE_REASONS


def report_infrastructure_failure(state: RequestState, path: str) -> None:
    """Log why no token could be verified; never the token itself."""
    log.warning(
        "could not authenticate %s: %s (%s); check CLERK_SECRET_KEY and that Clerk's API is"
        " reachable",
        path,
        state.reason,
        state.message,
    )
