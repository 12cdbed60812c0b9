"""Request handlers of FakeClerk, one module per resource."""
