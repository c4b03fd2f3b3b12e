"""Model-quality tests: register the `slow` marker (deselect with `-m "not slow"`)."""


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: trains a real model for about a minute on 2 cores")
