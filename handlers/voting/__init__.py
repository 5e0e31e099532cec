"""Voting on the village's priority problems: organisers run rounds, villagers name problems and vote."""
