"""Placeholder until the generator writes this module."""


class Resources:
    pass
