"""Adapters: daitn-opt inside other simulators and frameworks.

- :mod:`.graph`: routes from a networkx graph or plain arrays (no extra dependency);
- :mod:`.flower`: Flower strategies choosing each round's clients with T-FAM or MTRCE
  (``pip install "daitn-opt[flower]"``);
- :mod:`.simpy_loop`: an online DA-ITN loop as a SimPy process model
  (``pip install "daitn-opt[simpy]"``).

Nothing here is imported by ``import daitn_opt``; each adapter imports its framework itself.
"""
