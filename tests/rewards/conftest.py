import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():
    """Error messages are translated; the rewards tests read the English ones."""
    with translation.override("en"):
        yield
