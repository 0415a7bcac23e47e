import pytest
from kpi_fixtures import build


@pytest.fixture
def db(tmp_path):
    """The hand-built database of kpi_fixtures, fresh for each test."""
    return build(tmp_path / "k.db")
