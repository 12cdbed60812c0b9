"""Python spellings of the spec's names."""

from __future__ import annotations

import keyword
import re

# Words kept whole, in the spelling Clerk's own schema names use.
_ACRONYMS = {
    "api": "API",
    "http": "HTTP",
    "id": "ID",
    "jwks": "JWKS",
    "jwt": "JWT",
    "m2m": "M2M",
    "oauth": "OAuth",
    "otp": "OTP",
    "saml": "SAML",
    "scim": "SCIM",
    "sms": "SMS",
    "totp": "TOTP",
    "url": "URL",
}
_BUILTIN_CLASH = {"list", "dict", "str", "int", "float", "bool", "bytes", "type", "object"}


def snake(name: str) -> str:
    """``apiKeyID`` → ``api_key_id``, ``x5t#S256`` → ``x5t_s256``, ``from`` → ``from_``."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = name.strip("_").lower()
    return name + "_" if keyword.iskeyword(name) else name


# A capitalised word inside a CamelCase name: `Api` in `GetApiKeys`.
_HUMP = re.compile(r"[A-Z][a-z0-9]+")


def pascal(name: str) -> str:
    """``verification_otp`` → ``VerificationOTP``; ``GetApiKeys`` → ``GetAPIKeys``.

    Acronyms are spelt one way in every name, whether the spec wrote them ``api``, ``Api`` or
    ``API``.
    """
    out = []
    for word in re.split(r"[^0-9A-Za-z]+", name):
        if not word:
            continue
        if word.lower() in _ACRONYMS and (word.islower() or word.isupper()):
            out.append(_ACRONYMS[word.lower()])
        else:
            out.append(_HUMP.sub(_acronym, word[0].upper() + word[1:]))
    return "".join(out)


def _acronym(hump: re.Match[str]) -> str:
    return _ACRONYMS.get(hump.group().lower(), hump.group())


def singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("ses"):
        return name[:-2]
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def constant(name: str) -> str:
    return "_" + name.upper()


def shadows_builtin(name: str) -> bool:
    return name in _BUILTIN_CLASH
