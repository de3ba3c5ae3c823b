"""SIREN/SIRET checks (Luhn), with La Poste's documented exception."""

from django.core.exceptions import ValidationError

# La Poste's establishments share SIREN 356000000; their SIRET is checked by the sum of
# digits being a multiple of 5 instead of the Luhn rule (INSEE's documented exception).
LA_POSTE_SIREN = "356000000"


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def normalise_siret(value: str) -> str:
    return "".join(value.split())


def validate_siret(value: str) -> None:
    digits = normalise_siret(value)
    if len(digits) != 14 or not digits.isdigit():
        raise ValidationError(
            "Le SIRET doit comporter 14 chiffres (reçu : « %(value)s »).",
            code="siret_format",
            params={"value": value},
        )
    if digits.startswith(LA_POSTE_SIREN):
        if sum(int(c) for c in digits) % 5 != 0:
            raise ValidationError("Ce SIRET de La Poste n'est pas valide.", code="siret_key")
        return
    if not luhn_ok(digits[:9]):
        raise ValidationError(
            "Le SIREN (9 premiers chiffres) « %(siren)s » ne respecte pas la clé de Luhn.",
            code="siren_key",
            params={"siren": digits[:9]},
        )
    if not luhn_ok(digits):
        raise ValidationError(
            "Le SIRET « %(value)s » ne respecte pas la clé de Luhn : vérifiez le NIC.",
            code="siret_key",
            params={"value": digits},
        )


def luhn_complete(partial: str) -> str:
    """Append the digit that makes `partial` pass the Luhn rule (demo and test data)."""
    for digit in "0123456789":
        if luhn_ok(partial + digit):
            return partial + digit
    raise AssertionError("unreachable: one digit always completes a Luhn number")


def make_siret(siren_body: str, nic_body: str) -> str:
    """A SIRET that passes both checks, from an 8-digit SIREN body and a 4-digit NIC body."""
    siren = luhn_complete(siren_body)
    return luhn_complete(siren + nic_body)
