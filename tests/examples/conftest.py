"""The receiver examples, served for real and fed by the run's shared ``pagewire serve``."""

from __future__ import annotations

import pytest

from sdk.live import LiveService, live_service


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest) -> LiveService:
    return live_service(request)
