import pytest


@pytest.fixture(autouse=True)
def fast_passwords(fast_passwords) -> None:
    """Every test here signs personas in with tokens: their passwords hash fast."""
