import pytest


@pytest.fixture(autouse=True)
def fast_passwords(fast_passwords) -> None:
    """Every test here creates personas: their passwords hash fast."""
