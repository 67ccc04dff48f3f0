"""Keeping a library whole: checking it, salvaging a damaged database, forgetting all face data."""
