"""The executor: replays decisions as real PyTorch training and serving on a simulated clock."""
