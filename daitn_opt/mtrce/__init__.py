"""MTRCE: the route a model takes through data nodes for sequential learning."""
