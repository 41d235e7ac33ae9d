"""In-memory fakes of the outside world for tests: no network, no disk."""
