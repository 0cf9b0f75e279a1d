"""Plug-ins of the tests: a solver and a problem kind added the way a third party adds them
(``DAITN_OPT_SOLVER_MODULES``), without editing daitn_opt."""
