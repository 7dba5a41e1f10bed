import pytest


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The personas' passwords hash with PBKDF2's million rounds otherwise (~1 s each)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
