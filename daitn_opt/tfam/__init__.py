"""T-FAM: training feasibility of one request and admission of a batch."""
