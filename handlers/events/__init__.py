"""Events: organisers announce public hearings and gatherings, villagers answer, the outcome and protocol."""
