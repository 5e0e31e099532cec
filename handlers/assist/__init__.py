"""Assisted participation: an organiser or village representative registers a villager without a smartphone and
votes or answers an invitation for them (/assist)."""
