"""Tests of the Payfirma provider plugin and its sandbox."""
