"""Dramatiq workers: thin actors that call core services by id."""
