"""The oracle: the exact float64 reference, the derived tolerance and the comparison."""
