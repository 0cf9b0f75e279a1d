"""Experiments of the papers/ folder, driven by ``daitn-opt paper NAME``."""
