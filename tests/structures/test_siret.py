import pytest
from django.core.exceptions import ValidationError

from lien.structures.validators import luhn_ok, make_siret, validate_siret


@pytest.mark.parametrize(
    "siret",
    [
        "73282932000074",  # a well-known valid SIRET
        "356 000 000 00001",  # La Poste: sum of digits multiple of 5
        make_siret("12345678", "0001"),
    ],
)
def test_valid_sirets(siret):
    validate_siret(siret)


@pytest.mark.parametrize(
    ("siret", "message"),
    [
        ("7328293200007", "14 chiffres"),
        ("7328293200007A", "14 chiffres"),
        ("73282932100074", "SIREN"),
        ("73282932000075", "NIC"),
    ],
)
def test_invalid_sirets_say_why(siret, message):
    with pytest.raises(ValidationError) as caught:
        validate_siret(siret)
    assert message in caught.value.messages[0]


def test_luhn():
    assert luhn_ok("732829320")
    assert not luhn_ok("732829321")
