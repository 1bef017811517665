"""Tests of the i3D.net provider plugin and its sandbox."""
