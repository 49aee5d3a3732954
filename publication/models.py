"""Public list editions (公开名录) and the public verification of accounts."""
